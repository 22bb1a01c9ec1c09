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
(`keras_mlrnn.training.fine_tuning`). The options are one typed
`keras_mlrnn.training.run_config.RunConfig`; the checks that refuse bad ones
are in `keras_mlrnn.training.options`, the data, model and inputs
phases in `keras_mlrnn.training.run_inputs`, scoring in
`keras_mlrnn.evaluation.scoring`, the callbacks in
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
from keras_mlrnn.presets.files import check_preset_target
from keras_mlrnn.training.callbacks import (
    run_callbacks,
)
from keras_mlrnn.training.distribute import (
    data_parallel,
    is_chief,
    lost_worker_reported,
    start_multi_worker,
    worker_scratch_dir,
)
from keras_mlrnn.training.fine_tuning import (
    head_options,
    second_stage_config,
    whole_model,
)
from keras_mlrnn.training.options import (
    check_class_names,
    check_options,
    check_process_share,
    new_config,
)
from keras_mlrnn.training.run_config import RunConfig
from keras_mlrnn.training.run_dir import (
    RunDirectory,
    check_writable,
    read_config,
)
from keras_mlrnn.training.run_inputs import build_model, checked_splits, fit_split_of, run_inputs
from keras_mlrnn.training.run_report import save_run_preset, write_report


def training_phases(model, epochs, warmup_epochs=None):
    """The `(stage, until_epoch)` fits of a run: `[(None, epochs)]` without a warm-up.

    With `warmup_epochs` N: `[("features", N), (model.stage, epochs)]`, for
    models that train in stages (`TrainedInStages`).
    """
    if not warmup_epochs:
        return [(None, epochs)]
    if not model.trains_in_stages:
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


def _prepare(run, overwrite, resume, options, command):
    """Phase 1: the run directory and the run's options (saved, or written now)."""
    saved = run.prepare(overwrite, resume)
    run.write_owner()
    if saved is not None:
        config, grew = RunConfig.from_saved(saved, run.config_path).resumed(options, run.path)
        if grew:
            run.write_config(config.to_json())
    else:
        config = new_config(run, RunConfig.from_options(options), command)
    if saved is not None and config.save_preset:
        check_preset_target(config.save_preset, overwrite)
    # Refused before any data is read or feature computed:
    if config.early_stopping and config.train_on_val:
        raise ValueError("early_stopping needs an unseen val split; train_on_val trains on it.")
    if config.cache_features:
        from keras_mlrnn.training.feature_cache import training_views

        training_views(config.augment)  # checks it; mixup / cutmix have no cached views
    else:
        check_augmentation(config.augment)
    check_process_share(config)
    return config


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
    """Phase 5: one `fit` per training stage; returns the phases and the seconds they took.

    The seconds count this process's fits and, on resume, the recorded epochs
    of the processes before it (the epoch a kill cut short is not counted).
    """
    _note_slow_cpu_training()
    phases = training_phases(model, config.epochs, config.warmup_epochs)
    ema = config.ema
    optimizer = keras.optimizers.Adam(
        config.learning_rate,
        clipnorm=config.clipnorm,
        use_ema=ema is not None,
        ema_momentum=ema if ema is not None else 0.99,
    )
    model.compile(optimizer=optimizer)
    callbacks = run_callbacks(run, config)
    seconds_before = run.logged_seconds()  # the epochs of earlier processes (on resume)
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
    return phases, time.time() - start + seconds_before


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
        **options: the run's options, the fields of `RunConfig` (model, dataset,
            epochs, ...): each one's meaning is in `keras_mlrnn.training.run_config`.

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
    options = check_options(options, overwrite)
    check_writable(run.path, "--run-dir")
    if options.get("save_preset"):
        check_writable(options["save_preset"], "--save-preset")
    with run.owned():  # one process at a time; a second is refused, naming the first
        return _train(run, overwrite, resume, verbose, command, options)


def _train(run, overwrite, resume, verbose, command, options):
    """`train`'s phases, in a run directory this process holds."""
    config = _prepare(run, overwrite, resume, options, command)
    head = _train_head(run, config, verbose) if config.fine_tune_epochs else None
    stage = config if head is None else second_stage_config(config)
    keras.utils.set_random_seed(config.seed)
    splits = checked_splits(stage)  # at the stage's image size (arrays are made at it)
    check_class_names(run, config, splits["train"].class_names)
    distribute = config.distribute
    scope = data_parallel(distribute) if distribute else contextlib.nullcontext()
    fit_split = fit_split_of(config, splits)
    with scope:  # models are built, compiled and fit under the distribution
        if head is None:
            model = build_model(config, fit_split)
        else:  # the second stage: the head's weights, the backbone learning
            model = whole_model(head["model"], stage.image_size)
        inputs, cache_seconds = run_inputs(stage, run, model, splits, fit_split)
        phases, train_seconds = _fit(model, stage, run, inputs, splits, verbose)
    best, tuning = _finalize(run, phases, inputs, splits["val"])
    seconds = {"train": train_seconds, "cache": cache_seconds}
    result = write_report(run, stage, best, tuning, splits, fit_split, inputs, seconds, head)
    if config.save_preset and is_chief():
        save_run_preset(best, config, result, splits["test"], inputs["test"], overwrite)
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
            command = config.command + "  # stage 1 of 2"
            _train_in(directory.path, False, False, verbose, command, head_options(config))
    else:
        print(f"Stage 1 of 2 is done ({directory.path}): reusing its best model.")
    print("Stage 2 of 2: the whole model, from the head's weights.")
    model = keras.saving.load_model(directory.model_path)
    return {"model": model, "metrics": directory.read_metrics()}
