"""A training run's options, and the checks that refuse bad ones before its directory is touched.

`keras_mlrnn.training.runs.train(run_dir, **options)` takes the keys of
`keras_mlrnn.training.run_dir.DEFAULTS` (their defaults):

- model, dataset, data_dir, csv,
  backbone, backbone_weights, image_size, epochs, batch_size,
  learning_rate, seed, train/val/test_size, top_k;
- clipnorm: clip each gradient's norm;
- augment: the training images' augmentation, "flip" (default),
  "randaugment", "mixup", "cutmix" or "none"
  (`keras_mlrnn.data.augment`; with cache_features "flip",
  "randaugment" (a few cached RandAugment views per image,
  `keras_mlrnn.training.feature_cache.training_views`) or "none");
- ema: average the weights over the steps with this momentum
  (Adam's `use_ema`; e.g. 0.999): validation, the kept best
  model (so the test tables and the preset) use the averaged
  weights; the checkpoints hold both, so resume continues both;
- warmup_epochs: for methods trained in stages (order-free-rnn,
  multi-order-rnn), the first N of `epochs` train only the CNN and
  its confidence head (stage "features"), the rest the model's own
  stage (default "joint"): the papers' two steps in one run;
- model_args: dict of extra constructor arguments, e.g.
  {"use_attention": False};
- save_preset: a directory to write the best model to as a preset
  (its metadata then holds the test reports of the preset as
  saved, measured again after loading it);
- save_preset_dtype: "float16" stores the preset's weights in half
  precision; save_preset_backbone: a backbone weights file the
  preset refers to instead of copying its frozen backbone
  (`keras_mlrnn.presets.saving.save_to_preset`);
- checkpoint_steps: also checkpoint every N steps inside epochs;
- distribute: None, "data-parallel" or "multi-worker" (see
  `keras_mlrnn.training.distribute.data_parallel`; batch_size is global);
- cache_features: True or a directory (default `run_dir/features`):
  freeze the backbone (unless model_args sets backbone_trainable,
  which must then be False), compute its feature maps once per split
  (and the mirror view of the training images) and train the head
  on them (`keras_mlrnn.training.feature_cache`); reused on resume;
- train_on_val: fit on train + val for exactly `epochs` and keep
  the last epoch (for a final model, once the epochs were chosen
  on val; the val scores in the history and the tuned decision
  threshold then come from seen data);
- early_stopping: stop when the validation mAP has not improved
  for this many epochs (the best epoch's model is kept either
  way; on resume the count starts again).
- fine_tune_epochs: train in two stages (`keras_mlrnn.training.fine_tuning`):
  the head on a frozen backbone (`epochs`, `learning_rate`, with
  `cache_features` on cached maps) into `run_dir/head`, then the
  whole model from its best weights for at most this many epochs
  (batch norm frozen, on augmented images), the best epoch by val
  mAP kept; fine_tune_learning_rate (default 3e-5),
  fine_tune_image_size (default image_size) and
  fine_tune_patience (stop after that many epochs without a
  better val mAP; default 2) shape the second stage. On resume a
  finished head is reused; only fine_tune_epochs may grow.
- head_init: "prior" (default) starts the per-class sigmoid heads
  that the method declares in `prior_heads` at the training labels'
  prior, and the bias of those in `prior_bias_heads`
  (`MultiLabelModel.initialize_heads`); "random" keeps Keras'
  initialisers.
"""

import sys

import keras

from keras_mlrnn.data.augment import check_augmentation
from keras_mlrnn.models import get_model_class
from keras_mlrnn.presets.files import check_preset_target
from keras_mlrnn.training.distribute import process_index_and_count
from keras_mlrnn.training.fine_tuning import check_fine_tune_options
from keras_mlrnn.training.run_dir import DEFAULTS, HEAD_INITS, RUN_CONFIG


def resumed_config(run, saved, options):
    """The saved options of a resumed run, with a larger epoch count taken from `options`.

    Resuming continues the same run: any other option that differs from
    `run_config.json` is refused, naming it (start a new run for those). The
    count that may grow is `epochs`, or in a two-stage run `fine_tune_epochs`
    (its head's epochs are fixed: the second stage starts from that head).
    """
    growing = "fine_tune_epochs" if saved.get("fine_tune_epochs") else "epochs"
    flag = "--" + growing.replace("_", "-")
    given = {k: v for k, v in options.items() if v is not None}
    differ = {k: (saved.get(k), v) for k, v in given.items() if k != growing and saved.get(k) != v}
    if differ:
        listed = ", ".join(f"{k} (saved {a!r}, given {b!r})" for k, (a, b) in differ.items())
        raise ValueError(
            f"--resume {run.path}: options differ from its {RUN_CONFIG}: {listed}. A resumed run "
            f"keeps its options (only {flag} may grow); start a new run for other ones."
        )
    epochs = given.get(growing, saved[growing])
    if epochs < saved[growing]:
        raise ValueError(
            f"--resume {run.path}: {flag} {epochs} is fewer than the run's {saved[growing]}."
        )
    if epochs != saved[growing]:
        print(f"Resuming {run.path}: training on to {epochs} epochs (was {saved[growing]}).")
        saved[growing] = epochs
        run.write_config(saved)
    return saved


#: Constructor arguments a run sets from its own options and data (never --model-arg).
RUN_SET_ARGUMENTS = ("num_classes", "backbone", "backbone_weights", "image_size", "class_names")


def check_options(options, overwrite):
    """Refuses bad options before the run directory is touched (a ValueError naming one)."""
    unknown = set(options) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"Unknown training options {sorted(unknown)}; known: {sorted(DEFAULTS)}.")
    if options.get("head_init") not in (None, *HEAD_INITS):
        raise ValueError(f"head_init must be 'prior' or 'random'; got {options['head_init']!r}.")
    if options.get("ema") is not None and not 0 < options["ema"] < 1:
        raise ValueError(f"ema is the averaging momentum, in (0, 1); got {options['ema']}.")
    check_augmentation(options.get("augment"))
    check_fine_tune_options({**DEFAULTS, **options})
    method = options.get("model") or DEFAULTS["model"]
    get_model_class(method).check_arguments(
        options.get("model_args") or {}, set_elsewhere=RUN_SET_ARGUMENTS, label=method
    )
    check_data_options(options)
    if options.get("save_preset"):  # before the training, not after it
        check_preset_target(options["save_preset"], overwrite)


def check_data_options(options):
    """`--csv` names the data set; data options that would be silently ignored are refused.

    `--csv FILE` alone means `--dataset csv`; a `--data-dir` without a data
    set that reads one, or split sizes for a CSV (split 80/10/10 by the
    seed), would be ignored (the run trained the built-in scenes instead):
    a ValueError naming the option.
    """
    dataset = options.get("dataset")
    if options.get("csv"):
        if dataset not in (None, "csv"):
            raise ValueError(
                f"--csv {options['csv']} is read by --dataset csv; this run's data set is "
                f"{dataset}. Drop one of the two."
            )
        options["dataset"] = dataset = "csv"
    if options.get("data_dir") and dataset in (None, "scenes", "csv"):
        raise ValueError(
            f"--data-dir {options['data_dir']} needs a --dataset that reads a folder (coco, "
            "voc2007, nuswide, coco128, ...): without one the run would train on the built-in "
            "scenes and ignore it."
        )
    sizes = [f"--{k.replace('_', '-')}" for k in ("train_size", "val_size", "test_size")
             if options.get(k)]  # fmt: skip
    if dataset == "csv" and sizes:
        raise ValueError(
            f"{', '.join(sizes)}: a CSV is split 80/10/10 by --seed, whatever the sizes; "
            "leave them out (or write a CSV of the images you want)."
        )


def check_process_share(config):
    """Under JAX multi-worker each process trains on its share (`process_share_of`): refuses
    what cannot be shared."""
    processes = process_index_and_count()
    if processes is None:
        return
    if config.get("cache_features"):
        raise ValueError("--cache-features does not combine with --distribute multi-worker on JAX.")
    batch_size, count = config["batch_size"], processes[1]
    if batch_size % count:
        raise ValueError(f"--batch-size {batch_size} is not a multiple of the {count} processes.")


def new_config(run, options, command):
    """The options of a new run over `DEFAULTS`, written to its `run_config.json`."""
    config = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
    model_args = config.get("model_args") or {}
    two_stage = config.get("fine_tune_epochs")  # its head's run freezes the backbone
    if config.get("cache_features") and "backbone_trainable" not in model_args and not two_stage:
        # Cached features are those of a fixed backbone: freeze it.
        config["model_args"] = {**model_args, "backbone_trainable": False}
        print("cache_features: the backbone is frozen (backbone_trainable=False).")
    config["command"] = command or " ".join(["keras-mlrnn"] + sys.argv[1:])
    config["backend"] = keras.backend.backend()
    run.write_config(config)
    return config


def check_class_names(run, config, names):
    """Records the data's classes in a new run; refuses a resumed run whose data changed them.

    A renamed, added or removed class would train the checkpoint's heads on
    labels they were not built for (a ValueError naming the differences).
    """
    saved = config.get("class_names")
    if saved is None:  # a new run (or one from before this record): write it down
        config["class_names"] = list(names)
        run.write_config(config)
        return
    if list(saved) != list(names):
        gone = [n for n in saved if n not in names]
        new = [n for n in names if n not in saved]
        detail = f"not in the data now: {gone[:5]}; new in the data: {new[:5]}"
        if not gone and not new:
            detail = "the same names in another order"
        raise ValueError(
            f"--resume {run.path}: the data's classes changed since the run started "
            f"({len(saved)} then, {len(names)} now; {detail}). Start a new run for the new labels."
        )
