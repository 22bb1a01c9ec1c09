"""`LabelEmbedding`: an `Embedding` whose lookup is a one-hot matmul (dense gradients)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_mlrnn")
class LabelEmbedding(keras.layers.Embedding):
    """Embeds label ids `(B,)` -> `(B, output_dim)` as `one_hot(ids) @ embeddings`.

    Same weights and results as `keras.layers.Embedding`, but the gradient of
    the table is dense. TensorFlow turns an `Embedding` gather's gradient into
    `IndexedSlices`, which `MirroredStrategy`'s all-reduce cannot pack with the
    dense gradients (replicas disagree on the packed shape); label vocabularies
    are small (C + 2 rows), so the matmul costs nothing.

    Example:
    ```python
    import numpy as np
    embed = LabelEmbedding(5, 3)
    embed(np.array([0, 4])).shape   # (2, 3)
    ```
    """

    def call(self, inputs):
        one_hot = ops.one_hot(ops.cast(inputs, "int32"), self.input_dim, dtype=self.compute_dtype)
        return ops.matmul(one_hot, ops.cast(self.embeddings, self.compute_dtype))
