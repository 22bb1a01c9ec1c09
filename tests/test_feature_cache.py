"""The frozen-backbone feature cache: same loss and gradients as the images, reuse, round trip."""

import json
import os

import keras
import numpy as np
import pytest

import keras_mlrnn as km
from keras_mlrnn.data.splits import DataSplit
from keras_mlrnn.training.feature_cache import CachedFeatureBatches, FeatureCache, training_views

FROZEN = dict(backbone="tiny", image_size=32, backbone_trainable=False)


def _split(tiny_batch):
    images, labels = tiny_batch
    return DataSplit(labels, [f"c{i}" for i in range(20)], images=images)


def _one_sgd_step(model, x, y):
    """Loss of one SGD(1.0) step from the model's current weights, and each weight's change.

    With plain SGD at learning rate 1 the change of a weight is minus its
    gradient, so equal changes mean equal gradients.
    """
    before = [keras.ops.convert_to_numpy(v) for v in model.variables]
    trainable = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    keras.utils.set_random_seed(7)  # the same dropout masks on both paths
    loss = float(model.train_on_batch(x, y, return_dict=True)["loss"])
    deltas = [keras.ops.convert_to_numpy(w) - b for w, b in zip(model.trainable_weights, trainable)]
    for variable, value in zip(model.variables, before):
        variable.assign(value)
    return loss, deltas


@pytest.mark.parametrize(
    "cls", [km.CNNRNN, km.OrderFreeRNN, km.RegionAttentionRNN, km.CoarseToFineRNN]
)
def test_cached_features_give_the_loss_and_gradients_of_the_images(cls, tiny_batch, tmp_path):
    images, labels = tiny_batch
    model = cls(num_classes=20, **FROZEN)
    model.adapt(labels)
    model.compile(optimizer=keras.optimizers.SGD(1.0), metrics=[])
    cache = FeatureCache(str(tmp_path), model, batch_size=4, dtype="float32", verbose=False)
    split = _split(tiny_batch)
    for view, seen in (("image", images), ("mirror", images[:, :, ::-1])):
        features = np.asarray(cache.view(split, "train", view))
        image_loss, image_deltas = _one_sgd_step(model, seen, labels)
        cached_loss, cached_deltas = _one_sgd_step(model, features, labels)
        # float32 cache: the same numbers up to the order of float operations
        assert cached_loss == pytest.approx(image_loss, rel=1e-5)
        assert len(image_deltas) == len(cached_deltas) > 0
        assert any(np.abs(d).max() > 0 for d in image_deltas)
        for a, b in zip(image_deltas, cached_deltas):
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)


def test_float16_cache_is_the_backbone_output_rounded(tiny_batch, tmp_path):
    images, _ = tiny_batch
    model = km.BinaryRelevance(num_classes=20, **FROZEN)
    model.build()
    exact = keras.ops.convert_to_numpy(model.image_features(images))
    cached = FeatureCache(str(tmp_path), model, verbose=False).view(_split(tiny_batch), "t")
    assert cached.dtype == np.float16 and cached.shape == (6, *model.feature_shape)
    # float16 keeps 11 significant bits: relative error <= 2**-11 of each value
    np.testing.assert_allclose(cached.astype(np.float32), exact, rtol=2**-11, atol=1e-6)
    mirrored = keras.ops.convert_to_numpy(model.image_features(images[:, :, ::-1]))
    cache = FeatureCache(str(tmp_path), model, verbose=False)
    mirror = cache.view(_split(tiny_batch), "t", "mirror")
    np.testing.assert_allclose(mirror.astype(np.float32), mirrored, rtol=2**-11, atol=1e-6)


def test_cache_is_reused_and_rebuilt_when_the_backbone_changes(tiny_batch, tmp_path, capsys):
    model = km.BinaryRelevance(num_classes=20, **FROZEN)
    model.build()
    split = _split(tiny_batch)
    FeatureCache(str(tmp_path), model).view(split, "train")
    assert "Backbone features of train (image)" in capsys.readouterr().out
    first = [f for f in os.listdir(tmp_path) if f.endswith(".npy")]
    again = FeatureCache(str(tmp_path), model).view(split, "train")
    assert capsys.readouterr().out == ""  # read from disk, not recomputed
    assert again.shape == (6, *model.feature_shape)
    other = km.BinaryRelevance(num_classes=20, **FROZEN)  # other random backbone weights
    other.build()
    FeatureCache(str(tmp_path), other).view(split, "train")
    assert "Backbone features" in capsys.readouterr().out
    assert len([f for f in os.listdir(tmp_path) if f.endswith(".npy")]) == 2  # both kept
    # a manifest that no longer matches the file (e.g. other images) means a rebuild
    manifest_path = tmp_path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest[first[0]]["split"] = "something else"
    manifest_path.write_text(json.dumps(manifest))
    FeatureCache(str(tmp_path), model).view(split, "train")
    assert "Backbone features" in capsys.readouterr().out
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".partial")]


def test_randaugment_views_are_seeded_distinct_and_rebuilt_the_same(tiny_batch, tmp_path):
    model = km.BinaryRelevance(num_classes=20, **FROZEN)
    split = _split(tiny_batch)
    views = training_views("randaugment")
    assert len(views) == 4 and len(set(views)) == 4
    first = FeatureCache(str(tmp_path / "a"), model, dtype="float32", verbose=False)
    again = FeatureCache(str(tmp_path / "b"), model, dtype="float32", verbose=False)
    plain = [np.asarray(first.view(split, "train", v)) for v in ("image", "mirror")]
    built = [np.asarray(first.view(split, "train", v)) for v in views]
    for view, features in zip(views, built):  # the view's number seeds it: a rebuild agrees
        np.testing.assert_allclose(np.asarray(again.view(split, "train", view)), features)
        new = [not any(np.allclose(features[i], p[i]) for p in plain) for i in range(6)]
        assert sum(new) >= 3, view  # most images changed beyond a flip
    for i, a in enumerate(built):
        for b in built[i + 1 :]:
            assert not np.allclose(a, b)
    assert training_views("flip") == ("image", "mirror") and training_views("none") == ("image",)
    with pytest.raises(ValueError, match="augment='mixup' blends pixels"):
        training_views("mixup")
    with pytest.raises(ValueError, match="Unknown view 'blur'"):
        first.view(split, "train", "blur")


def test_a_trainable_backbone_is_refused(tmp_path):
    model = km.BinaryRelevance(num_classes=20, backbone="tiny", image_size=32)
    with pytest.raises(ValueError, match="backbone_trainable=False"):
        FeatureCache(str(tmp_path), model)


def test_batches_draw_one_view_per_sample_and_keep_labels_aligned():
    rows = np.arange(40, dtype=np.float32).reshape(40, 1, 1, 1)
    labels = np.arange(40, dtype=np.float32).reshape(40, 1)
    batches = CachedFeatureBatches([rows, rows + 1000], labels, batch_size=16, shuffle=True, seed=0)
    from_mirror = []
    for epoch in range(4):
        seen = []
        for i in range(len(batches)):
            x, y = batches[i]
            value = x[:, 0, 0, 0]
            np.testing.assert_array_equal(value % 1000, y[:, 0])  # label of the same image
            seen += list(y[:, 0])
            from_mirror.append((value >= 1000).mean())
        assert sorted(seen) == list(range(40))  # every image once per epoch
        batches.on_epoch_end()
    assert 0.3 < np.mean(from_mirror) < 0.7  # both views drawn
    plain = CachedFeatureBatches([rows], None, batch_size=16)
    np.testing.assert_array_equal(np.concatenate([plain[i] for i in range(3)]), rows)


def test_run_on_cached_features_saves_a_model_that_reads_images(tmp_path):
    from keras_mlrnn.data.splits import load_splits
    from keras_mlrnn.training.runs import train

    sizes = dict(train_size=48, val_size=16, test_size=24)
    result = train(
        str(tmp_path / "run"),
        model="multi-order-rnn",
        epochs=2,
        batch_size=16,
        image_size=32,
        cache_features=True,  # freezes the backbone
        verbose=0,
        **sizes,
    )
    with open(tmp_path / "run" / "run_config.json") as f:
        assert json.load(f)["model_args"] == {"backbone_trainable": False}
    files = os.listdir(tmp_path / "run" / "features")
    names = sorted(".".join(f.split(".")[:2]) for f in files if f.endswith(".npy"))
    assert names == ["test.image", "train.image", "train.mirror", "val.image"]
    # The saved model reads raw images: its test mAP equals the run's (cached) report.
    model = keras.saving.load_model(str(tmp_path / "run" / "model.keras"))
    test = load_splits("scenes", image_size=32, sizes={k[:-5]: v for k, v in sizes.items()})["test"]
    scores = model.predict(test.images, verbose=0)
    report = km.metrics.multilabel_report(test.labels, scores)
    assert report["mAP"] == pytest.approx(result["reports"]["threshold 0.5"]["mAP"], abs=2e-3)
    sets = model.predict_sets(test.images)
    own = km.metrics.multilabel_report(test.labels, scores, sets=sets)
    assert own["OF1"] == pytest.approx(result["reports"]["predict_sets"]["OF1"], abs=0.02)


def test_a_run_that_trains_its_backbone_cannot_cache(tmp_path):
    from keras_mlrnn.training.runs import train

    with pytest.raises(ValueError, match="needs a frozen backbone"):
        train(
            str(tmp_path / "run"),
            epochs=1,
            train_size=8,
            val_size=8,
            test_size=8,
            image_size=32,
            cache_features=True,
            model_args={"backbone_trainable": True},
            verbose=0,
        )
