"""Input pipelines yielding `(uint8 images, float32 multi-hot)` batches.

Two paths with one signature:
- `tf.data` (`tf_dataset`, `tf_files_dataset`): parallel decode, resize,
  augmentation from `keras.layers`, shuffle, batch, prefetch. TensorFlow is
  imported lazily, only when these are called.
- numpy (`NumpyBatches`, a `keras.utils.PyDataset`): no TensorFlow at all,
  so a JAX-only machine trains too.

`make_dataset` picks tf.data when TensorFlow is installed, else numpy.
`tf_files_dataset` passes 60 lines with its argument docs (about 50 of
code: read, check, decode, resize, augment, batch, in that order).

Example:
```python
from keras_mlrnn.data import load_scenes, make_dataset
x, y = load_scenes("train", num_images=256)
ds = make_dataset(x, y, batch_size=32, shuffle=True, augment=True, seed=0)
```
"""

import importlib.util
import math

import keras
import numpy as np

from keras_mlrnn.data.augment import batch_augmentation, check_augmentation
from keras_mlrnn.data.checks import image_problem, label_problem


def validate_arrays(images, labels, where="arrays"):
    """Checks images `(N, H, W, 3)` in [0, 255] and multi-hot labels `(N, C)`.

    Raises `ValueError` naming the problem (shape, NaN, values outside
    [0, 1], empty split) and `where` the data came from.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"{where}: images must have shape (N, H, W, 3); got {images.shape}.")
    if len(images) == 0:
        raise ValueError(f"{where}: the split is empty (0 images).")
    if images.dtype != np.uint8:
        if np.issubdtype(images.dtype, np.floating):
            problem = image_problem(images)
        else:
            problem = (
                f"images must be uint8, or float in [0, 255]; got {images.dtype} "
                f"in [{images.min()}, {images.max()}]"
            )
        if problem:
            raise ValueError(f"{where}: {problem}.")
    if labels is None:
        return images, None
    labels = np.asarray(labels, dtype=np.float32)
    if labels.ndim != 2 or len(labels) != len(images):
        raise ValueError(
            f"{where}: labels must have shape (N, C) with N = {len(images)} images; "
            f"got {labels.shape}."
        )
    problem = label_problem(labels)
    if problem:
        raise ValueError(f"{where}: {problem}.")
    return images, labels


def has_tensorflow():
    """True when TensorFlow can be imported (the tf.data path is available)."""
    return importlib.util.find_spec("tensorflow") is not None


class NumpyBatches(keras.utils.PyDataset):
    """A TensorFlow-free batch source over numpy arrays, with shuffle and augmentation.

    Args:
        images: uint8 array `(N, H, W, 3)`.
        labels: float array `(N, C)` or None (inference).
        batch_size: int. Defaults to 32.
        shuffle: bool. Reshuffle every epoch. Defaults to False.
        augment: False, True ("flip") or a name of `data.augment.AUGMENTATIONS`.
        seed: int or None. Seed for shuffling and flips. Defaults to None.
    """

    def __init__(self, images, labels=None, batch_size=32, shuffle=False, augment=False, seed=None):
        super().__init__()
        self.images, self.labels = validate_arrays(images, labels)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.augment = check_augmentation(augment)
        # flips alone are drawn here; the other augmentations run Keras layers
        self.layers = None if self.augment in (None, "flip") else batch_augmentation(augment, seed)
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(len(self.images))
        self.on_epoch_end()

    def __len__(self):
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, index):
        idx = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        x = self.images[idx]
        y = None if self.labels is None else self.labels[idx]
        if self.augment == "flip":
            flip = self.rng.random(len(idx)) < 0.5
            x = np.where(flip[:, None, None, None], x[:, :, ::-1], x)
        elif self.layers is not None:
            x, y = self.layers(x.astype(np.float32), y)
            x = np.clip(np.round(keras.ops.convert_to_numpy(x)), 0, 255).astype(np.uint8)
            y = None if y is None else keras.ops.convert_to_numpy(y).astype(np.float32)
        return x if y is None else (x, y)

    def on_epoch_end(self):
        if self.shuffle:
            self.order = self.rng.permutation(len(self.images))


def _batch_augment_prefetch(ds, batch_size, augment, seed):
    """Batches a tf.data set of (image[, labels]), augments each batch (if asked), prefetches."""
    import tensorflow as tf

    ds = ds.batch(batch_size)
    augmentation = batch_augmentation(augment, seed)
    if augmentation is not None:

        def augment_batch(x, y=None):
            images, labels = augmentation(tf.cast(x, "float32"), y)
            images = tf.cast(tf.clip_by_value(tf.round(images), 0, 255), x.dtype)
            return images if y is None else (images, labels)

        ds = ds.map(augment_batch, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def tf_dataset(images, labels=None, batch_size=32, shuffle=False, augment=False, seed=None):
    """A `tf.data.Dataset` over in-memory arrays: shuffle, flip, batch, prefetch.

    Args:
        images: uint8 array `(N, H, W, 3)`.
        labels: float array `(N, C)` or None.
        batch_size: int. Defaults to 32.
        shuffle: bool. Defaults to False.
        augment: False, True ("flip") or a name of `keras_mlrnn.data.augment.AUGMENTATIONS`.
        seed: int or None. Makes shuffling and augmentation repeatable.
    """
    import tensorflow as tf

    images, labels = validate_arrays(images, labels)
    data = images if labels is None else (images, labels)
    ds = tf.data.Dataset.from_tensor_slices(data)
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    return _batch_augment_prefetch(ds, batch_size, augment, seed)


#: How `decode_photo` decodes: a feature cache made by another decoder is recomputed.
DECODER = "jpeg-integer-accurate"


def decode_photo(contents):
    """An image file's bytes -> uint8 `(H, W, 3)`: JPEG with the accurate integer DCT.

    `tf.io.decode_image` decodes JPEG with libjpeg's fast DCT (pixels up to
    7 levels off); Pillow, and so `read_image`, uses the accurate one. Both
    roads decode JPEG the accurate way, other formats with `decode_image`.
    """
    import tensorflow as tf

    return tf.cond(
        tf.io.is_jpeg(contents),
        lambda: tf.io.decode_jpeg(contents, channels=3, dct_method="INTEGER_ACCURATE"),
        lambda: tf.io.decode_image(contents, channels=3, expand_animations=False),
    )


def resize_image(image, image_size):
    """A decoded image (H, W, 3) resized (antialiased) to uint8 `(image_size, image_size, 3)`."""
    import tensorflow as tf

    image = tf.image.resize(image, (image_size, image_size), antialias=True)
    image = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
    # A crop's dynamic size hides the channel count: state the static shape.
    return tf.ensure_shape(image, (image_size, image_size, 3))


def random_resized_crop_image(image, image_size, seed=None):
    """A random crop of 25-100% of the area, aspect 3/4-4/3, resized (Inception style)."""
    import tensorflow as tf

    begin, size, _ = tf.image.sample_distorted_bounding_box(
        tf.shape(image),
        bounding_boxes=tf.zeros((1, 0, 4)),
        seed=seed,
        min_object_covered=0.0,
        aspect_ratio_range=(3 / 4, 4 / 3),
        area_range=(0.25, 1.0),
        use_image_if_no_bounding_boxes=True,
    )
    return resize_image(tf.slice(image, begin, size), image_size)


def upright(image, orientation):
    """A decoded image `(H, W, 3)` turned by its EXIF orientation (1-8), in TensorFlow.

    The same turns as Pillow's `ImageOps.exif_transpose`: 2 mirror, 3 half
    turn, 4 flip, 5 transpose, 6 quarter turn clockwise, 7 transverse, 8
    quarter turn counter-clockwise.
    """
    import tensorflow as tf

    def transpose():
        return tf.transpose(image, [1, 0, 2])

    turns = [
        lambda: image,
        lambda: tf.image.flip_left_right(image),
        lambda: tf.image.rot90(image, k=2),
        lambda: tf.image.flip_up_down(image),
        transpose,
        lambda: tf.image.rot90(image, k=3),
        lambda: tf.image.rot90(transpose(), k=2),
        lambda: tf.image.rot90(image, k=1),
    ]
    return tf.switch_case(tf.cast(orientation, tf.int32) - 1, turns)


def tf_files_dataset(
    paths,
    labels=None,
    image_size=224,
    batch_size=32,
    shuffle=False,
    augment=False,
    seed=None,
    cache=None,
    shuffle_buffer=2048,
    random_resized_crop=False,
):
    """A `tf.data.Dataset` decoding image files (JPEG, PNG, BMP, GIF) in parallel.

    Images are decoded to RGB (grayscale and RGBA converted), turned upright
    by their EXIF orientation (`upright`), resized to `image_size` x
    `image_size` and yielded as uint8.

    Args:
        paths: list of str. Image files.
        labels: float array `(N, C)` or None.
        image_size: int. Output side. Defaults to 224.
        batch_size: int. Defaults to 32.
        shuffle: bool. Defaults to False.
        augment: False, True ("flip") or a name of `data.augment.AUGMENTATIONS`.
        seed: int or None.
        cache: None, "memory" or a file path prefix: keep the decoded, resized
            images so later epochs skip decoding. Defaults to None.
        shuffle_buffer: int. With `cache`, the decoded images' shuffle buffer (2048).
        random_resized_crop: bool. Inception-style crops (25-100% of the area,
            aspect 3/4-4/3; with `cache`, of the cached image). Defaults to False.
    """
    import tensorflow as tf

    paths = [str(p) for p in paths]
    if not paths:
        raise ValueError("tf_files_dataset: the split is empty (0 files).")
    if labels is not None:
        _, labels = validate_arrays(np.zeros((len(paths), 1, 1, 3), np.uint8), labels, "files")
    ds, turn = _file_slices(paths, labels)
    if shuffle and cache is None:  # shuffling paths is free; decoded images are not
        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    crop_after_cache = random_resized_crop and cache is not None
    crop_first = random_resized_crop and not crop_after_cache
    ds = ds.map(
        _file_loader(image_size, seed, turn, crop_first), num_parallel_calls=tf.data.AUTOTUNE
    )
    if cache is not None:
        ds = ds.cache("" if cache == "memory" else str(cache))
        if shuffle:
            buffer = min(len(paths), shuffle_buffer)
            ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
        if crop_after_cache:

            def crop(x, *y):
                x = random_resized_crop_image(x, image_size, seed)
                return (x, *y) if y else x

            ds = ds.map(crop, num_parallel_calls=tf.data.AUTOTUNE)
    return _batch_augment_prefetch(ds, batch_size, augment, seed)


def _file_slices(paths, labels):
    """`(dataset of (path[, orientation][, labels]), turn)`: orientations where a file has one."""
    import tensorflow as tf

    from keras_mlrnn.data.images import exif_orientation

    orientations = np.array([exif_orientation(p) for p in paths], dtype=np.int32)
    turn = bool((orientations != 1).any())  # most data sets: no EXIF turns, no extra op
    columns = (paths, orientations) if turn else (paths,)
    data = columns if labels is None else (*columns, labels)
    return tf.data.Dataset.from_tensor_slices(data if len(data) > 1 else paths), turn


def _file_loader(image_size, seed, turn, crop):
    """The map from a `_file_slices` element to a decoded, upright, resized (or cropped) image."""
    import tensorflow as tf

    def load(path, *rest):
        image = decode_photo(tf.io.read_file(path))
        if turn:
            orientation, *rest = rest
            image = upright(image, orientation)
        if crop:
            image = random_resized_crop_image(image, image_size, seed)
        else:
            image = resize_image(image, image_size)
        return (image, *rest) if rest else image

    return load


def make_dataset(
    images, labels=None, batch_size=32, shuffle=False, augment=False, seed=None, use_tf=None
):
    """The batch source for in-memory arrays: tf.data if available, else numpy.

    Args:
        images: uint8 array `(N, H, W, 3)`.
        labels: float array `(N, C)` or None.
        batch_size: int. Defaults to 32.
        shuffle: bool. Defaults to False.
        augment: False, True ("flip") or a name of `data.augment.AUGMENTATIONS`.
        seed: int or None.
        use_tf: bool or None. Force (True) or avoid (False) tf.data; None
            uses tf.data when TensorFlow is installed.
    """
    if use_tf is None:
        use_tf = has_tensorflow()
    if use_tf:
        return tf_dataset(images, labels, batch_size, shuffle, augment, seed)
    return NumpyBatches(images, labels, batch_size, shuffle, augment, seed)
