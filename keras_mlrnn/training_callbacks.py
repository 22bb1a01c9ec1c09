"""The callbacks of a training run: NaN guard, checkpoints, history, best model, early stop."""

import keras
import numpy as np


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


def run_callbacks(run, config):
    """The callbacks of `keras_mlrnn.runs.train` for a `RunDirectory` and its options.

    In order: `StopOnNonFiniteLoss` (first, so nothing saves NaN weights),
    `BackupAndRestore` (each epoch, or every `checkpoint_steps`, the
    previous checkpoint kept too), `CSVLogger` (history.csv, appended on
    resume), `ModelCheckpoint` (the best val mAP; the last epoch with
    `train_on_val`) and, with `early_stopping`, `EarlyStopping` on val mAP.
    With `ema`, `SwapEMAWeights` sits after `BackupAndRestore`: validation
    and the callbacks after it see the averaged weights.
    """
    callbacks = [
        StopOnNonFiniteLoss(run.checkpoints),
        keras.callbacks.BackupAndRestore(
            run.checkpoints,
            save_freq=config.get("checkpoint_steps") or "epoch",
            delete_checkpoint=False,
            # A kill during a save leaves a broken file: keep the previous one too.
            double_checkpoint=True,
        ),
    ]
    if config.get("ema") is not None:
        # After BackupAndRestore (it saves the weights being trained and their
        # average in the optimizer's state); before CSVLogger and
        # ModelCheckpoint, so validation and the kept model see the average.
        callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    callbacks += [
        keras.callbacks.CSVLogger(run.history_path, append=True),
        keras.callbacks.ModelCheckpoint(
            run.model_path,
            monitor="val_mAP",
            mode="max",
            # Trained on val too, val scores seen data: keep the last epoch.
            save_best_only=not config.get("train_on_val"),
            # A resumed run keeps the best model of its earlier epochs.
            initial_value_threshold=run.best_logged("val_mAP"),
        ),
    ]
    if config.get("early_stopping"):  # never with train_on_val (runs.train refuses it)
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_mAP", mode="max", patience=int(config["early_stopping"])
            )
        )
    return callbacks
