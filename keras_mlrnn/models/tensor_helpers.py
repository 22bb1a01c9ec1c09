"""Small tensor helpers the methods share."""

from keras import ops


def weighted_batch_mean(per_sample, sample_weight=None):
    """Mean over the batch of `per_sample` (B,), weighted like Keras' losses (sum(w l) / B)."""
    per_sample = ops.cast(per_sample, "float32")
    if sample_weight is not None:
        per_sample = per_sample * ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
    return ops.mean(per_sample)


def first_argmax(x, axis=-1):
    """int32 index of the first maximum of `x` along `axis` (`ops.argmax` for finite x).

    Written with an integer argmax because `ops.argmax` of a float tensor on
    TensorFlow bit-casts it (to tell -0.0 from 0.0), and ONNX has no Bitcast
    operator: an exported model would not load in ONNX Runtime.
    """
    is_max = ops.cast(x == ops.max(x, axis=axis, keepdims=True), "int32")
    return ops.cast(ops.argmax(is_max, axis=axis), "int32")
