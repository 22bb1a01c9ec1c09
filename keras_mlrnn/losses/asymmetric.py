"""`AsymmetricLoss` (ASL; Ridnik et al., ICCV 2021) and the per-class loss a head is trained with.

For a logit `z`, `p = sigmoid(z)` and a target `y` in {0, 1}:

    L+ = (1 - p)^gamma_pos * log(p)
    L- = p_m^gamma_neg * log(1 - p_m),   p_m = max(p - clip, 0)
    loss = -(y * L+ + (1 - y) * L-)

(the paper's eqs. 1-2 with its probability shifting, eq. 6). Easy
negatives are down-weighted by the focusing term `p_m^gamma_neg`, and a
negative whose probability is below `clip` costs nothing: the imbalance of
many negatives per image against a few positives. With
`gamma_neg = gamma_pos = clip = 0` it is the sigmoid binary cross-entropy.
The paper's setting for COCO and VOC: `gamma_neg=4, gamma_pos=0, clip=0.05`.

Example:
```python
import numpy as np
from keras_mlrnn.losses import AsymmetricLoss
loss = AsymmetricLoss()
y = np.array([[1.0, 0.0, 0.0]])
logits = np.array([[2.0, -3.0, 0.5]])
float(loss(y, logits))   # mean over classes, then over the batch
```
"""

import keras
from keras import ops

CLASSIFICATION_LOSSES = ("bce", "asl")


@keras.saving.register_keras_serializable(package="keras_mlrnn")
class AsymmetricLoss(keras.losses.Loss):
    """Asymmetric loss on per-class sigmoid logits: mean over classes per image.

    Args:
        gamma_neg: float. Focusing exponent of the negatives. Defaults to 4.
        gamma_pos: float. Focusing exponent of the positives. Defaults to 0.
        clip: float in [0, 1). Probability margin shifted off the negatives.
            Defaults to 0.05.
        reduction: Keras reduction. Defaults to "sum_over_batch_size".
        name: str. Defaults to "asymmetric_loss".

    Call arguments:
        y_true: `(B, C)` multi-hot targets.
        y_pred: `(B, C)` logits.

    Reference: Ridnik et al., "Asymmetric Loss For Multi-Label
    Classification", ICCV 2021.
    """

    def __init__(
        self,
        gamma_neg=4.0,
        gamma_pos=0.0,
        clip=0.05,
        reduction="sum_over_batch_size",
        name="asymmetric_loss",
    ):
        super().__init__(reduction=reduction, name=name, dtype="float32")
        if float(gamma_neg) < 0 or float(gamma_pos) < 0:
            raise ValueError(f"gamma_neg and gamma_pos must be >= 0; got {gamma_neg}, {gamma_pos}.")
        if not 0.0 <= float(clip) < 1.0:
            raise ValueError(f"clip must lie in [0, 1); got {clip}.")
        self.gamma_neg = float(gamma_neg)
        self.gamma_pos = float(gamma_pos)
        self.clip = float(clip)

    def call(self, y_true, y_pred):
        y = ops.cast(y_true, "float32")
        z = ops.cast(y_pred, "float32")
        p = ops.sigmoid(z)
        positive = ops.log_sigmoid(z)  # log p, stable for any z
        if self.gamma_pos:
            positive = positive * ops.power(1.0 - p, self.gamma_pos)
        if self.clip:
            shifted = ops.maximum(p - self.clip, 0.0)
            negative = ops.log(1.0 - shifted)  # 1 - p_m >= clip > 0
        else:
            shifted = p
            negative = ops.log_sigmoid(-z)  # log(1 - p), stable for any z
        if self.gamma_neg:
            negative = negative * ops.power(shifted, self.gamma_neg)
        return -ops.mean(y * positive + (1.0 - y) * negative, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(gamma_neg=self.gamma_neg, gamma_pos=self.gamma_pos, clip=self.clip)
        config.pop("dtype", None)
        return config


def check_classification_loss(kind, asl=None):
    """Returns `(kind, asl)` checked: a ValueError names a bad loss or a bad ASL argument."""
    if kind not in CLASSIFICATION_LOSSES:
        raise ValueError(
            f"classification_loss must be one of {CLASSIFICATION_LOSSES}; got {kind!r}."
        )
    if asl is not None:
        if kind != "asl":
            raise ValueError(f"asl arguments {asl} need classification_loss='asl'.")
        AsymmetricLoss(**asl)  # raises on unknown or out-of-range arguments
        asl = {key: float(value) for key, value in asl.items()}
    return kind, asl


def per_image_loss(kind, y_true, logits, asl=None):
    """Per-image loss `(B,)` of per-class logits `(B, C)`: the mean over classes.

    Args:
        kind: "bce" (sigmoid binary cross-entropy) or "asl" (`AsymmetricLoss`).
        y_true: `(B, C)` multi-hot targets.
        logits: `(B, C)` logits.
        asl: dict or None. `AsymmetricLoss` arguments for "asl" (the paper's by default).
    """
    check_classification_loss(kind)  # the one message naming an unknown kind
    y_true = ops.cast(y_true, "float32")
    if kind == "asl":
        return AsymmetricLoss(**(asl or {}), reduction=None)(y_true, logits)
    return keras.losses.binary_crossentropy(y_true, logits, from_logits=True)
