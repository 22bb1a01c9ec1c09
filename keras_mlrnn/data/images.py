"""Reading image files for prediction: any mode Pillow opens, to uint8 RGB at one size.

Every reader turns a photo upright by its EXIF orientation (`exif_orientation`):
`read_image` here, and the tf.data pipeline (`keras_mlrnn.data.pipeline`).

The training pipeline decodes with tf.data; `read_images` is the
TensorFlow-free path used by `keras-mlrnn predict` and `keras_mlrnn.visualization.visualize`.

Example:
```python
from keras_mlrnn.data.images import read_images
images = read_images(["cat.jpg", "street.png"], size=224)   # (2, 224, 224, 3) uint8
```
"""

import os

import numpy as np

from keras_mlrnn.data.resize import resize_antialiased


def to_rgb8(image):
    """A `PIL.Image` in any mode -> uint8 `(H, W, 3)`.

    Grayscale and palette images are expanded to RGB, RGBA drops alpha, and
    16-bit / 32-bit integer images are scaled from their full range to 0..255
    (converted, not rejected).
    """
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        gray = np.clip(np.round(values / top * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    if image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        gray = np.clip(np.round(values * (255.0 if values.max() <= 1.0 else 1.0)), 0, 255)
        return np.repeat(gray.astype(np.uint8)[..., None], 3, axis=-1)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def read_image(path, size=None):
    """Reads one image file as uint8 RGB, resized to `size` x `size` when given.

    Args:
        path: str. Any format Pillow reads (JPEG, PNG, BMP, GIF, TIFF, WebP).
        size: int or None. Output side; None keeps the original size. The
            resize is the tf.data pipeline's (`data.resize.resize_antialiased`),
            and JPEGs decode with libjpeg's accurate DCT as there, so a photo
            gives the model the same pixels on every road.

    Returns:
        uint8 numpy array `(size, size, 3)` (or `(H, W, 3)`).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a readable image (corrupt or truncated);
            the message names the file.
    """
    from PIL import Image

    if not os.path.isfile(path):
        raise FileNotFoundError(f"Image file not found: {path}")
    from PIL import ImageOps

    try:
        with Image.open(path) as image:
            image.load()  # decodes now, so a truncated file fails here
            rgb = to_rgb8(ImageOps.exif_transpose(image))  # upright, as the camera meant
    except Image.DecompressionBombError as e:
        raise ValueError(f"Cannot read image {path}: {e}") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ValueError(f"Cannot read image {path}: corrupt or truncated ({e}).") from e
    if size is not None and rgb.shape[:2] != (size, size):
        rgb = resize_antialiased(rgb, size)
    return rgb


#: EXIF's Orientation tag.
ORIENTATION_TAG = 0x0112


def exif_orientation(path):
    """The EXIF orientation (1-8) of an image file; 1 (upright) when it has none.

    Reads the header only. A phone photo stored sideways says 6 or 8: the
    pixels must be turned before the model sees them (`read_image` and the
    tf.data pipeline both do).
    """
    from PIL import Image

    try:
        with Image.open(path) as image:
            value = int(image.getexif().get(ORIENTATION_TAG, 1))
    except Exception:  # unreadable files are named by the image checks, not here
        return 1
    return value if 1 <= value <= 8 else 1


def header_problem(path):
    """A cheap check of one image file: what is wrong with it, or None.

    Reads the header with Pillow (format, size), checks PNG chunks and their
    checksums (`verify`, no decompression) and that a JPEG ends with its
    end-of-image marker (a cut-off download does not). It does not decode
    the pixels: a file can pass and still fail to decode (`read_image`
    finds those). A format the training pipeline cannot decode (a TIFF) is
    a problem too (`pipeline_format_problem`).
    """
    from PIL import Image

    try:
        with Image.open(path) as image:
            kind, (width, height) = image.format, image.size
            image.verify()
    except FileNotFoundError:
        return "the file does not exist"
    except Exception as e:  # Pillow raises many types for bad files
        return f"not a readable image ({type(e).__name__}: {e})"
    if kind not in PIPELINE_FORMATS:
        return _format_problem(kind)
    if width < 1 or height < 1:
        return f"{kind} of size {width}x{height}"
    if kind == "JPEG":
        with open(path, "rb") as f:
            f.seek(max(os.path.getsize(path) - 1024, 0))
            if b"\xff\xd9" not in f.read():
                return "truncated JPEG (no end-of-image marker)"
    return None


#: The formats the training pipeline (`tf.io.decode_image`) decodes.
PIPELINE_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "WEBP")


def pipeline_format_problem(path):
    """What keeps tf.data from decoding a file that Pillow reads (a TIFF), or None.

    `read_image` (prediction) reads every format Pillow knows; training and
    evaluation decode with TensorFlow, which takes only `PIPELINE_FORMATS`.
    """
    from PIL import Image

    try:
        with Image.open(path) as image:
            kind = image.format
    except Exception:  # unreadable: header_problem / read_image name it
        return None
    return None if kind in PIPELINE_FORMATS else _format_problem(kind)


def _format_problem(kind):
    return (
        f"a {kind} file, which the training pipeline (tf.data) cannot decode: convert it to "
        "PNG or JPEG"
    )


def read_images(paths, size):
    """Reads several image files into one uint8 batch `(N, size, size, 3)`."""
    if not paths:
        raise ValueError("No image files given.")
    return np.stack([read_image(p, size) for p in paths])
