"""One photo, one set of pixels: `read_image` (no TensorFlow) against the tf.data pipeline."""

import numpy as np
import pytest
from PIL import Image

from keras_mlrnn.data.images import read_image
from keras_mlrnn.data.resize import resize_antialiased, span_weights


def test_span_weights_by_hand():
    # 4 -> 2: output pixel 0 samples at 1.0 with the kernel stretched to 2 pixels:
    # input pixels 0, 1, 2 at distances 0.5, 0.5, 1.5 weigh 0.75, 0.75, 0.25.
    sources, weights = span_weights(4, 2)
    row = dict(zip(sources[0].tolist(), weights[0].tolist()))
    assert row[0] == pytest.approx(0.75 / 1.75)
    assert row[1] == pytest.approx(0.75 / 1.75)
    assert row[2] == pytest.approx(0.25 / 1.75)
    # 2 -> 4 (enlarging, kernel not stretched): output 1 samples at 0.75,
    # between pixels 0 and 1 at distances 0.25 and 0.75.
    sources, weights = span_weights(2, 4)
    row = {s: w for s, w in zip(sources[1].tolist(), weights[1].tolist()) if w}
    assert row == pytest.approx({0: 0.75, 1: 0.25})


def test_resize_by_hand():
    image = np.zeros((4, 4, 1), np.uint8)
    image[:, 2:] = 140  # the right half bright
    # Columns 4 -> 2: the left output pixel weighs pixel 2 by 0.25 / 1.75.
    np.testing.assert_array_equal(resize_antialiased(image, 2)[..., 0], [[20, 120]] * 2)


@pytest.mark.parametrize(
    "shape, side", [((375, 500), 224), ((256, 341), 448), ((100, 80), 224), ((7, 5), 3)]
)
def test_resize_gives_tensorflows_pixels(shape, side):
    import tensorflow as tf

    image = np.random.default_rng(side).integers(0, 256, (*shape, 3), dtype=np.uint8)
    expected = tf.image.resize(image, (side, side), antialias=True).numpy()
    expected = np.clip(np.round(expected), 0, 255).astype(int)
    difference = np.abs(resize_antialiased(image, side).astype(int) - expected)
    assert difference.max() <= 1  # float sums in another order: a rare .5 rounds the other way
    assert (difference > 0).mean() < 1e-3


def _photo(path):
    """A JPEG with smooth regions and edges, where the fast and accurate DCT differ."""
    y, x = np.mgrid[0:320, 0:320]
    pixels = np.stack([x * 0.6, y * 0.8, (x + y) % 97 * 2.5], axis=-1)
    pixels[100:180, 150:260] = [230, 20, 40]
    pixels += np.random.default_rng(0).normal(0, 12, pixels.shape)
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=90)
    return str(path)


def _pipeline_pixels(paths, side):
    from keras_mlrnn.data.image_stream import image_stream
    from keras_mlrnn.data.pipeline import tf_files_dataset

    training = next(iter(tf_files_dataset(paths, image_size=side, batch_size=len(paths))))
    labelling, _ = next(image_stream(paths, side, batch_size=len(paths)))
    return training.numpy().astype(int), labelling.astype(int)


def test_predict_reads_the_pixels_training_reads(tmp_path):
    path = _photo(tmp_path / "photo.jpg")
    # At the photo's own size (no resize), Pillow's decode (libjpeg, accurate DCT) is the
    # pipeline's, exactly; tf.io.decode_image's fast DCT was up to 7 levels off.
    with Image.open(path) as image:
        decoded = np.asarray(image.convert("RGB"))
    for pixels in _pipeline_pixels([path], 320):
        np.testing.assert_array_equal(pixels[0], decoded)
    for side in (224, 448):
        training, labelling = _pipeline_pixels([path], side)
        np.testing.assert_array_equal(training, labelling)
        difference = np.abs(read_image(path, side).astype(int) - training[0])
        assert difference.max() <= 1 and (difference > 0).mean() < 1e-3


def test_real_photos_read_alike(shared_dir):
    import glob
    import os

    folder = os.path.join(shared_dir, "data", "voc2007", "VOCdevkit", "VOC2007", "JPEGImages")
    photos = sorted(glob.glob(os.path.join(folder, "*.jpg")))[:8]
    training, _ = _pipeline_pixels(photos, 224)
    for photo, pixels in zip(photos, training):
        difference = np.abs(read_image(photo, 224).astype(int) - pixels)
        assert difference.max() <= 1 and (difference > 0).mean() < 1e-3, photo
