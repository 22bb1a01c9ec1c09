"""TensorFlow Datasets as a source: `voc/2007` and `coco/2017` as `(uint8 images, multi-hot)`.

`load_tfds(name, split)` reads a TFDS split's labels once (images not
decoded) and returns a `TfdsImages` whose `.dataset(image_size,
batch_size, shuffle, augment, seed)` is the same pipeline as the file
loaders': decode, resize (random-resized crops and flips when augmenting),
batch, prefetch. Labels:

- `voc/2007`: positives from `labels_no_difficult`; a class in `labels`
  but not in `labels_no_difficult` (present only through "difficult"
  objects) is masked, as the devkit does and as `load_voc2007` does.
- `coco/2017`: multi-hot of `objects/label` (80 classes, TFDS order).

tensorflow-datasets is an optional extra (`pip install
"keras-mlrnn[tfds]"`); TFDS downloads and prepares a data set the first time
(`download=True`, internet needed) into `data_dir` (default
`~/tensorflow_datasets`).

Example:
```python
from keras_mlrnn.data.tfds import load_tfds
train = load_tfds("voc/2007", "train")
ds = train.dataset(image_size=224, batch_size=32, shuffle=True, augment=True)
```
"""

import numpy as np

TFDS_DATASETS = ("voc/2007", "coco/2017")
# The CLI's splits: (train, val, test). COCO's test labels are not public.
TFDS_SPLITS = {
    "voc/2007": ("train", "validation", "test"),
    "coco/2017": ("train[:95%]", "train[95%:]", "validation"),
}


def _import_tfds():
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:
        raise ImportError(
            "TFDS data sets need tensorflow-datasets: pip install 'keras-mlrnn[tfds]'."
        ) from e
    return tfds


def _check_name(name):
    if name not in TFDS_DATASETS:
        raise ValueError(f"Unsupported TFDS data set {name!r}; supported: {TFDS_DATASETS}.")


class TfdsImages:
    """The images and multi-hot labels of one TFDS split.

    Attributes:
        name: str. The TFDS name, e.g. "voc/2007".
        split: str. The TFDS split, e.g. "train" or "train[:95%]".
        labels: float32 `(N, C)`.
        mask: float32 `(N, C)` or None (VOC "difficult"-only labels are 0).
        class_names: list of C str.
    """

    def __init__(self, name, split, labels, mask, class_names, data_dir=None):
        self.name = name
        self.split = split
        self.labels = labels
        self.mask = mask
        self.class_names = class_names
        self.data_dir = data_dir
        if len(labels) == 0:
            raise ValueError(f"TFDS {name} split {split!r} is empty (0 images).")

    @property
    def identity(self):
        """A string naming exactly these images (for caches)."""
        return f"tfds:{self.name}:{self.split}:{len(self.labels)}"

    def dataset(self, image_size=224, batch_size=32, shuffle=False, augment=False, seed=None):
        """A tf.data pipeline of `(uint8 images, float32 labels)`, in the split's order."""
        import tensorflow as tf

        from keras_mlrnn.data.pipeline import (
            _batch_augment_prefetch,
            random_resized_crop_image,
            resize_image,
        )

        tfds = _import_tfds()
        images = tfds.load(
            self.name, split=self.split, data_dir=self.data_dir, shuffle_files=False
        ).map(lambda example: example["image"])
        labels = tf.data.Dataset.from_tensor_slices(self.labels)
        ds = tf.data.Dataset.zip((images, labels))
        if shuffle:
            ds = ds.shuffle(min(len(self.labels), 4096), seed=seed, reshuffle_each_iteration=True)

        def load(image, y):
            if augment:
                return random_resized_crop_image(image, image_size, seed), y
            return resize_image(image, image_size), y

        ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE)
        return _batch_augment_prefetch(ds, batch_size, augment, seed)


def load_tfds(name, split, data_dir=None, download=False):
    """Loads a TFDS split's labels; the images stay in TFDS until `.dataset()` reads them.

    Args:
        name: str. "voc/2007" or "coco/2017".
        split: str. A TFDS split ("train", "validation", "test", or a
            slice such as "train[:95%]").
        data_dir: str or None. TFDS' data folder. Defaults to TFDS' own.
        download: bool. Download and prepare the data set if it is not in
            `data_dir` yet (internet needed). Defaults to False.

    Returns:
        `TfdsImages`.
    """
    _check_name(name)
    tfds = _import_tfds()
    builder = tfds.builder(name, data_dir=data_dir)
    if download:
        builder.download_and_prepare()
    ds = builder.as_dataset(
        split=split, shuffle_files=False, decoders={"image": tfds.decode.SkipDecoding()}
    )
    if name == "voc/2007":
        class_names = list(builder.info.features["labels"].feature.names)
        keys = ("labels_no_difficult", "labels")
    else:
        from keras_mlrnn.data.coco import COCO_CLASSES

        class_names = list(builder.info.features["objects"]["label"].names)
        if class_names == [str(i) for i in range(80)]:  # no prepared metadata: COCO's own
            class_names = list(COCO_CLASSES)
        keys = (None, None)
    count = len(class_names)
    positives, anywhere = [], []
    for example in ds.as_numpy_iterator():
        if name == "voc/2007":
            labels, every = example[keys[0]], example[keys[1]]
        else:
            labels = every = example["objects"]["label"]
        positives.append(np.bincount(labels, minlength=count) > 0)
        anywhere.append(np.bincount(every, minlength=count) > 0)
    labels = np.array(positives, dtype=np.float32).reshape(-1, count)
    mask = None
    if name == "voc/2007":
        difficult_only = np.array(anywhere, dtype=np.float32).reshape(-1, count) * (1 - labels)
        mask = 1.0 - difficult_only
    return TfdsImages(name, split, labels, mask, class_names, data_dir)
