"""`JointMaxMargin` (Lyu et al. 2018, eqs. 13-16, sign corrected)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_mlrnn")
class JointMaxMargin(keras.losses.Loss):
    """Horizontal and vertical max-margin terms on per-step label probabilities.

    With `p_t = sigmoid(y_pred[:, t])` (or `y_pred` itself when
    `from_logits=False`) and the step-max-pooled `p^ = max_t p_t`:

    - horizontal (eqs. 13-14, sign corrected so that violating the margin
      costs): `R1 = relu(margin - (min_{pos} p^ - max_{neg} p^))`;
    - vertical (eqs. 15-16, read as "each step should predict one label"):
      `R2 = mean_t relu(vertical_margin - (max_{pos} p_t - max_{neg} p_t))`.

    An image with no positive or no negative label contributes 0 to both.
    Per image `horizontal_weight * R1 + vertical_weight * R2`; Keras'
    reduction averages over the batch. Computed in float32.

    Args:
        margin: float. Horizontal margin epsilon. Defaults to 0.1.
        vertical_margin: float. Vertical margin epsilon_v. Defaults to 0.1.
        horizontal_weight: float. Defaults to 1.0.
        vertical_weight: float. Defaults to 1.0.
        from_logits: bool. Defaults to True.
        reduction: Keras reduction. Defaults to "sum_over_batch_size".
        name: str. Defaults to "joint_max_margin".

    Call arguments:
        y_true: `(B, C)` multi-hot targets.
        y_pred: `(B, T, C)` per-step logits (or probabilities).

    Example:
    ```python
    import numpy as np
    loss = JointMaxMargin(margin=0.25, vertical_margin=0.25, from_logits=False)
    float(loss(np.array([[1.0, 0.0]]), np.array([[[0.75, 0.5]]])))  # 0.0 + 0.0
    ```

    Reference: Lyu et al., "Coarse to Fine: Multi-label Image Classification
    with Global/Local Attention", 2018.
    """

    def __init__(
        self,
        margin=0.1,
        vertical_margin=0.1,
        horizontal_weight=1.0,
        vertical_weight=1.0,
        from_logits=True,
        reduction="sum_over_batch_size",
        name="joint_max_margin",
    ):
        super().__init__(reduction=reduction, name=name, dtype="float32")
        self.margin = float(margin)
        self.vertical_margin = float(vertical_margin)
        self.horizontal_weight = float(horizontal_weight)
        self.vertical_weight = float(vertical_weight)
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "float32")
        probs = ops.cast(y_pred, "float32")
        if self.from_logits:
            probs = ops.sigmoid(probs)
        positive = y_true > 0.5
        valid = ops.cast(
            ops.logical_and(ops.any(positive, axis=-1), ops.any(~positive, axis=-1)), "float32"
        )  # (B,): at least one positive and one negative

        # Probabilities lie in [0, 1]: 2 and -1 are neutral for min and max.
        pooled = ops.max(probs, axis=1)
        min_pos = ops.min(ops.where(positive, pooled, 2.0), axis=-1)
        max_neg = ops.max(ops.where(positive, -1.0, pooled), axis=-1)
        horizontal = ops.relu(self.margin - (min_pos - max_neg)) * valid

        step_pos = ops.max(ops.where(positive[:, None, :], probs, -1.0), axis=-1)  # (B, T)
        step_neg = ops.max(ops.where(positive[:, None, :], -1.0, probs), axis=-1)
        vertical = ops.mean(ops.relu(self.vertical_margin - (step_pos - step_neg)), axis=-1)
        vertical = vertical * valid
        return self.horizontal_weight * horizontal + self.vertical_weight * vertical

    def get_config(self):
        config = super().get_config()
        config.pop("dtype", None)
        config.update(
            {
                "margin": self.margin,
                "vertical_margin": self.vertical_margin,
                "horizontal_weight": self.horizontal_weight,
                "vertical_weight": self.vertical_weight,
                "from_logits": self.from_logits,
            }
        )
        return config
