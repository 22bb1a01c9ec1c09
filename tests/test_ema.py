"""`train(ema=M)`: validation and the kept model use the average of the trained weights."""

import os

import keras
import numpy as np
import pytest

import keras_mlrnn as km
from keras_mlrnn.cli.commands import main
from keras_mlrnn.training.callbacks import run_callbacks
from keras_mlrnn.training.run_config import RunConfig
from keras_mlrnn.training.run_dir import RunDirectory
from tests.models.tiny import TINY


class _RecordWeights(keras.callbacks.Callback):
    """The trainable weights after every step (the weights being trained, not their average)."""

    def __init__(self):
        super().__init__()
        self.steps = []

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append([keras.ops.convert_to_numpy(v) for v in self.model.trainable_variables])


def test_the_kept_model_is_the_average_of_the_steps_and_validation_scores_it(tmp_path, tiny_batch):
    images, labels = tiny_batch  # 6 images: 3 steps of 2 per epoch
    run = RunDirectory(str(tmp_path / "run"))
    os.makedirs(run.path)
    momentum = 0.5
    model = km.BinaryRelevance(**TINY[km.BinaryRelevance])
    model.compile(optimizer=keras.optimizers.Adam(1e-2, use_ema=True, ema_momentum=momentum))
    record = _RecordWeights()
    # train_on_val: the checkpoint keeps the last epoch, whatever its score.
    config = RunConfig(ema=momentum, train_on_val=True)
    callbacks = [record, *run_callbacks(run, config)]
    history = model.fit(
        images, labels, batch_size=2, epochs=2, validation_data=(images, labels),
        callbacks=callbacks, shuffle=False, verbose=0,
    )  # fmt: skip
    # Keras' average: the first step's weights, then a <- m a + (1 - m) w.
    average = record.steps[0]
    for step in record.steps[1:]:
        average = [momentum * a + (1 - momentum) * w for a, w in zip(average, step)]
    kept = keras.saving.load_model(run.model_path)
    assert len(record.steps) == 6
    for variable, expected in zip(kept.trainable_variables, average):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(variable), expected, atol=1e-6)
    # The last trained weights differ from their average: the check can fail.
    assert not np.allclose(record.steps[-1][-1], average[-1], atol=1e-4)
    # Validation ran on the average: the kept model reproduces its loss.
    kept.compile(optimizer="adam")
    loss = kept.evaluate(images, labels, batch_size=2, verbose=0, return_dict=True)["loss"]
    assert history.history["val_loss"][-1] == pytest.approx(loss, rel=1e-5)


def test_cli_ema_option(tmp_path, capsys):
    small = ["--train-size", "64", "--val-size", "32", "--test-size", "32", "--image-size", "32"]
    run = str(tmp_path / "run")
    assert main(["train", "--epochs", "1", "--ema", "0.9", "--run-dir", run, *small]) == 0
    assert RunDirectory(run).read_config()["ema"] == 0.9
    assert main(["train", "--ema", "1.5", "--run-dir", str(tmp_path / "bad"), *small]) == 2
    assert "ema is the averaging momentum, in (0, 1); got 1.5" in capsys.readouterr().err
