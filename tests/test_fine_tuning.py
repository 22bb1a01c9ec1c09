"""Two-stage runs (`fine_tune_epochs`): the head on a frozen backbone, then the whole model."""

import csv
import os

import keras
import numpy as np
import pytest

import keras_mlrnn as km
from keras_mlrnn.cli.commands import main
from keras_mlrnn.training.fine_tuning import head_options, second_stage_config, whole_model
from keras_mlrnn.training.run_config import RunConfig
from keras_mlrnn.training.run_dir import RunDirectory
from keras_mlrnn.training.runs import train
from tests.fixtures import scenes_run
from tests.helpers import train_and_kill_mid_epoch_two
from tests.models.tiny import TINY


def _batch_norm_layers(model):
    return [
        layer
        for layer in model.backbone._flatten_layers()
        if isinstance(layer, keras.layers.BatchNormalization)
    ]


def test_whole_model_keeps_every_weight_and_unfreezes_the_backbone_but_not_its_batch_norm():
    head = km.CoarseToFineRNN(**TINY[km.CoarseToFineRNN], backbone_trainable=False)
    images = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype="uint8")
    scores = keras.ops.convert_to_numpy(head(images))
    assert not head.backbone.trainable_weights
    model = whole_model(head)
    assert type(model) is km.CoarseToFineRNN and model.backbone_trainable
    norm_weights = {id(w) for layer in _batch_norm_layers(model) for w in layer.weights}
    trainable = model.backbone.trainable_weights
    assert trainable and not any(id(w) in norm_weights for w in trainable)
    for mine, theirs in zip(model.weights, head.weights):
        assert mine.path == theirs.path
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(mine), theirs.numpy())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(images)), scores, atol=1e-6)
    larger = whole_model(head, image_size=64)  # the heads do not depend on the map's size
    big = np.random.default_rng(1).integers(0, 256, (2, 64, 64, 3), dtype="uint8")
    assert keras.ops.convert_to_numpy(larger(big)).shape == (2, 20)


def test_whole_model_trains_the_backbone_with_its_batch_norm_statistics_fixed():
    head = km.BinaryRelevance(**TINY[km.BinaryRelevance], backbone_trainable=False)
    model = whole_model(head)
    norms = _batch_norm_layers(model)
    assert norms and not any(layer.trainable for layer in norms)
    before = [layer.moving_mean.numpy().copy() for layer in norms]
    kernel = model.backbone.trainable_weights[0]
    first = kernel.numpy().copy()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (8, 32, 32, 3), dtype="uint8")
    labels = (rng.random((8, 20)) < 0.5).astype("float32")
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(images, labels, batch_size=4, epochs=1, verbose=0)
    assert not np.allclose(kernel.numpy(), first)  # the backbone learned
    for layer, mean in zip(norms, before):  # ... and its batch norm kept ImageNet's statistics
        np.testing.assert_array_equal(layer.moving_mean.numpy(), mean)


def test_stage_options_split_the_run_in_two():
    config = RunConfig(
        epochs=7,
        learning_rate=1e-3,
        image_size=224,
        cache_features="runs/features",
        early_stopping=5,
        fine_tune_epochs=4,
        fine_tune_image_size=448,
        save_preset="somewhere",
        command="keras-mlrnn train ...",
        model_args={"dropout": 0.2},
    )
    head = head_options(config)
    assert head["epochs"] == 7 and head["cache_features"] == "runs/features"
    assert head["model_args"] == {"dropout": 0.2, "backbone_trainable": False}
    assert not any(key.startswith("fine_tune") for key in head)
    assert "save_preset" not in head
    assert "command" not in head
    second = second_stage_config(config)
    assert (second.epochs, second.learning_rate, second.image_size) == (4, 3e-5, 448)
    assert second.early_stopping == 2 and second.cache_features is None
    assert second_stage_config(config.replace(train_on_val=True)).early_stopping is None
    assert second_stage_config(config.replace(fine_tune_image_size=None)).image_size == 224


def test_a_run_directory_holding_only_a_finished_head_is_not_replaced(tmp_path):
    run = RunDirectory(tmp_path / "run")
    os.makedirs(run.head.checkpoints)
    (tmp_path / "run" / "head" / "model.keras").write_bytes(b"trained")
    run.write_config({"model": "binary-relevance", "fine_tune_epochs": 2})
    with pytest.raises(FileExistsError, match="--resume"):
        run.prepare()
    assert os.path.isfile(os.path.join(run.head.path, "model.keras"))


def test_resuming_a_two_stage_run_grows_only_its_fine_tune_epochs(tmp_path):
    run = RunDirectory(tmp_path / "run")
    os.makedirs(run.path)
    run.write_config(RunConfig(epochs=3, fine_tune_epochs=2).to_json())
    with pytest.raises(ValueError, match=r"epochs \(saved 3, given 5\).*--fine-tune-epochs"):
        train(run.path, resume=True, epochs=5)
    with pytest.raises(ValueError, match="fewer"):
        train(run.path, resume=True, fine_tune_epochs=1)


def test_fine_tuning_a_trainable_head_is_refused_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="backbone_trainable"):
        train(
            str(tmp_path / "run"),
            fine_tune_epochs=1,
            model_args={"backbone_trainable": True},
        )
    assert not os.path.exists(tmp_path / "run")


def _history(path):
    with open(path) as f:
        return list(csv.DictReader(f))


RUN = scenes_run(
    384,
    epochs=2,
    batch_size=32,
    cache_features=True,
    checkpoint_steps=4,
    fine_tune_epochs=3,
    fine_tune_patience=3,
    fine_tune_image_size=48,
)


@pytest.mark.large
def test_killed_in_stage_two_then_resumed_loses_nothing(tmp_path):
    run = RunDirectory(tmp_path / "run")
    # Killed once stage 2's epoch 2 is under way and has checkpointed mid-epoch.
    ready = lambda: os.path.isfile(run.history_path)  # noqa: E731
    train_and_kill_mid_epoch_two([*RUN, "--run-dir", run.path], run.checkpoints, ready=ready)
    assert not os.path.isfile(run.metrics_path)
    head_history = open(run.head.history_path).read()
    head_model = os.path.getmtime(run.head.model_path)
    assert len(_history(run.history_path)) == 1  # stage 2's first epoch, logged

    assert main(["train", "--resume", run.path]) == 0
    assert open(run.head.history_path).read() == head_history  # the head was not trained again
    assert os.path.getmtime(run.head.model_path) == head_model
    assert [row["epoch"] for row in _history(run.history_path)] == ["0", "1", "2"]
    result = run.read_metrics()
    assert result["finished"] and result["head"]["image_size"] == 32
    assert result["head"]["reports"] == run.head.read_metrics()["reports"]
    best = keras.saving.load_model(run.model_path)
    assert best.image_size == 48 and best.backbone_trainable and best.freeze_batchnorm


@pytest.mark.large
def test_compare_tabulates_the_frozen_head_beside_the_fine_tuned_model(tmp_path):
    from keras_mlrnn.training.compare import compare

    out = str(tmp_path / "compare")
    sizes = dict(train_size=64, val_size=32, test_size=32)
    options = dict(epochs=1, cache_features=True, fine_tune_epochs=1, **sizes)
    summary = compare(out, ["binary-relevance"], seeds=[0], **options)
    assert list(summary) == ["binary-relevance (head only)", "binary-relevance"]
    run = RunDirectory(os.path.join(out, "binary-relevance", "seed0"))
    head, whole = run.head.read_metrics(), run.read_metrics()
    for name, result in (("binary-relevance (head only)", head), ("binary-relevance", whole)):
        expected = result["reports"]["threshold 0.5"]["mAP"]
        assert summary[name]["metrics"]["threshold 0.5"]["mAP"]["mean"] == expected
    total = head["train_seconds"] + whole["train_seconds"]
    assert summary["binary-relevance"]["train_seconds"] == pytest.approx(total)
    assert summary["binary-relevance"]["linear_probe_mAP"] is not None  # on the frozen head
