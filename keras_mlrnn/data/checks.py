"""Checks of what reaches `fit`, `evaluate` and `predict`: labels and image ranges.

Every model of the zoo takes uint8-range images (`[0, 255]`, uint8 or float)
and multi-hot (or soft) labels in `[0, 1]`. `checked_input` applies the
checks on every input path Keras accepts, on the host, where the batches
are made, so the device step never waits for them:

- numpy (or any array) inputs are checked once, before training starts;
- a `keras.utils.PyDataset` or a Python generator is checked batch by batch
  as it is produced;
- a `tf.data.Dataset` gets an assertion in its own pipeline (`map`), and a
  failure is re-raised by `raise_clean_error` as a `ValueError`.

A label that is NaN, Inf, below 0 or above 1 and a float image outside
`[0, 255]` are errors. Float images whose maximum is at most 1 (the
`[0, 1]` convention of other libraries) are a warning, once per input:
the models would see them as nearly black images.

Example:
```python
import numpy as np
from keras_mlrnn.data.checks import label_problem
label_problem(np.array([[0.0, np.nan]]))   # 'labels contain NaN or Inf (first at image 0, class 1)'
```
"""

import inspect
import math
import warnings

import keras
import numpy as np

MARKER = "keras_mlrnn input check: "
UNIT_RANGE_WARNING = (
    "images are floats with a maximum of at most 1: the models take uint8-range images in "
    "[0, 255] (uint8 or float), so these look almost black to them. Multiply them by 255."
)


def label_problem(labels):
    """What is wrong with a label array (NaN/Inf, values outside [0, 1]), or None."""
    labels = np.asarray(labels, dtype=np.float64)
    bad = ~np.isfinite(labels)
    if bad.any():
        where = np.argwhere(bad)[0]
        return f"labels contain NaN or Inf (first at image {where[0]}, class {where[-1]})"
    bad = (labels < 0) | (labels > 1)
    if bad.any():
        where = tuple(np.argwhere(bad)[0])
        return (
            f"labels must lie in [0, 1]; image {where[0]} class {where[-1]} has {labels[where]:g}"
        )
    return None


def _float_range(images):
    """`(min, max)` of float images, or None for uint8 / integer images and empty ones."""
    images = np.asarray(images)
    if images.size == 0 or not np.issubdtype(images.dtype, np.floating):
        return None
    return float(np.min(images)), float(np.max(images))


def image_problem(images, value_range=None):
    """What is wrong with the value range of an image batch, or None (uint8 is always fine).

    `value_range`: the batch's `(min, max)` when the caller already has it.
    """
    value_range = value_range or _float_range(images)
    if value_range is None:
        return None
    low, high = value_range
    if not (math.isfinite(low) and math.isfinite(high)) or low < 0 or high > 255:
        dtype = np.asarray(images).dtype
        return f"images must be uint8, or float in [0, 255]; got {dtype} in [{low}, {high}]"
    return None


class _Checker:
    """Checks one batch at a time; warns about [0, 1] images once."""

    def __init__(self, where, image_shape):
        self.where = where
        self.image_shape = tuple(image_shape)
        self.warned = False

    def images(self, x):
        if isinstance(x, dict):
            x = x.get("images")
        if x is None or tuple(np.shape(x)[1:]) != self.image_shape:
            return  # feature maps from a feature cache, or a custom structure
        x = keras.ops.convert_to_numpy(x)
        value_range = _float_range(x)  # one pass over the batch serves both checks
        problem = image_problem(x, value_range)
        if problem:
            raise ValueError(f"{self.where}: {problem}.")
        if not self.warned and value_range is not None and value_range[1] <= 1.0:
            self.warned = True
            warnings.warn(f"{self.where}: {UNIT_RANGE_WARNING}", UserWarning, stacklevel=4)

    def labels(self, y):
        if y is None:
            return
        problem = label_problem(keras.ops.convert_to_numpy(y))
        if problem:
            raise ValueError(f"{self.where}: {problem}.")

    def batch(self, batch):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(batch)
        self.images(x)
        self.labels(y)
        return batch


class CheckedBatches(keras.utils.PyDataset):
    """A `PyDataset` that checks each batch of another one as it is produced."""

    def __init__(self, inner, checker):
        super().__init__(
            workers=inner.workers,
            use_multiprocessing=inner.use_multiprocessing,
            max_queue_size=inner.max_queue_size,
        )
        self.inner = inner
        self.checker = checker

    @property
    def num_batches(self):
        return self.inner.num_batches

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, index):
        return self.checker.batch(self.inner[index])

    def on_epoch_begin(self):
        self.inner.on_epoch_begin()

    def on_epoch_end(self):
        self.inner.on_epoch_end()


def is_tf_dataset(x):
    """Whether `x` is a `tf.data.Dataset` (told without importing TensorFlow)."""
    # Named by module, as Keras' own data adapters do, so TensorFlow is not
    # imported for inputs that are not tf.data.
    return any(
        cls.__module__.startswith("tensorflow") and cls.__name__ == "DatasetV2"
        for cls in type(x).__mro__
    )


def _checked_tf_dataset(ds, where, image_shape):
    import tensorflow as tf

    def check(*element):
        parts = element[0] if len(element) == 1 and isinstance(element[0], tuple) else element
        if len(parts) < 2:
            return element if len(element) > 1 else element[0]
        x, y = parts[0], parts[1]
        assertions = []
        y32 = tf.cast(y, tf.float32)
        assertions.append(
            tf.debugging.Assert(
                tf.reduce_all(tf.math.is_finite(y32)),
                [f"{MARKER}{where}: labels contain NaN or Inf."],
            )
        )
        assertions.append(
            tf.debugging.Assert(
                tf.reduce_all((y32 >= 0) & (y32 <= 1)),
                [f"{MARKER}{where}: labels must lie in [0, 1]."],
            )
        )
        if not isinstance(x, dict) and x.dtype.is_floating and tuple(x.shape[1:]) == image_shape:
            assertions.append(
                tf.debugging.Assert(
                    tf.reduce_all((x >= 0) & (x <= 255)),
                    [f"{MARKER}{where}: images must be uint8, or float in [0, 255]."],
                )
            )
        with tf.control_dependencies(assertions):
            y = tf.identity(y)
        return (x, y, *parts[2:])

    return ds.map(check)


def checked_input(x, y, where, image_shape):
    """`(x, y)` for `fit`/`evaluate`, checked (arrays) or wrapped to be checked per batch.

    Args:
        x: images (array), a `tf.data.Dataset`, a `PyDataset`, a generator
            or anything else Keras accepts (passed through unchecked).
        y: labels (array) or None.
        where: str. Named in the error (e.g. "OrderFreeRNN.fit").
        image_shape: `(S, S, 3)`: batches of another shape (cached feature
            maps) have their labels checked only.

    Raises:
        ValueError: naming `where` and the problem, for array inputs.
    """
    checker = _Checker(where, image_shape)
    if isinstance(x, keras.utils.PyDataset):
        return CheckedBatches(x, checker), y
    if inspect.isgenerator(x):
        return (checker.batch(batch) for batch in x), y
    if is_tf_dataset(x):
        return _checked_tf_dataset(x, where, tuple(image_shape)), y
    if y is not None:
        checker.labels(y)
    if isinstance(x, np.ndarray) or keras.ops.is_tensor(x):
        _check_batch_shape(x, where, tuple(image_shape))
        checker.images(x)
    return x, y


def _check_batch_shape(x, where, image_shape):
    """A ValueError for an array that is one image, a grayscale batch, or empty."""
    shape = tuple(np.shape(x))
    size = f"({', '.join(str(s) for s in image_shape)})"
    if shape == image_shape:
        raise ValueError(
            f"{where}: got one image of shape {size}; pass a batch (1, ...): image[None]."
        )
    if len(shape) == 3 and shape[1:] == image_shape[:2]:
        raise ValueError(
            f"{where}: got {shape}, a batch of grayscale images; pass RGB (N, {image_shape[0]}, "
            f"{image_shape[1]}, 3), e.g. np.repeat(images[..., None], 3, axis=-1)."
        )
    if shape and shape[0] == 0:
        raise ValueError(f"{where}: got no images (an empty batch of shape {shape}).")


def raise_clean_error(error):
    """Re-raises an input-check failure from inside tf.data as a plain `ValueError`."""
    text = str(error)
    if MARKER not in text:
        return
    message = text.split(MARKER, 1)[1].splitlines()[0].strip(" \"'[]")
    raise ValueError(message) from None
