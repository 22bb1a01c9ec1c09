"""`runs.train(warmup_epochs=N)`: the papers' two training stages in one resumable run."""

import csv
import hashlib
import json
import os

import keras
import pytest

from keras_mlrnn.training.runs import train

SMALL = dict(
    dataset="scenes",
    image_size=32,
    batch_size=32,
    train_size=64,
    val_size=32,
    test_size=32,
    learning_rate=1e-3,
)
MULTI_ORDER = dict(model="multi-order-rnn", model_args={"steps": 3, "lstm_units": 16})


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _history(run_dir):
    with open(os.path.join(run_dir, "history.csv")) as f:
        return [(int(row["epoch"]), float(row["loss"])) for row in csv.DictReader(f)]


def test_warmup_trains_the_confidence_first_then_the_whole_model(tmp_path):
    run_dir = str(tmp_path / "run")
    train(run_dir, epochs=3, warmup_epochs=1, verbose=0, **MULTI_ORDER, **SMALL)
    history = _history(run_dir)
    assert [epoch for epoch, _ in history] == [0, 1, 2]
    # Warm-up: BCE of s^ only (~0.69 at the start). Then the joint loss adds
    # the multi-order BCE summed over 3 steps (~3 x 0.69): the loss jumps up.
    warmup_loss, joint_loss = history[0][1], history[1][1]
    assert 0.3 < warmup_loss < 0.8
    assert joint_loss > 2.0 * warmup_loss
    best = keras.saving.load_model(os.path.join(run_dir, "model.keras"))
    assert best.stage == "joint"  # the stage the run ends in, whatever epoch was best

    # A run killed after its warm-up resumes in the second stage: pretend the
    # checkpoint is the end of epoch 1 and the evaluation never happened.
    checkpoints = os.path.join(run_dir, "checkpoints")
    metadata_path = os.path.join(checkpoints, "training_metadata.json")
    with open(metadata_path, "w") as f:
        json.dump({"epoch": 1, "batch": 0}, f)
    sums = {  # as if the checkpoint had been written so (its sums are checked on resume)
        "weights": _sha256(os.path.join(checkpoints, "latest.weights.h5")),
        "metadata": _sha256(metadata_path),
    }
    with open(os.path.join(checkpoints, "checksums.json"), "w") as f:
        json.dump(sums, f)
    os.remove(os.path.join(run_dir, "metrics.json"))
    result = train(run_dir, resume=True, verbose=0)
    history = _history(run_dir)
    assert [epoch for epoch, _ in history] == [0, 1, 2, 1, 2]  # warm-up not repeated
    assert history[3][1] > 2.0 * warmup_loss  # still the joint loss
    assert result["finished"]


def test_warmup_needs_a_staged_method_and_fewer_epochs(tmp_path):
    with pytest.raises(ValueError, match="trained in stages"):
        train(str(tmp_path / "a"), model="binary-relevance", epochs=2, warmup_epochs=1, **SMALL)
    with pytest.raises(ValueError, match="between 1 and epochs - 1"):
        train(str(tmp_path / "b"), epochs=2, warmup_epochs=2, **MULTI_ORDER, **SMALL)
