"""Train-time augmentation (keras_mlrnn.data.augment): the mixed labels, checked on pixels."""

import json
import os

import numpy as np
import pytest

from keras_mlrnn.data.augment import check_augmentation
from keras_mlrnn.data.pipeline import NumpyBatches, tf_dataset

N = 8  # images in the batch; image i is filled with the value STEP * i, label i only
STEP = 30


def _constant_batch(side):
    images = (STEP * np.arange(N, dtype=np.uint8))[:, None, None, None]
    images = np.broadcast_to(images, (N, side, side, 3)).copy()
    return images, np.eye(N, dtype=np.float32)


def _one_batch(path, augment, side, seed=0):
    images, labels = _constant_batch(side)
    if path == "tf.data":
        x, y = next(iter(tf_dataset(images, labels, batch_size=N, augment=augment, seed=seed)))
        return np.asarray(x), np.asarray(y)
    return NumpyBatches(images, labels, batch_size=N, augment=augment, seed=seed)[0]


@pytest.mark.parametrize("path", ["tf.data", "numpy"])
def test_mixup_labels_are_the_blend_weights_of_the_pixels(path):
    x, y = _one_batch(path, "mixup", side=8)
    assert x.dtype == np.uint8 and x.shape == (N, 8, 8, 3) and y.shape == (N, N)
    np.testing.assert_allclose(y.sum(1), 1.0, atol=1e-6)  # weights of two images
    assert np.all((y > 1e-6).sum(1) <= 2)
    # A blend of two constant images is constant: w * STEP * i + (1 - w) * STEP * j.
    expected = y @ (STEP * np.arange(N, dtype=np.float32))
    pixels = x.reshape(N, -1).astype(np.float32)
    np.testing.assert_allclose(pixels, np.repeat(expected[:, None], pixels.shape[1], 1), atol=1)
    assert np.any((y > 0.01) & (y < 0.99)), "no image was mixed"


@pytest.mark.parametrize("path", ["tf.data", "numpy"])
def test_cutmix_labels_are_the_area_each_image_keeps(path):
    side = 64
    x, y = _one_batch(path, "cutmix", side=side)
    assert x.dtype == np.uint8 and x.shape == (N, side, side, 3)
    np.testing.assert_allclose(y.sum(1), 1.0, atol=1e-6)
    # The fraction of image i's pixels holding image j's value is j's label weight
    # (Keras computes it from the box's real-valued corners: within two pixel rows).
    values = x[..., 0].reshape(N, -1)
    area = np.stack([(values == STEP * j).mean(1) for j in range(N)], axis=1)
    np.testing.assert_allclose(y, area, atol=2 / side)
    assert np.any((y > 0.01) & (y < 0.99)), "no box was pasted"


@pytest.mark.parametrize("path", ["tf.data", "numpy"])
def test_randaugment_changes_pixels_not_labels(path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (N, 32, 32, 3), dtype=np.uint8)
    labels = (rng.random((N, 5)) < 0.4).astype(np.float32)
    if path == "tf.data":
        batches = tf_dataset(images, labels, batch_size=N, augment="randaugment", seed=0)
        x, y = (np.asarray(t) for t in next(iter(batches)))
    else:
        x, y = NumpyBatches(images, labels, batch_size=N, augment="randaugment", seed=0)[0]
    assert x.dtype == np.uint8 and x.shape == images.shape
    np.testing.assert_array_equal(y, labels)
    # neither the image nor its mirror (the flip alone): RandAugment changed it
    changed = [
        not np.array_equal(a, b) and not np.array_equal(a, b[:, ::-1]) for a, b in zip(x, images)
    ]
    assert sum(changed) >= N // 2, changed


def test_augmentation_names_are_checked():
    assert check_augmentation(True) == "flip" and check_augmentation("none") is None
    with pytest.raises(ValueError, match="randaugment"):
        check_augmentation("autoaugment")
    with pytest.raises(ValueError, match="mixes labels"):
        NumpyBatches(np.zeros((2, 4, 4, 3), np.uint8), augment="mixup")[0]


def test_cli_augment_option_and_the_feature_cache(tmp_path, capsys):
    from keras_mlrnn.cli.commands import main

    run = str(tmp_path / "run")
    args = ["train", "--train-size", "32", "--val-size", "16", "--test-size", "16"]
    args += ["--image-size", "32", "--epochs", "1", "--batch-size", "16"]
    assert main([*args, "--augment", "cutmix", "--run-dir", run]) == 0
    with open(os.path.join(run, "run_config.json")) as f:
        assert json.load(f)["augment"] == "cutmix"
    # A cache serves RandAugment with a few fixed views per training image ...
    cached = str(tmp_path / "cached")
    assert main([*args, "--augment", "randaugment", "--cache-features", "--run-dir", cached]) == 0
    files = os.listdir(os.path.join(cached, "features"))
    names = sorted(".".join(f.split(".")[:2]) for f in files if f.endswith(".npy"))
    train_views = [f"train.randaugment{k}" for k in range(4)]
    assert names == ["test.image", *train_views, "val.image"]
    # ... but not the mixing augmentations, refused before any feature is computed.
    refused = str(tmp_path / "refused")
    code = main([*args, "--augment", "mixup", "--cache-features", "--run-dir", refused])
    assert code == 2
    err = capsys.readouterr().err
    assert "augment='mixup'" in err and "feature cache" in err
    assert not os.path.exists(os.path.join(refused, "features"))
