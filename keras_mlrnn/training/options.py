"""A training run's checks: bad options refused before its directory is touched, with their cause.

The options themselves, their defaults and the resume rule are
`keras_mlrnn.training.run_config.RunConfig`.
"""

import sys

import keras

from keras_mlrnn.data.augment import check_augmentation
from keras_mlrnn.models import get_model_class
from keras_mlrnn.presets.files import check_preset_target
from keras_mlrnn.training.distribute import process_index_and_count
from keras_mlrnn.training.fine_tuning import check_fine_tune_options
from keras_mlrnn.training.run_config import HEAD_INITS, RunConfig

#: Constructor arguments a run sets from its own options and data (never --model-arg).
RUN_SET_ARGUMENTS = ("num_classes", "backbone", "backbone_weights", "image_size", "class_names")


def check_options(options, overwrite):
    """Refuses bad options before the run directory is touched (a ValueError naming one).

    Returns:
        dict: `options`, with `--csv` alone naming its data set (`check_data_options`).
    """
    RunConfig.from_options(options)  # unknown options are refused first
    options = check_data_options(options)
    config = RunConfig.from_options(options)
    if config.head_init not in HEAD_INITS:
        raise ValueError(f"head_init must be 'prior' or 'random'; got {config.head_init!r}.")
    if config.ema is not None and not 0 < config.ema < 1:
        raise ValueError(f"ema is the averaging momentum, in (0, 1); got {config.ema}.")
    check_augmentation(config.augment)
    check_fine_tune_options(config)
    get_model_class(config.model).check_arguments(
        config.model_args or {}, set_elsewhere=RUN_SET_ARGUMENTS, label=config.model
    )
    if config.save_preset:  # before the training, not after it
        check_preset_target(config.save_preset, overwrite)
    return options


def check_data_options(options):
    """`--csv` names the data set; data options that would be silently ignored are refused.

    `--csv FILE` alone means `--dataset csv`; a `--data-dir` without a data
    set that reads one, or split sizes for a CSV (split 80/10/10 by the
    seed), would be ignored (the run trained the built-in scenes instead):
    a ValueError naming the option. Returns the options, `dataset` set by `csv`.
    """
    dataset = options.get("dataset")
    if options.get("csv"):
        if dataset not in (None, "csv"):
            raise ValueError(
                f"--csv {options['csv']} is read by --dataset csv; this run's data set is "
                f"{dataset}. Drop one of the two."
            )
        options = {**options, "dataset": "csv"}
        dataset = "csv"
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
    return options


def check_process_share(config):
    """Under JAX multi-worker each process trains on its share (`process_share_of`): refuses
    what cannot be shared."""
    processes = process_index_and_count()
    if processes is None:
        return
    if config.cache_features:
        raise ValueError("--cache-features does not combine with --distribute multi-worker on JAX.")
    batch_size, count = config.batch_size, processes[1]
    if batch_size % count:
        raise ValueError(f"--batch-size {batch_size} is not a multiple of the {count} processes.")


def new_config(run, config, command):
    """A new run's `RunConfig` as it trains, written to its `run_config.json`."""
    model_args = config.model_args or {}
    two_stage = config.fine_tune_epochs  # its head's run freezes the backbone
    if config.cache_features and "backbone_trainable" not in model_args and not two_stage:
        # Cached features are those of a fixed backbone: freeze it.
        config.model_args = {**model_args, "backbone_trainable": False}
        print("cache_features: the backbone is frozen (backbone_trainable=False).")
    config.command = command or " ".join(["keras-mlrnn"] + sys.argv[1:])
    config.backend = keras.backend.backend()
    run.write_config(config.to_json())
    return config


def check_class_names(run, config, names):
    """Records the data's classes in a new run; refuses a resumed run whose data changed them.

    A renamed, added or removed class would train the checkpoint's heads on
    labels they were not built for (a ValueError naming the differences).
    """
    saved = config.class_names
    if saved is None:  # a new run (or one from before this record): write it down
        config.class_names = list(names)
        run.write_config(config.to_json())
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
