"""`SoftAttention` (Xu et al. 2015): additive attention over image regions."""

import keras
from keras import layers, ops


def large_negative(dtype):
    """The masking value Keras' own attention uses: -65504 for float16, -1e9 otherwise."""
    return -65504.0 if keras.backend.standardize_dtype(dtype) == "float16" else -1e9


@keras.saving.register_keras_serializable(package="keras_mlrnn")
class SoftAttention(keras.layers.Layer):
    """Additive soft attention: `alpha = softmax_i(w^T tanh(W_v v_i + W_h h + b))`.

    Returns the context `z = sum_i alpha_i v_i` and the weights `alpha`. The
    softmax runs in float32 whatever the compute dtype (N can be large);
    masked regions get exactly zero weight.

    Args:
        units: int. Size of the hidden attention layer.
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        features: `(B, N, D)` region features.
        query: `(B, Q)` the query (e.g. the previous LSTM state).
        region_mask: optional `(B, N)`, 1 for regions to attend to, 0 to
            ignore (not named `mask`, which Keras reserves for its own masking).
        projected_features: optional `(B, N, units)`, the output of
            `project_features(features)`, to reuse it across recurrent steps.

    Returns:
        `(context (B, D), weights (B, N) float32)`.

    Example:
    ```python
    import numpy as np
    attention = SoftAttention(16)
    context, weights = attention(np.random.rand(2, 49, 32), np.random.rand(2, 8))
    ```

    Reference: Xu et al., "Show, Attend and Tell", ICML 2015.
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.feature_dense = layers.Dense(self.units, dtype=self.dtype_policy, name="feature")
        self.query_dense = layers.Dense(
            self.units, use_bias=False, dtype=self.dtype_policy, name="query"
        )
        self.score_dense = layers.Dense(1, use_bias=False, dtype=self.dtype_policy, name="score")

    def build(
        self, features_shape, query_shape, region_mask_shape=None, projected_features_shape=None
    ):
        # project_features() may have built the feature projection already.
        if not self.feature_dense.built:
            self.feature_dense.build(features_shape)
        self.query_dense.build(query_shape)
        self.score_dense.build(tuple(features_shape[:-1]) + (self.units,))

    def project_features(self, features):
        """`W_v v_i + b` for every region: `(B, N, units)`, reusable across steps."""
        return self.feature_dense(features)

    def call(self, features, query, region_mask=None, projected_features=None):
        if projected_features is None:
            projected_features = self.project_features(features)
        hidden = ops.tanh(projected_features + self.query_dense(query)[:, None, :])
        # Energies and softmax in float32 (numerics over many regions).
        energy = ops.cast(self.score_dense(hidden)[..., 0], "float32")
        if region_mask is not None:
            keep = ops.cast(region_mask, "bool")
            energy = ops.where(keep, energy, large_negative("float32"))
        weights = ops.softmax(energy, axis=-1)
        if region_mask is not None:
            weights = weights * ops.cast(keep, "float32")  # exactly 0 when masked
        context = ops.sum(ops.cast(weights, features.dtype)[..., None] * features, axis=1)
        return context, weights

    def compute_output_shape(
        self, features_shape, query_shape, region_mask_shape=None, projected_features_shape=None
    ):
        return (features_shape[0], features_shape[-1]), tuple(features_shape[:2])

    def compute_output_spec(self, features, query, region_mask=None, projected_features=None):
        context = keras.KerasTensor((features.shape[0], features.shape[-1]), self.compute_dtype)
        return context, keras.KerasTensor(tuple(features.shape[:2]), "float32")

    def get_config(self):
        return {**super().get_config(), "units": self.units}
