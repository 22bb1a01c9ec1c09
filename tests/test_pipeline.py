import os

import numpy as np
import pytest
from PIL import Image

from keras_mlrnn.data import NumpyBatches, load_scenes, tf_dataset, tf_files_dataset
from keras_mlrnn.data.pipeline import validate_arrays
from tests.fixtures import noise_photos


@pytest.fixture
def arrays():
    images, labels = load_scenes("val", num_images=10, image_size=32)
    return images, labels


def _is_original_or_mirror(batch, originals):
    for image in batch:
        assert any(np.array_equal(image, o) or np.array_equal(image, o[:, ::-1]) for o in originals)


def test_tf_dataset_batches_and_flips(arrays):
    images, labels = arrays
    ds = tf_dataset(images, labels, batch_size=4, shuffle=True, augment=True, seed=1)
    seen = []
    for x, y in ds:
        x, y = x.numpy(), y.numpy()
        assert x.dtype == np.uint8 and y.dtype == np.float32
        _is_original_or_mirror(x, images)
        seen.append(len(x))
    assert seen == [4, 4, 2]


def test_tf_dataset_without_augment_keeps_order(arrays):
    images, labels = arrays
    x, y = next(iter(tf_dataset(images, labels, batch_size=10)))
    np.testing.assert_array_equal(x.numpy(), images)
    np.testing.assert_array_equal(y.numpy(), labels)


def test_numpy_batches_shuffle_is_seeded(arrays):
    images, labels = arrays
    a = NumpyBatches(images, labels, batch_size=4, shuffle=True, augment=True, seed=7)
    b = NumpyBatches(images, labels, batch_size=4, shuffle=True, augment=True, seed=7)
    for i in range(len(a)):
        batch_a, batch_b = a[i][0], b[i][0]
        np.testing.assert_array_equal(batch_a, batch_b)
        _is_original_or_mirror(batch_a, images)
    assert len(a) == 3


def test_files_dataset_converts_modes(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    Image.fromarray(rgb).save(tmp_path / "rgb.jpg", quality=95)
    Image.fromarray(rgb[..., 0]).save(tmp_path / "gray.png")
    Image.fromarray(np.dstack([rgb, np.full((40, 50), 255, np.uint8)])).save(tmp_path / "rgba.png")
    paths = [tmp_path / n for n in ("rgb.png", "rgb.jpg", "gray.png", "rgba.png")]
    labels = np.eye(4, dtype=np.float32)
    x, y = next(iter(tf_files_dataset(paths, labels, image_size=24, batch_size=4)))
    x = x.numpy()
    assert x.shape == (4, 24, 24, 3) and x.dtype == np.uint8
    np.testing.assert_array_equal(y.numpy(), labels)
    # the gray image becomes three equal channels
    np.testing.assert_array_equal(x[2, ..., 0], x[2, ..., 1])
    # the RGBA image keeps its colour channels: same as the RGB PNG
    np.testing.assert_array_equal(x[3], x[0])


@pytest.mark.parametrize(
    "labels,message",
    [
        (np.array([[0.0, np.nan]]), "NaN"),
        (np.array([[0.0, 2.0]]), r"\[0, 1\]"),
        (np.zeros((2, 2)), "N = 1"),
    ],
)
def test_bad_labels_raise(labels, message):
    with pytest.raises(ValueError, match=message):
        validate_arrays(np.zeros((1, 8, 8, 3), np.uint8), labels, "my_split")


def test_empty_split_and_bad_images_raise():
    with pytest.raises(ValueError, match="empty"):
        validate_arrays(np.zeros((0, 8, 8, 3), np.uint8), np.zeros((0, 2)))
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        validate_arrays(np.zeros((2, 8, 8), np.uint8), None)
    with pytest.raises(ValueError, match="float in"):
        validate_arrays(np.full((1, 8, 8, 3), 300.0), None)


def test_files_dataset_cache_to_file(tmp_path):
    paths = noise_photos(tmp_path, 5, shape=(12, 12), seed=1)
    labels = np.eye(5, dtype=np.float32)
    cache = tmp_path / "cache" / "decoded"
    cache.parent.mkdir()
    ds = tf_files_dataset(paths, labels, image_size=12, batch_size=5, shuffle=True, seed=3,
                          cache=str(cache))  # fmt: skip
    first = [(x.numpy(), y.numpy()) for x, y in ds]
    assert any(name.startswith("decoded") for name in os.listdir(cache.parent))
    for p in paths:
        os.remove(p)  # the second epoch reads the cache, not the files
    second = [(x.numpy(), y.numpy()) for x, y in ds]
    images_1 = {tuple(r.ravel()[:6]) for b in first for r in b[0]}
    images_2 = {tuple(r.ravel()[:6]) for b in second for r in b[0]}
    assert images_1 == images_2 and len(images_1) == 5


def test_files_dataset_random_resized_crop(tmp_path):
    # A left-to-right ramp: a crop, resized back, keeps the ramp's direction but not
    # (usually) its full range.
    ramp = np.tile(np.linspace(0, 255, 64, dtype=np.float32)[None, :, None], (64, 1, 3))
    Image.fromarray(ramp.astype(np.uint8)).save(tmp_path / "ramp.png")
    paths = [tmp_path / "ramp.png"] * 8
    ds = tf_files_dataset(
        paths, None, image_size=16, batch_size=8, random_resized_crop=True, seed=1
    )
    batch = next(iter(ds)).numpy().astype(int)
    assert batch.shape == (8, 16, 16, 3)
    assert np.all(np.diff(batch[:, 8, :, 0], axis=1) >= -1)  # still increasing
    spans = batch[:, 8, -1, 0] - batch[:, 8, 0, 0]
    assert spans.min() < 200 and len(set(spans.tolist())) > 1  # crops differ


def test_random_resized_crop_keeps_static_shape(tmp_path):
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(tmp_path / "a.png")
    ds = tf_files_dataset([tmp_path / "a.png"], np.ones((1, 2)), image_size=16, augment=True,
                          random_resized_crop=True)  # fmt: skip
    assert tuple(ds.element_spec[0].shape) == (None, 16, 16, 3)
