"""`CandidatePoolMask` (Chen et al. 2018, eqs. 9-10)."""

import keras
from keras import ops

from keras_mlrnn.layers.soft_attention import large_negative


@keras.saving.register_keras_serializable(package="keras_mlrnn")
class CandidatePoolMask(keras.layers.Layer):
    """Sets the scores of labels outside the candidate pool to a large negative value.

    The value is dtype-safe (-65504 in float16, -1e9 otherwise, as Keras'
    attention does), so a following softmax or argmax never picks a label
    that was already chosen.

    Call arguments:
        scores: `(B, C)` scores or logits.
        pool: `(B, C)` in {0, 1}: 1 for labels still available.

    Returns:
        `(B, C)` scores, unchanged inside the pool.

    Example:
    ```python
    import numpy as np
    CandidatePoolMask()(np.array([[0.3, 2.0]]), np.array([[1.0, 0.0]]))  # [[0.3, -1e9]]
    ```

    Reference: Chen et al., "Order-Free RNN with Visual Attention for
    Multi-Label Classification", AAAI 2018.
    """

    def call(self, scores, pool):
        keep = ops.cast(pool, "bool")
        return ops.where(keep, scores, ops.cast(large_negative(scores.dtype), scores.dtype))

    def compute_output_shape(self, scores_shape, pool_shape):
        return scores_shape
