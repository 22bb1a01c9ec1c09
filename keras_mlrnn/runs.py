"""Training runs: one directory per run, resumable, with every artefact a user wants.

A run directory holds:
- `run_config.json`: the arguments and the command that started the run;
- `checkpoints/`: Keras `BackupAndRestore` state (weights, optimizer, epoch),
  written each epoch, so `train(..., resume=True)` continues a killed run;
- `history.csv`: one row per epoch (losses, streaming mAP / F1);
- `model.keras`: the model of the best validation mAP;
- `metrics.json` and `metrics.md`: the test-split table under three decision
  rules (threshold 0.5, top-3, the method's own `predict_sets`);
- `training_curves.png`.

Example:
```python
from keras_mlrnn.runs import train
report = train("runs/demo", model="binary-relevance", epochs=1, train_size=256)
```
"""

import contextlib
import json
import os
import shutil
import sys
import time

import keras
import numpy as np

from keras_mlrnn.data.splits import concatenate, load_splits
from keras_mlrnn.distribute import data_parallel
from keras_mlrnn.metrics import format_report, multilabel_report
from keras_mlrnn.models import get_model_class
from keras_mlrnn.models.base import TrainedInStages
from keras_mlrnn.run_dir import (  # noqa: F401 (DEFAULTS, METRICS, RUN_CONFIG re-exported)
    CHECKPOINTS,
    DEFAULTS,
    HISTORY,
    METRICS,
    MODEL_FILE,
    RUN_CONFIG,
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


def _has_trained(run_dir):
    """Whether a run directory holds anything training produced (a checkpoint or a model)."""
    checkpoints = os.path.join(run_dir, CHECKPOINTS)
    trained = os.path.isdir(checkpoints) and bool(os.listdir(checkpoints))
    return trained or os.path.isfile(os.path.join(run_dir, MODEL_FILE))


def _prepare_run_dir(run_dir, overwrite, resume):
    """The saved config on resume; else an empty run directory (None).

    A run that never trained (no checkpoint, no model: e.g. it failed on
    bad data) is replaced without `overwrite`; a trained one only with it.
    """
    config_path = os.path.join(run_dir, RUN_CONFIG)
    if resume:
        saved = read_config(run_dir)
        if saved is None:
            raise FileNotFoundError(f"Cannot resume: {run_dir} holds no {RUN_CONFIG}.")
        return saved
    if os.path.isdir(run_dir) and os.listdir(run_dir):
        if not os.path.isfile(config_path):
            raise FileExistsError(
                f"{run_dir} exists and is not a keras-mlrnn run directory; choose another "
                "--run-dir (nothing there is touched)."
            )
        if not overwrite and _has_trained(run_dir):
            raise FileExistsError(
                f"{run_dir} already holds a run. Pass --resume to continue it or "
                "--overwrite to replace it."
            )
        shutil.rmtree(run_dir)
    os.makedirs(run_dir, exist_ok=True)
    return None


def _resumed_config(run_dir, saved, options):
    """The saved options of a resumed run, with a larger `epochs` taken from `options`.

    Resuming continues the same run: any other option that differs from
    `run_config.json` is refused, naming it (start a new run for those).
    """
    given = {k: v for k, v in options.items() if v is not None}
    differ = {k: (saved.get(k), v) for k, v in given.items() if k != "epochs" and saved.get(k) != v}
    if differ:
        listed = ", ".join(f"{k} (saved {a!r}, given {b!r})" for k, (a, b) in differ.items())
        raise ValueError(
            f"--resume {run_dir}: options differ from its {RUN_CONFIG}: {listed}. A resumed run "
            "keeps its options (only --epochs may grow); start a new run for other ones."
        )
    epochs = given.get("epochs", saved["epochs"])
    if epochs < saved["epochs"]:
        raise ValueError(
            f"--resume {run_dir}: --epochs {epochs} is fewer than the run's {saved['epochs']}."
        )
    if epochs != saved["epochs"]:
        print(f"Resuming {run_dir}: training on to {epochs} epochs (was {saved['epochs']}).")
        saved["epochs"] = epochs
        with open(os.path.join(run_dir, RUN_CONFIG), "w") as f:
            json.dump(saved, f, indent=2)
    return saved


def evaluate_model(model, split, top_k=3, batch_size=128, ten_crop=None, data=None):
    """Reports of a model on a `DataSplit` under threshold 0.5, top-k and its `predict_sets`.

    Args:
        model: a trained `MultiLabelModel`.
        split: `DataSplit`.
        top_k: int. The k of the top-k rule. Defaults to 3.
        batch_size: int. Defaults to 128.
        ten_crop: None, or a list of image sides larger than `model.image_size`:
            the papers' multi-crop evaluation. Each image is decoded at each
            side, scored on its 4 corner and centre crops, each mirrored
            (`keras_mlrnn.tta.ten_crop_scores`), and the scores averaged over
            crops and sides; two more reports, "10-crop, threshold 0.5" and
            "10-crop, top-k", use them. Needs a split of image files.
        data: None, or what to feed the model in place of the split's images
            (e.g. its cached backbone features,
            `keras_mlrnn.feature_cache.FeatureCache.batches`), in the
            split's order.

    Returns:
        dict: report name -> `multilabel_report` dict.
    """
    data = split.dataset(model.image_size, batch_size) if data is None else data
    scores, sets = model.predict_scores_and_sets(data)  # one pass (a beam search runs once)
    labels, mask = split.labels, split.mask
    reports = {
        "threshold 0.5": multilabel_report(labels, scores, threshold=0.5, mask=mask),
        f"top-{top_k}": multilabel_report(labels, scores, top_k=top_k, threshold=0.0, mask=mask),
        "predict_sets": multilabel_report(labels, scores, sets=sets, mask=mask),
    }
    if ten_crop:
        crops = multi_crop_scores(model, split, ten_crop, batch_size)
        reports["10-crop, threshold 0.5"] = multilabel_report(labels, crops, mask=mask)
        reports[f"10-crop, top-{top_k}"] = multilabel_report(
            labels, crops, top_k=top_k, threshold=0.0, mask=mask
        )
    return reports


def multi_crop_scores(model, split, sides, batch_size=128):
    """Scores `(N, C)` averaged over 10 crops of each image at each side in `sides`."""
    from keras_mlrnn.tta import ten_crop_scores

    if split.files is None:
        raise ValueError(
            "10-crop evaluation decodes the image files again at a larger size; this split "
            "holds in-memory images (scenes). Use a data set of image files."
        )
    for side in sides:
        if int(side) <= model.image_size:
            raise ValueError(
                f"10-crop sides must exceed the model's image size {model.image_size}; got {side}."
            )
    total = 0.0
    for side in sides:
        data = split.files.dataset(int(side), batch_size)
        total = total + np.concatenate(
            [ten_crop_scores(model, batch[0], batch_size) for batch in data.as_numpy_iterator()]
        )
    return total / len(sides)


def label_frequency_map(train_labels, test_labels):
    """mAP of the constant predictor that scores each class by its training frequency."""
    scores = np.broadcast_to(train_labels.mean(0), test_labels.shape)
    return multilabel_report(test_labels, scores)["mAP"]


def _read_history(history_csv):
    """Rows of a CSVLogger file as a structured array, or None if it has none yet."""
    if not os.path.isfile(history_csv) or os.path.getsize(history_csv) == 0:
        return None
    return np.atleast_1d(np.genfromtxt(history_csv, delimiter=",", names=True))


def _best_logged(history_csv, key):
    """Largest value of `key` in a CSVLogger file, or None if there is none yet."""
    rows = _read_history(history_csv)
    if rows is None or key not in (rows.dtype.names or ()) or not rows.size:
        return None
    return float(np.max(rows[key]))


def _save_curves(history_csv, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = _read_history(history_csv)
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
    fig.savefig(path, dpi=80)
    plt.close(fig)


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or Inf loss; the message names the epoch and step."""


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stops `fit` at the first NaN / Inf loss by raising `NonFiniteLossError`.

    Raising (rather than setting `stop_training`) ends `fit` before any later
    callback can checkpoint the broken weights: `BackupAndRestore` keeps the
    last good state. Put it first in the callback list.
    """

    def __init__(self, checkpoint_dir=None):
        super().__init__()
        self.checkpoint_dir = checkpoint_dir
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(float(loss)):
            kept = (
                f" The last good checkpoint is kept in {self.checkpoint_dir}; resume with "
                "--resume (e.g. after lowering the learning rate)."
                if self.checkpoint_dir
                else ""
            )
            raise NonFiniteLossError(
                f"The training loss became {float(loss)} at epoch {self.epoch + 1}, "
                f"step {batch + 1}.{kept}"
            )


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


def _save_preset(model, config, result, test_split, test_inputs):
    """Writes the run's preset, then scores the preset as loaded and records that table."""
    from keras_mlrnn import presets

    directory = config["save_preset"]
    metadata = {k: result[k] for k in ("dataset", "split", "num_test_images")}
    metadata["command"] = config["command"]
    model.save_to_preset(
        directory,
        metadata=metadata,
        weights_dtype=config.get("save_preset_dtype") or "float32",
        shared_backbone=config.get("save_preset_backbone"),
    )
    saved = presets.load_preset(directory)
    if config.get("save_preset_dtype") == "float16" and not config.get("save_preset_backbone"):
        test_inputs = None  # a rounded backbone: the cached features no longer apply
    reports = evaluate_model(saved, test_split, top_k=config["top_k"], data=test_inputs)
    presets.update_metadata(directory, reports=reports)


def _feature_cache(config, run_dir, model):
    """The run's `FeatureCache` (None unless `cache_features`): `run_dir/features` or a path."""
    where = config.get("cache_features")
    if not where:
        return None
    from keras_mlrnn.feature_cache import FeatureCache

    directory = os.path.join(run_dir, "features") if where is True else str(where)
    return FeatureCache(directory, model, batch_size=config["batch_size"])


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
            (`keras_mlrnn.presets.save_to_preset`);
            checkpoint_steps: also checkpoint every N steps inside epochs;
            distribute: None, "data-parallel" or "multi-worker" (see
            `keras_mlrnn.distribute.data_parallel`; batch_size is global);
            cache_features: True or a directory (default `run_dir/features`):
            freeze the backbone (unless model_args sets backbone_trainable,
            which must then be False), compute its feature maps once per split
            (and the mirror view of the training images) and train the head
            on them (`keras_mlrnn.feature_cache`); reused on resume;
            train_on_val: fit on train + val for exactly `epochs` and keep
            the last epoch (for a final model, once the epochs were chosen
            on val; the val scores in the history and the tuned decision
            threshold then come from seen data);
            early_stopping: stop when the validation mAP has not improved
            for this many epochs (the best epoch's model is kept either
            way; on resume the count starts again).
            head_init: "prior" (default) starts each per-class sigmoid head
            at the training labels' prior (`MultiLabelModel.initialize_heads`);
            "random" keeps Keras' initialisers.

    Raises:
        NonFiniteLossError: the loss became NaN / Inf (the message names the
            epoch and step; the last good checkpoint stays for `resume`).
        ValueError: bad input, e.g. unreadable image files (named).

    Returns:
        dict: the contents of `metrics.json`.
    """
    unknown = set(options) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"Unknown training options {sorted(unknown)}; known: {sorted(DEFAULTS)}.")
    if options.get("head_init") not in (None, "prior", "random"):
        raise ValueError(f"head_init must be 'prior' or 'random'; got {options['head_init']!r}.")
    saved = _prepare_run_dir(run_dir, overwrite, resume)
    if saved is not None:
        config = _resumed_config(run_dir, saved, options)
    else:
        config = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
        model_args = config.get("model_args") or {}
        if config.get("cache_features") and "backbone_trainable" not in model_args:
            # Cached features are those of a fixed backbone: freeze it.
            config["model_args"] = {**model_args, "backbone_trainable": False}
            print("cache_features: the backbone is frozen (backbone_trainable=False).")
        config["command"] = command or " ".join(["keras-mlrnn"] + sys.argv[1:])
        config["backend"] = keras.backend.backend()
        with open(os.path.join(run_dir, RUN_CONFIG), "w") as f:
            json.dump(config, f, indent=2)

    keras.utils.set_random_seed(config["seed"])
    splits = load_data(config)
    for name, split in splits.items():  # bad files are named now, not after training
        if split.files is not None:
            split.files.check_images()
    train_split, val_split, test_split = splits["train"], splits["val"], splits["test"]
    size, batch = config["image_size"], config["batch_size"]
    model_path = os.path.join(run_dir, MODEL_FILE)
    history_path = os.path.join(run_dir, HISTORY)
    checkpoint_dir = os.path.join(run_dir, CHECKPOINTS)
    callbacks = [
        StopOnNonFiniteLoss(checkpoint_dir),  # first: raises before anything saves NaNs
        keras.callbacks.BackupAndRestore(
            checkpoint_dir,
            save_freq=config.get("checkpoint_steps") or "epoch",
            delete_checkpoint=False,
            # A kill during a save leaves a broken file: keep the previous one too.
            double_checkpoint=True,
        ),
        keras.callbacks.CSVLogger(history_path, append=True),
        keras.callbacks.ModelCheckpoint(
            model_path,
            monitor="val_mAP",
            mode="max",
            # Trained on val too, val scores seen data: keep the last epoch.
            save_best_only=not config.get("train_on_val"),
            # A resumed run keeps the best model of its earlier epochs.
            initial_value_threshold=_best_logged(history_path, "val_mAP"),
        ),
    ]
    if config.get("early_stopping"):
        if config.get("train_on_val"):
            raise ValueError("early_stopping needs an unseen val split; train_on_val trains on it.")
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_mAP", mode="max", patience=int(config["early_stopping"])
            )
        )
    distribute = config.get("distribute")
    scope = data_parallel(distribute) if distribute else contextlib.nullcontext()
    cache_seconds = None
    with scope:  # models are built, compiled and fit under the distribution
        model = get_model_class(config["model"])(
            num_classes=train_split.labels.shape[1],
            backbone=config["backbone"],
            backbone_weights=config.get("backbone_weights"),
            image_size=size,
            class_names=train_split.class_names,
            **(config.get("model_args") or {}),
        )
        fit_names = ("train", "val") if config.get("train_on_val") else ("train",)
        fit_split = train_split
        if config.get("train_on_val"):
            fit_split = concatenate(train_split, val_split)
        cache = _feature_cache(config, run_dir, model)
        if cache is None:
            train_ds = fit_split.dataset(
                size, batch, shuffle=True, augment=True, seed=config["seed"]
            )
            inputs = {name: splits[name].dataset(size, batch) for name in ("val", "test")}
        else:
            started = time.time()
            train_ds = cache.batches(
                tuple(splits[n] for n in fit_names), fit_names, batch, True, config["seed"]
            )
            inputs = {name: cache.batches(splits[name], name, batch) for name in ("val", "test")}
            cache_seconds = round(time.time() - started, 1)
        val_ds = inputs["val"]
        start = time.time()
        model.adapt(fit_split.labels)
        if config.get("head_init", "prior") == "prior":
            model.initialize_heads(fit_split.labels)
        phases = training_phases(model, config["epochs"], config.get("warmup_epochs"))
        optimizer = keras.optimizers.Adam(config["learning_rate"], clipnorm=config.get("clipnorm"))
        model.compile(optimizer=optimizer)
        try:
            for stage, until_epoch in phases:
                if stage is not None:
                    model.set_stage(stage)
                # After a phase, or on --resume, BackupAndRestore starts the
                # next fit at the checkpoint's epoch (a phase already done runs
                # no epoch).
                model.fit(
                    train_ds,
                    validation_data=val_ds,
                    epochs=until_epoch,
                    callbacks=callbacks,
                    verbose=verbose,
                )
        except Exception as error:
            _name_unreadable_images(error, splits)
            raise
    train_seconds = time.time() - start
    if not os.path.isfile(model_path):
        raise RuntimeError(f"Training produced no model: {model_path} was never written.")

    best = keras.saving.load_model(model_path)
    changed = False
    if phases[-1][0] is not None and best.stage != phases[-1][0]:
        best.set_stage(phases[-1][0])  # the best epoch fell in the warm-up
        changed = True
    tuning = best.tune(val_ds, val_split.labels)
    if tuning is not None or changed:
        best.save(model_path)  # keep the tuned decision parameters
    reports = evaluate_model(best, test_split, top_k=config["top_k"], data=inputs["test"])
    result = {
        "model": config["model"],
        "dataset": config["dataset"],
        "split": "test",
        "num_test_images": int(len(test_split.labels)),
        "train_seconds": round(train_seconds, 1),
        "feature_cache_seconds": cache_seconds,
        "label_frequency_mAP": label_frequency_map(fit_split.labels, test_split.labels),
        "validation_tuning": tuning,
        "reports": reports,
        "finished": True,
    }
    with open(os.path.join(run_dir, METRICS), "w") as f:
        json.dump(result, f, indent=2)
    if config.get("save_preset"):
        _save_preset(best, config, result, test_split, inputs["test"])
    with open(os.path.join(run_dir, "metrics.md"), "w") as f:
        f.write(format_report(reports, title=config["model"]) + "\n")
    _save_curves(os.path.join(run_dir, HISTORY), os.path.join(run_dir, "training_curves.png"))
    return result
