"""A stream of image files for labelling: parallel decode, EXIF turn, resize, in batches.

`image_stream(paths, image_size, batch_size)` is a `tf.data` pipeline (the
decoding of training: `pipeline.decode_photo`, the EXIF orientation applied,
antialiased resize to `image_size`, uint8) that yields `(images, indices)`
batches in input order, `indices` the positions in `paths` of the images
of the batch. A file that cannot be read or decoded is left out instead of
stopping the stream: its index is missing from every batch, so the caller
knows which ones failed. Memory stays bounded by the prefetched batches,
whatever the number of paths. TensorFlow is imported when it is called.

Example:
```python
from keras_mlrnn.data.image_stream import image_stream
for images, indices in image_stream(paths, 224, 32):
    ...  # images (b, 224, 224, 3) uint8; paths[i] for i in indices
```
"""

import numpy as np


def _orientation(path):
    from keras_mlrnn.data.images import exif_orientation

    try:
        return np.int32(exif_orientation(path.decode("utf-8")))
    except (OSError, ValueError):  # unreadable: the decode step fails and names it
        return np.int32(1)


def image_stream(paths, image_size, batch_size=32):
    """`(uint8 images (b, S, S, 3), int64 indices (b,))` batches of the readable files.

    Args:
        paths: list of str. Image files (JPEG, PNG, BMP, GIF: what tf.data decodes).
        image_size: int. Output side S.
        batch_size: int. Images per batch (the last may be smaller).

    Returns:
        an iterator of numpy batches.
    """
    import tensorflow as tf

    from keras_mlrnn.data.pipeline import decode_photo, resize_image, upright

    def load(path, index):
        image = decode_photo(tf.io.read_file(path))
        orientation = tf.numpy_function(_orientation, [path], tf.int32, stateful=False)
        image = upright(image, orientation)
        return resize_image(image, image_size), index

    indices = np.arange(len(paths), dtype=np.int64)
    ds = tf.data.Dataset.from_tensor_slices((list(paths), indices))
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.ignore_errors()  # an unreadable file drops out; its index tells which
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE).as_numpy_iterator()
