"""Train-time augmentation of `(uint8 images, multi-hot labels)` batches, from Keras core layers.

`augment` names one of `AUGMENTATIONS` (`True` means "flip", `False` or
None none). Every one starts with a random horizontal flip (and, in the
file pipelines, a random resized crop per image):
- "flip": that alone (the default of `keras-mlrnn train`);
- "randaugment": then `keras.layers.RandAugment` (two random operations of
  strength 0.5 per image, pixel values 0-255); labels unchanged;
- "mixup": then `keras.layers.MixUp` (alpha 0.2): image i becomes
  `w x_i + (1 - w) x_j` for a partner j of the batch, and its labels
  `w y_i + (1 - w) y_j`;
- "cutmix": then `keras.layers.CutMix`: a box of a partner image is pasted
  into image i, and the labels are weighted by area, `w y_i + (1 - w) y_j`
  with `w` the fraction of pixels left from image i.

Mixed labels are the weighted sum, not the max (union) of the two label
sets: with a sigmoid and BCE per class, the weighted sum is the expected
label of the mixed image, while the max would demand full confidence in a
class whose object is a faint 10% blend or a corner cut away. It is also
what the Keras layers compute.

A feature cache (`keras_mlrnn.training.feature_cache`) holds fixed backbone maps:
of each image and its mirror for "flip", of a few RandAugment views per
image for "randaugment" (one drawn per image and epoch); mixup and cutmix
blend two images anew every step and need the image pipeline (a run
refuses the combination).

Example:
```python
import numpy as np
from keras_mlrnn.data.augment import batch_augmentation
augment = batch_augmentation("mixup", seed=0)
x = np.random.default_rng(0).uniform(0, 255, (8, 32, 32, 3)).astype("float32")
y = np.eye(8, dtype="float32")
x_mixed, y_mixed = augment(x, y)   # each row of y_mixed sums to 1
```
"""

import keras

from keras_mlrnn.catalog import AUGMENTATIONS

MIXING = ("mixup", "cutmix")  # these change the labels too


def check_augmentation(augment):
    """The augmentation's name (None for none); a ValueError naming the choices otherwise."""
    if augment is True:
        return "flip"
    if augment is False or augment is None or augment == "none":
        return None
    if augment not in AUGMENTATIONS:
        raise ValueError(
            f"augment={augment!r} is not one of {', '.join(AUGMENTATIONS)} (or False / 'none')."
        )
    return augment


def batch_augmentation(augment, seed=None):
    """A function `(images, labels or None) -> (images, labels)` for one batch.

    Images are float32 `(B, H, W, 3)` in [0, 255] in and out (the callers
    cast from and back to uint8 with their own ops); labels float32 `(B, C)`.
    The Keras layers run TensorFlow ops inside a tf.data map and the
    backend's ops on numpy batches. Returns None when `augment` names no
    augmentation.
    """
    augment = check_augmentation(augment)
    if augment is None:
        return None
    flip = keras.layers.RandomFlip("horizontal", seed=seed)
    extra = None
    if augment == "randaugment":
        extra = keras.layers.RandAugment(value_range=(0, 255), seed=seed)
    elif augment == "mixup":
        extra = keras.layers.MixUp(alpha=0.2, seed=seed)
    elif augment == "cutmix":
        extra = keras.layers.CutMix(seed=seed)

    def apply(images, labels=None):
        x = flip(images, training=True)
        if augment in MIXING:
            if labels is None:
                raise ValueError(f"augment={augment!r} mixes labels: the batches need labels.")
            mixed = extra({"images": x, "labels": labels}, training=True)
            return mixed["images"], mixed["labels"]
        if extra is not None:
            x = extra(x, training=True)
        return x, labels

    return apply
