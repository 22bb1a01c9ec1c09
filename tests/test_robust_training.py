"""Never lose a run: NaN guard, kill-and-resume, and bad input named clearly."""

import csv
import json
import os

import keras
import numpy as np
import pytest
from PIL import Image

import keras_mlrnn as km
from keras_mlrnn.cli.commands import main
from keras_mlrnn.data.pipeline import tf_files_dataset
from keras_mlrnn.training.callbacks import NonFiniteLossError, StopOnNonFiniteLoss
from keras_mlrnn.training.runs import train
from tests.fixtures import scenes_run
from tests.helpers import train_and_kill_mid_epoch_two
from tests.models.tiny import TINY as TINY_MODELS

TINY = TINY_MODELS[km.BinaryRelevance]


class _BreakWeights(keras.callbacks.Callback):
    """Sets every weight to NaN after a given (epoch, batch): the next step's loss is NaN."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at, self.epoch = (epoch, batch), 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            for w in self.model.trainable_weights:
                w.assign(np.full(w.shape, np.nan, "float32"))


def test_nan_stops_training_naming_epoch_and_step_and_keeps_the_good_checkpoint(
    tmp_path, tiny_batch
):
    images, labels = tiny_batch
    images, labels = np.concatenate([images] * 4), np.concatenate([labels] * 4)  # 24: 6 steps
    model = km.BinaryRelevance(**TINY)
    model.compile(optimizer="sgd")
    checkpoints = str(tmp_path / "checkpoints")
    callbacks = [
        _BreakWeights(epoch=1, batch=1),  # after step 2 of epoch 2
        StopOnNonFiniteLoss(checkpoints),
        keras.callbacks.BackupAndRestore(checkpoints, delete_checkpoint=False),
    ]
    with pytest.raises(NonFiniteLossError, match=r"at epoch 2, step 3\. The last good checkpoint"):
        model.fit(images, labels, batch_size=4, epochs=3, callbacks=callbacks, verbose=0)
    with open(os.path.join(checkpoints, "training_metadata.json")) as f:
        assert json.load(f)["epoch"] == 1  # the end of epoch 1, before the NaN
    restored = km.BinaryRelevance(**TINY)
    restored.build()
    restored.load_weights(os.path.join(checkpoints, "latest.weights.h5"))
    assert all(np.isfinite(w).all() for w in restored.get_weights())


def _history(run):
    with open(os.path.join(run, "history.csv")) as f:
        return list(csv.DictReader(f))


RUN = scenes_run(768, val=64, test=64, epochs=3, batch_size=32, checkpoint_steps=8)


@pytest.mark.large
def test_killed_mid_epoch_then_resumed_matches_an_uninterrupted_run(tmp_path):
    reference, killed = str(tmp_path / "reference"), str(tmp_path / "killed")
    assert main(["train", *RUN, "--run-dir", reference]) == 0
    train_and_kill_mid_epoch_two(
        [*RUN, "--run-dir", killed],
        os.path.join(killed, "checkpoints"),
        ready=lambda: (
            os.path.isfile(os.path.join(killed, "history.csv")) and len(_history(killed)) >= 1
        ),
    )
    assert len(_history(killed)) < 3 and not os.path.isfile(os.path.join(killed, "metrics.json"))
    assert main(["train", "--resume", killed]) == 0
    resumed, uninterrupted = _history(killed), _history(reference)
    assert [row["epoch"] for row in resumed] == ["0", "1", "2"]
    assert float(resumed[-1]["loss"]) <= 1.1 * float(uninterrupted[-1]["loss"])
    with open(os.path.join(killed, "metrics.json")) as f:
        assert json.load(f)["finished"]


def _write_csv(folder, rows):
    lines = ["filename,labels"] + [f"{name},{labels}" for name, labels in rows]
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    return str(folder / "labels.csv")


def test_unreadable_image_files_are_named(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(20):
        Image.fromarray(rng.integers(0, 255, (24, 24, 3), np.uint8)).save(tmp_path / f"{i}.png")
        rows.append((f"{i}.png", "cat" if i % 2 else "dog"))
    data = (tmp_path / "3.png").read_bytes()
    (tmp_path / "3.png").write_bytes(data[: len(data) // 3])  # truncated
    (tmp_path / "7.png").write_bytes(b"not an image at all")  # corrupt
    labels_csv = _write_csv(tmp_path, rows)
    run = str(tmp_path / "run")
    args = ["train", "--dataset", "csv", "--csv", labels_csv, "--image-size", "16"]
    assert main([*args, "--epochs", "1", "--batch-size", "4", "--run-dir", run]) == 2
    err = capsys.readouterr().err
    assert "unreadable image files" in err and "labels.csv" in err
    assert "3.png" in err and "7.png" in err and "corrupt or truncated" in err
    # Found before training: no epoch ran, nothing was checkpointed.
    assert not os.path.exists(os.path.join(run, "history.csv"))
    assert not os.path.isdir(os.path.join(run, "checkpoints")) or not os.listdir(
        os.path.join(run, "checkpoints")
    )


def test_grayscale_rgba_and_16_bit_files_are_converted(tmp_path):
    gray = np.array([[10, 200], [30, 40]], np.uint8)
    Image.fromarray(gray, "L").save(tmp_path / "gray.png")
    Image.fromarray(np.dstack([np.full((2, 2, 3), 90, np.uint8), np.full((2, 2), 5, np.uint8)]),
                    "RGBA").save(tmp_path / "rgba.png")  # fmt: skip
    Image.fromarray(np.array([[0, 65535], [257 * 100, 257 * 7]], np.uint16)).save(
        tmp_path / "deep.png"
    )
    paths = [tmp_path / "gray.png", tmp_path / "rgba.png", tmp_path / "deep.png"]
    batch = next(iter(tf_files_dataset(paths, np.zeros((3, 2)), image_size=2, batch_size=3)))
    x = batch[0].numpy()
    assert x.shape == (3, 2, 2, 3) and x.dtype == np.uint8
    np.testing.assert_array_equal(x[0, ..., 1], gray)
    np.testing.assert_array_equal(x[1], 90)
    np.testing.assert_array_equal(x[2, ..., 2], [[0, 255], [100, 7]])


def test_class_count_mismatch_is_named(tiny_batch):
    images, labels = tiny_batch
    model = km.BinaryRelevance(**TINY)
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match=r"num_classes=20, but the labels have shape \(.*, 7\)"):
        model.fit(images, labels[:, :7], epochs=1, verbose=0)


def test_images_without_labels_are_kept_and_train(tmp_path):
    rng = np.random.default_rng(1)
    rows = []
    for i in range(12):
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), np.uint8)).save(tmp_path / f"{i}.png")
        rows.append((f"{i}.png", "" if i % 3 == 0 else "sky"))
    labels_csv = _write_csv(tmp_path, rows)
    result = train(str(tmp_path / "run"), dataset="csv", csv=labels_csv, image_size=16,
                   epochs=1, batch_size=4, verbose=0)  # fmt: skip
    assert result["finished"]
    from keras_mlrnn.data import load_csv

    assert int((load_csv(labels_csv).labels.sum(1) == 0).sum()) == 4  # kept as negatives


def test_early_stopping_with_train_on_val_is_refused_before_any_work(tmp_path):
    run_dir = tmp_path / "run"
    with pytest.raises(ValueError, match="early_stopping needs an unseen val split"):
        train(str(run_dir), early_stopping=2, train_on_val=True, cache_features=True, verbose=0)
    # Refused before the data were read or a feature computed: no cache folder.
    assert not (run_dir / "features").exists()


def _flip_a_byte(path):
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))


def test_a_damaged_checkpoint_is_found_and_the_previous_one_used(tmp_path, capsys):
    run = str(tmp_path / "run")
    small = ["--train-size", "64", "--val-size", "16", "--test-size", "16", "--image-size", "32"]
    assert main(["train", *small, "--epochs", "2", "--run-dir", run]) == 0
    checkpoints = os.path.join(run, "checkpoints")
    _flip_a_byte(os.path.join(checkpoints, "latest.weights.h5"))  # epoch 2's weights
    capsys.readouterr()
    assert main(["train", "--resume", run, "--epochs", "3"]) == 0
    err = capsys.readouterr().err
    assert "latest checkpoint in" in err and "resuming from the previous one" in err
    assert [row["epoch"] for row in _history(run)][-2:] == ["1", "2"]  # epoch 2 trained again
    with open(os.path.join(checkpoints, "training_metadata.json"), "w") as f:
        f.write('{"epo')  # a damaged metadata file, and the previous checkpoint broken too
    _flip_a_byte(os.path.join(checkpoints, "latest.weights.h5.bkp"))
    assert main(["train", "--resume", run, "--epochs", "4"]) == 2
    err = capsys.readouterr().err
    assert "is damaged (its files do not match checksums.json) and so is the previous" in err
