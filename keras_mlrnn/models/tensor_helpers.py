"""Small tensor helpers the methods' losses share."""

from keras import ops


def weighted_batch_mean(per_sample, sample_weight=None):
    """Mean over the batch of `per_sample` (B,), weighted like Keras' losses (sum(w l) / B)."""
    per_sample = ops.cast(per_sample, "float32")
    if sample_weight is not None:
        per_sample = per_sample * ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
    return ops.mean(per_sample)
