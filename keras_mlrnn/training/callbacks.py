"""The callbacks of a training run: NaN guard, checkpoints, history, best model, early stop."""

import hashlib
import json
import os
import shutil
import sys
import time

import keras
import numpy as np

from keras_mlrnn.presets.files import sha256_of
from keras_mlrnn.training.run_dir import EPOCH_SECONDS
from keras_mlrnn.utils.files import replace_text


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


class CheckedBackupAndRestore(keras.callbacks.BackupAndRestore):
    """Keras' `BackupAndRestore` whose checkpoints carry sha256 sums, checked on resume.

    Each save also writes `checksums.json` (the sums of `latest.weights.h5`
    and `training_metadata.json`; the previous save's sums move to
    `checksums.json.bkp` with the previous files). On resume a checkpoint
    whose files do not match their sums (a flipped bit, a truncated or
    half-written file, an edited metadata file) is not loaded: the previous
    checkpoint is, if it matches, and the user is told which; if neither
    does, a ValueError names the files. Checkpoints written before the sums
    existed are loaded as Keras loads them.
    """

    def __init__(self, backup_dir, **kwargs):
        super().__init__(backup_dir, double_checkpoint=True, **kwargs)
        self._sums_path = os.path.join(backup_dir, "checksums.json")

    def _pair(self, previous):
        suffix = ".bkp" if previous else ""
        return (self._weights_path + suffix, self._training_metadata_path + suffix,
                self._sums_path + suffix)  # fmt: skip

    def _intact(self, previous):
        """Whether a checkpoint's files match their sums (True where no sums were written)."""
        weights, metadata, sums = self._pair(previous)
        if not os.path.isfile(sums):
            return None if previous else True  # an old run: trust it as Keras does
        try:
            with open(sums) as f:
                expected = json.load(f)
            return expected == {"weights": sha256_of(weights), "metadata": sha256_of(metadata)}
        except (OSError, ValueError):
            return False

    def on_train_begin(self, logs=None):
        if os.path.isfile(self._weights_path) and not self._intact(previous=False):
            if not self._intact(previous=True):
                raise ValueError(
                    f"The checkpoint in {self.backup_dir} is damaged (its files do not match "
                    "checksums.json) and so is the previous one: start the run anew with "
                    "--overwrite."
                )
            for latest, previous in zip(self._pair(False), self._pair(True)):
                shutil.copyfile(previous, latest)
            print(
                f"The latest checkpoint in {self.backup_dir} is damaged (its files do not match "
                "checksums.json): resuming from the previous one.",
                file=sys.stderr,
            )
        super().on_train_begin(logs)

    def _save_model(self):
        # Keras' save, in an order a kill cannot break: the previous checkpoint is
        # copied aside, the weights are written, then the sums, then the metadata
        # (each of the last two written beside and renamed). The metadata is what
        # says "this checkpoint exists", so when it shows a new epoch its sums
        # are already there; a kill before it leaves sums that do not match, and
        # the previous checkpoint is used.
        os.makedirs(self.backup_dir, exist_ok=True)
        for latest, previous in zip(self._pair(False), self._pair(True)):
            if os.path.isfile(latest):
                shutil.copyfile(latest, previous)
        self.model.save_weights(filepath=self._weights_path, overwrite=True)
        text = json.dumps({"epoch": self._current_epoch, "batch": self._last_batch_seen})
        sums = {"weights": sha256_of(self._weights_path),
                "metadata": hashlib.sha256(text.encode()).hexdigest()}  # fmt: skip
        replace_text(self._sums_path, json.dumps(sums))
        replace_text(self._training_metadata_path, text)


class TimedCSVLogger(keras.callbacks.CSVLogger):
    """`CSVLogger` whose rows also hold the epoch's wall seconds (`EPOCH_SECONDS`).

    So the training time of a run resumed after a kill can count the epochs
    of the processes before it (`RunDirectory.logged_seconds`). Only the file
    gets the column: the progress line and `History` are as Keras makes them.

    Args:
        filename: str. The CSV file.
        timed: bool. Write the column (False to append to a history
            written without it, so its rows keep one header).
        **kwargs: passed to `CSVLogger` (`append`, `separator`).
    """

    def __init__(self, filename, timed=True, **kwargs):
        super().__init__(filename, **kwargs)
        self.timed = timed

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        if self.timed:
            logs = {**(logs or {}), EPOCH_SECONDS: time.time() - self._start}
        super().on_epoch_end(epoch, logs)


def run_callbacks(run, config):
    """The callbacks of `keras_mlrnn.training.runs.train` for a `RunDirectory` and its options.

    In order: `StopOnNonFiniteLoss` (first, so nothing saves NaN weights),
    `CheckedBackupAndRestore` (each epoch, or every `checkpoint_steps`, the
    previous checkpoint kept too, both with sha256 sums checked on resume),
    `TimedCSVLogger` (history.csv with each epoch's seconds, appended on
    resume; the seconds left out when resuming a history written without
    them, so its rows keep one header), `ModelCheckpoint` (the
    best val mAP; the last epoch with `train_on_val`) and, with
    `early_stopping`, `EarlyStopping` on val mAP.
    With `ema`, `SwapEMAWeights` sits after `BackupAndRestore`: validation
    and the callbacks after it see the averaged weights.
    """
    callbacks = [
        StopOnNonFiniteLoss(run.checkpoints),
        # A kill during a save leaves a broken file: the previous one is kept
        # too, and each carries its sha256 sums, checked on resume.
        CheckedBackupAndRestore(
            run.checkpoints,
            save_freq=config.checkpoint_steps or "epoch",
            delete_checkpoint=False,
        ),
    ]
    if config.ema is not None:
        # After BackupAndRestore (it saves the weights being trained and their
        # average in the optimizer's state); before CSVLogger and
        # ModelCheckpoint, so validation and the kept model see the average.
        callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    history = run.history()
    timed = history is None or EPOCH_SECONDS in (history.dtype.names or ())
    callbacks += [
        TimedCSVLogger(run.history_path, timed=timed, append=True),
        keras.callbacks.ModelCheckpoint(
            run.model_path,
            monitor="val_mAP",
            mode="max",
            # Trained on val too, val scores seen data: keep the last epoch.
            save_best_only=not config.train_on_val,
            # A resumed run keeps the best model of its earlier epochs.
            initial_value_threshold=run.best_logged("val_mAP"),
        ),
    ]
    if config.early_stopping:  # never with train_on_val (runs.train refuses it)
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_mAP", mode="max", patience=int(config.early_stopping)
            )
        )
    return callbacks
