"""Training runs: one directory per run, resumable, with every artefact a user wants.

A run directory (`keras_mlrnn.training.run_dir.RunDirectory`) holds:
- `run_config.json`: the arguments and the command that started the run;
- `checkpoints/`: Keras `BackupAndRestore` state (weights, optimizer, epoch),
  written each epoch, so `train(..., resume=True)` continues a killed run;
- `history.csv`: one row per epoch (losses, streaming mAP / F1);
- `model.keras`: the model of the best validation mAP;
- `head/`: a two-stage run's first stage, itself a run directory;
- `metrics.json` and `metrics.md`: the test-split table under three decision
  rules (threshold 0.5, top-3, the method's own `predict_sets`);
- `training_curves.png`.

`train` reads as its phases: prepare (the run directory and its options),
data (the splits, their files checked), build (the model, its heads at the
label prior), inputs (image pipelines or cached features), fit (one `fit`
per training stage), finalize (the best epoch's model, tuned on val) and
report (test tables, preset, curves). A two-stage run (`fine_tune_epochs`)
first trains its head as a run of its own in `run_dir/head` (`_train_head`),
then goes through the same phases with the whole model
(`keras_mlrnn.training.fine_tuning`). At about 670 lines the module is those phases,
the small steps they share and the checks that refuse bad options before
the run directory is touched (the argument docs of `train` are 70 of
them); scoring is in `keras_mlrnn.evaluation.scoring`, the callbacks in
`keras_mlrnn.training.callbacks`, the run's files in `keras_mlrnn.training.run_dir`
and the stages' options in `keras_mlrnn.training.fine_tuning`. `train` itself is 10
lines of code: under `--distribute multi-worker` it first joins the other
workers and, in a non-chief worker, trains into a scratch folder
(`keras_mlrnn.training.distribute`); `_train_in` does the rest.

Example:
```python
from keras_mlrnn.training.runs import train
report = train("runs/demo", model="binary-relevance", epochs=1, train_size=256)
```
"""

import contextlib
import functools
import os
import sys
import time

import keras

from keras_mlrnn.data.augment import check_augmentation
from keras_mlrnn.data.splits import concatenate, load_splits, process_share
from keras_mlrnn.evaluation.scoring import (  # noqa: F401 (re-exported: the run's scoring)
    evaluate_model,
    label_frequency_map,
    multi_crop_scores,
)
from keras_mlrnn.metrics.multilabel import format_report
from keras_mlrnn.models import get_model_class
from keras_mlrnn.models.stages import TrainedInStages
from keras_mlrnn.presets.files import check_preset_target
from keras_mlrnn.training.callbacks import (  # noqa: F401 (re-exported)
    NonFiniteLossError,
    StopOnNonFiniteLoss,
    run_callbacks,
)
from keras_mlrnn.training.distribute import (
    data_parallel,
    is_chief,
    lost_worker_reported,
    process_index_and_count,
    start_multi_worker,
    worker_scratch_dir,
)
from keras_mlrnn.training.fine_tuning import (
    check_fine_tune_options,
    head_options,
    second_stage_config,
    whole_model,
)
from keras_mlrnn.training.run_dir import (  # noqa: F401 (DEFAULTS, METRICS, RUN_CONFIG re-exported)
    DEFAULTS,
    HEAD_INITS,
    METRICS,
    RUN_CONFIG,
    RunDirectory,
    check_writable,
    read_config,
)


def load_data(config):
    """The train / val / test `DataSplit`s a run configuration names."""
    return load_splits(
        config["dataset"],
        data_dir=config.get("data_dir"),
        csv=config.get("csv"),
        csv_delimiter=config.get("csv_delimiter"),
        image_size=config["image_size"],
        seed=config["seed"],
        sizes={split: config.get(f"{split}_size") for split in ("train", "val", "test")},
    )


def _resumed_config(run, saved, options):
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


def _save_curves(run):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = run.history()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for key in ("loss", "val_loss"):
        if key in rows.dtype.names:
            axes[0].plot(rows["epoch"] + 1, rows[key], label=key)
    for key in ("mAP", "val_mAP"):
        if key in rows.dtype.names:
            axes[1].plot(rows["epoch"] + 1, rows[key], label=key)
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    fig.savefig(run.curves_path, dpi=80)
    plt.close(fig)


def training_phases(model, epochs, warmup_epochs=None):
    """The `(stage, until_epoch)` fits of a run: `[(None, epochs)]` without a warm-up.

    With `warmup_epochs` N: `[("features", N), (model.stage, epochs)]`, for
    models that train in stages (`TrainedInStages`).
    """
    if not warmup_epochs:
        return [(None, epochs)]
    if not isinstance(model, TrainedInStages):
        raise ValueError(
            f"warmup_epochs needs a method trained in stages (order-free-rnn, multi-order-rnn); "
            f"{type(model).__name__} has none."
        )
    if not 0 < warmup_epochs < epochs:
        raise ValueError(
            f"warmup_epochs ({warmup_epochs}) must lie between 1 and epochs - 1 ({epochs - 1})."
        )
    return [("features", warmup_epochs), (model.stage, epochs)]


def _name_unreadable_images(error, splits):
    """After an image-decoding failure in tf.data, raises a ValueError naming the files.

    TensorFlow's decode error names no file; this decodes the splits' files
    with Pillow (only now, after a failure) to find the culprits.
    """
    if type(error).__name__ != "InvalidArgumentError":
        return
    for name, split in splits.items():
        if split.files is None:
            continue
        bad = split.files.find_unreadable()
        if bad:
            listed = "; ".join(reason for _, reason in bad)
            raise ValueError(
                f"Unreadable image files in the {name} split (first {len(bad)}): {listed}. "
                "Remove or replace them; the last good checkpoint is kept."
            ) from error


def _save_preset(model, config, result, test_split, test_inputs, overwrite):
    """Writes the run's preset, then scores the preset as loaded and records that table."""
    from keras_mlrnn import presets

    directory = config["save_preset"]
    metadata = {k: result[k] for k in ("dataset", "split", "num_train_images", "num_test_images")}
    metadata["command"] = config["command"]
    model.save_to_preset(
        directory,
        metadata=metadata,
        overwrite=overwrite,
        weights_dtype=config.get("save_preset_dtype") or "float32",
        shared_backbone=config.get("save_preset_backbone"),
    )
    saved = presets.load_preset(directory)
    if config.get("save_preset_dtype") == "float16" and not config.get("save_preset_backbone"):
        test_inputs = None  # a rounded backbone: the cached features no longer apply
    reports = evaluate_model(saved, test_split, top_k=config["top_k"], data=test_inputs)
    presets.update_metadata(directory, reports=reports)


def _feature_cache(config, run, model):
    """The run's `FeatureCache` (None unless `cache_features`): `run.features` or a path."""
    where = config.get("cache_features")
    if not where:
        return None
    from keras_mlrnn.training.feature_cache import FeatureCache

    directory = run.features if where is True else str(where)
    return FeatureCache(directory, model, batch_size=config["batch_size"])


# ---------------------------------------------------------------- phases
#: Constructor arguments a run sets from its own options and data (never --model-arg).
RUN_SET_ARGUMENTS = ("num_classes", "backbone", "backbone_weights", "image_size", "class_names")


def _check_options(options, overwrite):
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
    _check_data_options(options)
    if options.get("save_preset"):  # before the training, not after it
        check_preset_target(options["save_preset"], overwrite)


def _check_data_options(options):
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


def _prepare(run, overwrite, resume, options, command):
    """Phase 1: the run directory and the run's options (saved, or written now)."""
    saved = run.prepare(overwrite, resume)
    run.write_owner()
    if saved is not None:
        config = _resumed_config(run, saved, options)
    else:
        config = _new_config(run, options, command)
    if saved is not None and config.get("save_preset"):
        check_preset_target(config["save_preset"], overwrite)
    # Refused before any data is read or feature computed:
    if config.get("early_stopping") and config.get("train_on_val"):
        raise ValueError("early_stopping needs an unseen val split; train_on_val trains on it.")
    if config.get("cache_features"):
        from keras_mlrnn.training.feature_cache import training_views

        training_views(config.get("augment"))  # checks it; mixup / cutmix have no cached views
    else:
        check_augmentation(config.get("augment"))
    _check_process_share(config)
    return config


def _check_process_share(config):
    """Under JAX multi-worker each process trains on its share (`_process_share`): refuses
    what cannot be shared."""
    processes = process_index_and_count()
    if processes is None:
        return
    if config.get("cache_features"):
        raise ValueError("--cache-features does not combine with --distribute multi-worker on JAX.")
    batch_size, count = config["batch_size"], processes[1]
    if batch_size % count:
        raise ValueError(f"--batch-size {batch_size} is not a multiple of the {count} processes.")


def _new_config(run, options, command):
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


def _check_class_names(run, config, names):
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


def _checked_splits(config):
    """Phase 2: the run's splits, every image file checked (bad files named before training)."""
    splits = load_data(config)
    for split in splits.values():
        if split.files is not None:
            split.files.check_images()
    return splits


def _build_model(config, fit_split):
    """Phase 3: the model, adapted to the training labels, its heads at their prior."""
    model = get_model_class(config["model"])(
        num_classes=fit_split.labels.shape[1],
        backbone=config["backbone"],
        backbone_weights=config.get("backbone_weights"),
        image_size=config["image_size"],
        class_names=fit_split.class_names,
        **(config.get("model_args") or {}),
    )
    model.adapt(fit_split.labels)
    if config.get("head_init", "prior") == "prior":
        model.initialize_heads(fit_split.labels)
    return model


def _inputs(config, run, model, splits, fit_split):
    """Phase 4: `{"train", "val", "test"}` inputs (image pipelines or cached features).

    Returns:
        (inputs, cache_seconds): cache_seconds is None without a feature cache.
    """
    size, batch, seed = config["image_size"], config["batch_size"], config["seed"]
    fit_names = ("train", "val") if config.get("train_on_val") else ("train",)
    cache = _feature_cache(config, run, model)
    if cache is None:
        augment = config.get("augment", "flip")  # runs before the option keep the flips
        share, share_batch = _process_share(fit_split, batch)
        inputs = {"train": share.dataset(size, share_batch, True, augment, seed)}
        inputs.update({name: splits[name].dataset(size, batch) for name in ("val", "test")})
        return inputs, None
    from keras_mlrnn.training.feature_cache import training_views

    started = time.time()
    views = training_views(config.get("augment", "flip"))
    fit_parts = tuple(splits[n] for n in fit_names)
    inputs = {"train": cache.batches(fit_parts, fit_names, batch, True, seed, views=views)}
    inputs.update({name: cache.batches(splits[name], name, batch) for name in ("val", "test")})
    return inputs, round(time.time() - started, 1)


def _process_share(split, batch_size):
    """What this process trains on: `split` and the global batch, or under JAX multi-worker
    its share of both (validation and test stay whole: every process scores them all;
    `_check_process_share` refused a batch the processes cannot share)."""
    processes = process_index_and_count()
    if processes is None:
        return split, batch_size
    index, count = processes
    return process_share(split, index, count), batch_size // count


def _fit_split(config, splits):
    """What `fit` trains on: the train split, or train + val with `train_on_val`."""
    if config.get("train_on_val"):
        return concatenate(splits["train"], splits["val"])
    return splits["train"]


def slow_cpu_training_note(backend, platform):
    """One line for a JAX user training on a CPU (else None): it is slow, and what to do.

    Args:
        backend: str. `keras.backend.backend()`.
        platform: str. The platform of the first device ("cpu", "gpu", "tpu").
    """
    if backend != "jax" or platform != "cpu":
        return None
    return (
        "Note: training on JAX on a CPU is slow (XLA's CPU code: MobileNetV2 at 224 px trained "
        "at 2.2 images/s on a 2-core CPU, TensorFlow without XLA at 12.5); for CPU training "
        "set KERAS_BACKEND=tensorflow (benchmarks/RESULTS.md, CPU backends)."
    )


@functools.cache
def _note_slow_cpu_training():
    """Prints `slow_cpu_training_note` for this process's backend and device, once."""
    platform = None
    if keras.backend.backend() == "jax":
        import jax

        platform = jax.devices()[0].platform
    note = slow_cpu_training_note(keras.backend.backend(), platform)
    if note:
        print(note, file=sys.stderr)


def _fit(model, config, run, inputs, splits, verbose):
    """Phase 5: one `fit` per training stage; returns the phases and the seconds they took."""
    _note_slow_cpu_training()
    phases = training_phases(model, config["epochs"], config.get("warmup_epochs"))
    ema = config.get("ema")
    optimizer = keras.optimizers.Adam(
        config["learning_rate"],
        clipnorm=config.get("clipnorm"),
        use_ema=ema is not None,
        ema_momentum=ema if ema is not None else 0.99,
    )
    model.compile(optimizer=optimizer)
    callbacks = run_callbacks(run, config)
    start = time.time()
    try:
        for stage, until_epoch in phases:
            if stage is not None:
                model.set_stage(stage)
            # After a phase, or on --resume, BackupAndRestore starts the next
            # fit at the checkpoint's epoch (a phase already done runs no epoch).
            model.fit(
                inputs["train"],
                validation_data=inputs["val"],
                epochs=until_epoch,
                callbacks=callbacks,
                verbose=verbose,
            )
    except Exception as error:
        _name_unreadable_images(error, splits)
        raise
    return phases, time.time() - start


def _finalize(run, phases, inputs, val_split):
    """Phase 6: the best epoch's model, in the run's last stage, tuned on val (and saved so)."""
    if not os.path.isfile(run.model_path):
        raise RuntimeError(f"Training produced no model: {run.model_path} was never written.")
    best = keras.saving.load_model(run.model_path)
    changed = False
    if phases[-1][0] is not None and best.stage != phases[-1][0]:
        best.set_stage(phases[-1][0])  # the best epoch fell in the warm-up
        changed = True
    tuning = best.tune(inputs["val"], val_split.labels)
    if tuning is not None or changed:
        best.save(run.model_path)  # keep the tuned decision parameters
    return best, tuning


def _report(run, config, best, tuning, splits, fit_split, inputs, seconds, head=None):
    """Phase 7: the test tables (metrics.json / .md), the preset if asked, the curves.

    A two-stage run's table also records its head's (`head`: the first stage).
    """
    test_split = splits["test"]
    reports = evaluate_model(best, test_split, top_k=config["top_k"], data=inputs["test"])
    result = {
        "model": config["model"],
        "dataset": config["dataset"],
        "split": "test",
        "num_train_images": int(len(fit_split.labels)),
        "num_test_images": int(len(test_split.labels)),
        "train_seconds": round(seconds["train"], 1),
        "feature_cache_seconds": seconds["cache"],
        "label_frequency_mAP": label_frequency_map(fit_split.labels, test_split.labels),
        "validation_tuning": tuning,
        "reports": reports,
        "finished": True,
    }
    if head is not None:
        result["head"] = {
            "run_dir": run.head.path,
            "image_size": head["model"].image_size,
            "train_seconds": head["metrics"]["train_seconds"],
            "reports": head["metrics"]["reports"],
        }
    run.write_metrics(result)
    with open(run.report_path, "w") as f:
        f.write(format_report(reports, title=config["model"]) + "\n")
    _save_curves(run)
    return result


def train(run_dir, overwrite=False, resume=False, verbose="auto", command=None, **options):
    """Trains a model into a run directory and evaluates it on the test split.

    Args:
        run_dir: str. Where the run's files go.
        overwrite: bool. Replace an existing run in `run_dir`. Defaults to False.
        resume: bool. Continue the run in `run_dir` from its last checkpoint,
            with its saved options. Defaults to False.
        verbose: Keras `fit` verbosity. Defaults to "auto" (progress bar).
        command: str or None. The command line recorded in run_config.json;
            None uses this process's arguments.
        **options: keys of `DEFAULTS`: model, dataset, data_dir, csv,
            backbone, backbone_weights, image_size, epochs, batch_size,
            learning_rate, seed, train/val/test_size, top_k;
            clipnorm: clip each gradient's norm;
            augment: the training images' augmentation, "flip" (default),
            "randaugment", "mixup", "cutmix" or "none"
            (`keras_mlrnn.data.augment`; with cache_features "flip",
            "randaugment" (a few cached RandAugment views per image,
            `keras_mlrnn.training.feature_cache.training_views`) or "none");
            ema: average the weights over the steps with this momentum
            (Adam's `use_ema`; e.g. 0.999): validation, the kept best
            model (so the test tables and the preset) use the averaged
            weights; the checkpoints hold both, so resume continues both;
            warmup_epochs: for methods trained in stages (order-free-rnn,
            multi-order-rnn), the first N of `epochs` train only the CNN and
            its confidence head (stage "features"), the rest the model's own
            stage (default "joint"): the papers' two steps in one run;
            model_args: dict of extra constructor arguments, e.g.
            {"use_attention": False};
            save_preset: a directory to write the best model to as a preset
            (its metadata then holds the test reports of the preset as
            saved, measured again after loading it);
            save_preset_dtype: "float16" stores the preset's weights in half
            precision; save_preset_backbone: a backbone weights file the
            preset refers to instead of copying its frozen backbone
            (`keras_mlrnn.presets.saving.save_to_preset`);
            checkpoint_steps: also checkpoint every N steps inside epochs;
            distribute: None, "data-parallel" or "multi-worker" (see
            `keras_mlrnn.training.distribute.data_parallel`; batch_size is global);
            cache_features: True or a directory (default `run_dir/features`):
            freeze the backbone (unless model_args sets backbone_trainable,
            which must then be False), compute its feature maps once per split
            (and the mirror view of the training images) and train the head
            on them (`keras_mlrnn.training.feature_cache`); reused on resume;
            train_on_val: fit on train + val for exactly `epochs` and keep
            the last epoch (for a final model, once the epochs were chosen
            on val; the val scores in the history and the tuned decision
            threshold then come from seen data);
            early_stopping: stop when the validation mAP has not improved
            for this many epochs (the best epoch's model is kept either
            way; on resume the count starts again).
            fine_tune_epochs: train in two stages (`keras_mlrnn.training.fine_tuning`):
            the head on a frozen backbone (`epochs`, `learning_rate`, with
            `cache_features` on cached maps) into `run_dir/head`, then the
            whole model from its best weights for at most this many epochs
            (batch norm frozen, on augmented images), the best epoch by val
            mAP kept; fine_tune_learning_rate (default 3e-5),
            fine_tune_image_size (default image_size) and
            fine_tune_patience (stop after that many epochs without a
            better val mAP; default 2) shape the second stage. On resume a
            finished head is reused; only fine_tune_epochs may grow.
            head_init: "prior" (default) starts the per-class sigmoid heads
            that the method declares in `prior_heads` at the training labels'
            prior, and the bias of those in `prior_bias_heads`
            (`MultiLabelModel.initialize_heads`); "random" keeps Keras'
            initialisers.

    Raises:
        NonFiniteLossError: the loss became NaN / Inf (the message names the
            epoch and step; the last good checkpoint stays for `resume`).
        ValueError: bad input, e.g. unreadable image files (named).

    Returns:
        dict: the contents of `metrics.json`.
    """
    distribute = options.get("distribute") or (resume and _saved_distribute(run_dir))
    if distribute != "multi-worker":
        return _train_in(run_dir, overwrite, resume, verbose, command, options)
    start_multi_worker()  # before any TensorFlow op: collectives are set up at start
    with lost_worker_reported(run_dir):
        if is_chief():
            return _train_in(run_dir, overwrite, resume, verbose, command, options)
        with worker_scratch_dir(run_dir, resume) as scratch:  # only the chief writes run_dir
            return _train_in(scratch, overwrite, resume, verbose, command, options)


def _saved_distribute(run_dir):
    """The `distribute` option a run to resume was started with (None if unreadable)."""
    try:
        return (read_config(run_dir) or {}).get("distribute")
    except ValueError:  # a damaged file: _prepare names it
        return None


def _train_in(run_dir, overwrite, resume, verbose, command, options):
    """`train` in `run_dir` once the distribution is set up: checks, then the phases."""
    run = RunDirectory(run_dir)
    _check_options(options, overwrite)
    check_writable(run.path, "--run-dir")
    if options.get("save_preset"):
        check_writable(options["save_preset"], "--save-preset")
    with run.owned():  # one process at a time; a second is refused, naming the first
        return _train(run, overwrite, resume, verbose, command, options)


def _train(run, overwrite, resume, verbose, command, options):
    """`train`'s phases, in a run directory this process holds."""
    config = _prepare(run, overwrite, resume, options, command)
    head = _train_head(run, config, verbose) if config.get("fine_tune_epochs") else None
    stage = config if head is None else second_stage_config(config)
    keras.utils.set_random_seed(config["seed"])
    splits = _checked_splits(stage)  # at the stage's image size (arrays are made at it)
    _check_class_names(run, config, splits["train"].class_names)
    distribute = config.get("distribute")
    scope = data_parallel(distribute) if distribute else contextlib.nullcontext()
    fit_split = _fit_split(config, splits)
    with scope:  # models are built, compiled and fit under the distribution
        if head is None:
            model = _build_model(config, fit_split)
        else:  # the second stage: the head's weights, the backbone learning
            model = whole_model(head["model"], stage["image_size"])
        inputs, cache_seconds = _inputs(stage, run, model, splits, fit_split)
        phases, train_seconds = _fit(model, stage, run, inputs, splits, verbose)
    best, tuning = _finalize(run, phases, inputs, splits["val"])
    seconds = {"train": train_seconds, "cache": cache_seconds}
    result = _report(run, stage, best, tuning, splits, fit_split, inputs, seconds, head)
    if config.get("save_preset") and is_chief():
        _save_preset(best, config, result, splits["test"], inputs["test"], overwrite)
    return result


def _train_head(run, config, verbose):
    """A two-stage run's first stage, in `run_dir/head`: trained, resumed or reused.

    Returns:
        dict: "model" (the head's best model), "metrics" (its metrics.json).
    """
    directory = run.head
    if not directory.is_finished():
        print(f"Stage 1 of 2: the head on a frozen backbone, in {directory.path}.")
        if os.path.isfile(directory.config_path):
            _train_in(directory.path, False, True, verbose, None, {})
        else:
            command = config["command"] + "  # stage 1 of 2"
            _train_in(directory.path, False, False, verbose, command, head_options(config))
    else:
        print(f"Stage 1 of 2 is done ({directory.path}): reusing its best model.")
    print("Stage 2 of 2: the whole model, from the head's weights.")
    model = keras.saving.load_model(directory.model_path)
    return {"model": model, "metrics": directory.read_metrics()}
