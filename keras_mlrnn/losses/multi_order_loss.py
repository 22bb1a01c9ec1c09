"""`MultiOrderLoss` (Dutta et al. 2020, eqs. 4-6)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_mlrnn")
class MultiOrderLoss(keras.losses.Loss):
    """Per-step sigmoid BCE where each step's most confident label leaves the next target.

    Step 1's target is `y`; step t > 1's target is
    `y * (1 - onehot(argmax_c y_pred[:, t-1]))`: the label the model was most
    confident about at the previous step becomes a negative, so the next
    step must find another true label (or confirm none is left). Ties in the
    argmax go to the lowest class index. Element-wise sigmoid BCE, mean over
    classes, SUM over steps; Keras' reduction then averages over the batch.
    Computed in float32 whatever the inputs' dtype.

    Args:
        from_logits: bool. `y_pred` holds logits (True) or probabilities.
            Defaults to True.
        reduction: Keras reduction. Defaults to "sum_over_batch_size".
        name: str. Defaults to "multi_order_loss".

    Call arguments:
        y_true: `(B, C)` multi-hot targets.
        y_pred: `(B, T, C)` per-step logits (or probabilities).

    Example:
    ```python
    import numpy as np
    loss = MultiOrderLoss()
    y = np.array([[1.0, 0.0, 1.0]])
    logits = np.array([[[2.0, -1.0, 0.5], [0.0, -1.0, 1.0]]])
    float(loss(y, logits))
    ```

    Reference: Dutta et al., "Recurrent Image Annotation with Explicit
    Inter-Label Dependencies", ECCV 2020.
    """

    def __init__(self, from_logits=True, reduction="sum_over_batch_size", name="multi_order_loss"):
        super().__init__(reduction=reduction, name=name, dtype="float32")
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "float32")
        y_pred = ops.cast(y_pred, "float32")
        num_classes = ops.shape(y_pred)[-1]
        # The previous step's most confident label, as a one-hot "drop" mask.
        dropped = ops.one_hot(ops.argmax(y_pred[:, :-1], axis=-1), num_classes)
        dropped = ops.concatenate([ops.zeros_like(y_pred[:, :1]), dropped], axis=1)
        targets = y_true[:, None, :] * (1.0 - ops.stop_gradient(dropped))
        bce = keras.losses.binary_crossentropy(
            targets[..., None], y_pred[..., None], from_logits=self.from_logits
        )  # (B, T, C): element-wise
        return ops.sum(ops.mean(bce, axis=-1), axis=-1)

    def get_config(self):
        config = super().get_config()
        config["from_logits"] = self.from_logits
        config.pop("dtype", None)
        return config
