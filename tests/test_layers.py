import itertools

import keras
import numpy as np
import pytest
from keras.ops import convert_to_numpy as to_numpy

from keras_mlrnn.layers import CandidatePoolMask, SoftAttention


def _inputs(seed=0, batch=2, regions=6, depth=5, query=3):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(batch, regions, depth)).astype(np.float32),
        rng.normal(size=(batch, query)).astype(np.float32),
    )


def test_soft_attention_weights_and_context():
    features, query = _inputs()
    layer = SoftAttention(4)
    context, weights = (to_numpy(t) for t in layer(features, query))
    assert weights.shape == (2, 6) and context.shape == (2, 5)
    np.testing.assert_allclose(weights.sum(1), 1.0, atol=1e-6)
    np.testing.assert_allclose(context, np.einsum("bn,bnd->bd", weights, features), atol=1e-5)
    # numpy reference of the energies
    Wv, bv = (to_numpy(w) for w in layer.feature_dense.weights)
    Wh = to_numpy(layer.query_dense.kernel)
    w = to_numpy(layer.score_dense.kernel)[:, 0]
    energy = np.tanh(features @ Wv + bv + (query @ Wh)[:, None]) @ w
    expected = np.exp(energy) / np.exp(energy).sum(1, keepdims=True)
    np.testing.assert_allclose(weights, expected, atol=1e-5)


def test_soft_attention_mask_gives_zero_weight():
    features, query = _inputs(1)
    mask = np.array([[1, 1, 0, 1, 0, 1], [0, 0, 0, 0, 0, 1]], np.float32)
    context, weights = (to_numpy(t) for t in SoftAttention(4)(features, query, region_mask=mask))
    assert np.all(weights[mask == 0] == 0.0)
    np.testing.assert_allclose(weights.sum(1), 1.0, atol=1e-6)
    np.testing.assert_allclose(context[1], features[1, 5], atol=1e-5)


def test_soft_attention_permutation_invariance_and_equivariance():
    features, query = _inputs(2)
    layer = SoftAttention(4)
    context, weights = (to_numpy(t) for t in layer(features, query))
    for perm in itertools.islice(itertools.permutations(range(6)), 5, 40, 7):
        perm = np.array(perm)
        c2, w2 = (to_numpy(t) for t in layer(features[:, perm], query))
        np.testing.assert_allclose(c2, context, atol=1e-5)
        np.testing.assert_allclose(w2, weights[:, perm], atol=1e-6)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_soft_attention_mixed_precision(policy):
    features, query = _inputs(3, regions=49)
    layer = SoftAttention(8, dtype=policy)
    context, weights = layer(features, query)
    compute = policy.split("_")[1]
    assert keras.backend.standardize_dtype(weights.dtype) == "float32"
    assert keras.backend.standardize_dtype(context.dtype) == compute
    assert all(v.dtype == "float32" for v in layer.weights)
    np.testing.assert_allclose(to_numpy(weights).sum(1), 1.0, atol=1e-5)


def test_soft_attention_config_and_precomputed_projection():
    features, query = _inputs(4)
    layer = SoftAttention(4, name="att")
    clone = SoftAttention.from_config(layer.get_config())
    assert clone.units == 4 and clone.name == "att"
    c1, _ = layer(features, query)
    c2, _ = layer(features, query, projected_features=layer.project_features(features))
    np.testing.assert_allclose(to_numpy(c1), to_numpy(c2), atol=1e-6)


@pytest.mark.parametrize("dtype,value", [("float32", -1e9), ("float16", -65504.0)])
def test_candidate_pool_mask(dtype, value):
    scores = np.array([[0.3, 2.0, -1.0]], dtype=dtype)
    pool = np.array([[1.0, 0.0, 1.0]])
    out = to_numpy(CandidatePoolMask(dtype=dtype)(keras.ops.convert_to_tensor(scores), pool))
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, np.array([[0.3, value, -1.0]], dtype=dtype))
    assert np.all(np.isfinite(out))
    assert out.argmax() == 0  # a removed label is never the argmax


def _grad(fn, x):
    """d fn / d x with the active backend (test-only code)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return to_numpy(jax.grad(lambda v: fn(v))(keras.ops.convert_to_tensor(x)))
    if backend == "tensorflow":
        import tensorflow as tf

        v = tf.Variable(x)
        with tf.GradientTape() as tape:
            out = fn(v)
        return tape.gradient(out, v).numpy()
    pytest.skip(f"no gradient helper for {backend}")


def test_spatial_transformer_identity_returns_input():
    from keras_mlrnn.layers import SpatialTransformer

    x = np.random.default_rng(0).normal(size=(2, 5, 7, 3)).astype(np.float32)
    theta = np.array([[1.0, 1.0, 0.0, 0.0]] * 2, np.float32)
    out = to_numpy(SpatialTransformer((5, 7))(x, theta))
    np.testing.assert_allclose(out, x, atol=1e-5)


def test_spatial_transformer_one_pixel_shift_brings_zeros():
    from keras_mlrnn.layers import SpatialTransformer

    x = np.random.default_rng(1).uniform(1, 2, size=(1, 4, 6, 2)).astype(np.float32)
    # one pixel in normalised x is 2 / (W - 1)
    theta = np.array([[1.0, 1.0, 2.0 / 5.0, 0.0]], np.float32)
    out = to_numpy(SpatialTransformer((4, 6))(x, theta))
    np.testing.assert_allclose(out[:, :, :5], x[:, :, 1:], atol=1e-5)
    np.testing.assert_allclose(out[:, :, 5], 0.0, atol=1e-6)
    theta = np.array([[1.0, 1.0, 0.0, -2.0 / 3.0]], np.float32)  # one pixel up in y
    out = to_numpy(SpatialTransformer((4, 6))(x, theta))
    np.testing.assert_allclose(out[:, 1:], x[:, :3], atol=1e-5)
    np.testing.assert_allclose(out[:, 0], 0.0, atol=1e-6)


def test_spatial_transformer_zoom_matches_numpy_bilinear():
    from keras_mlrnn.layers import SpatialTransformer

    x = np.random.default_rng(2).normal(size=(1, 5, 5, 1)).astype(np.float32)
    theta = np.array([[0.5, 0.3, 0.1, -0.2]], np.float32)
    out = to_numpy(SpatialTransformer(3)(x, theta))[0, ..., 0]
    expected = np.zeros((3, 3))
    for i, yt in enumerate(np.linspace(-1, 1, 3)):
        for j, xt in enumerate(np.linspace(-1, 1, 3)):
            px, py = (0.5 * xt + 0.1 + 1) * 2, (0.3 * yt - 0.2 + 1) * 2
            x0, y0 = int(np.floor(px)), int(np.floor(py))
            for yy in (y0, y0 + 1):
                for xx in (x0, x0 + 1):
                    if 0 <= xx < 5 and 0 <= yy < 5:
                        w = (1 - abs(px - xx)) * (1 - abs(py - yy))
                        expected[i, j] += w * x[0, yy, xx, 0]
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_spatial_transformer_theta_gradient_matches_finite_differences():
    from keras_mlrnn.layers import SpatialTransformer

    x = np.random.default_rng(3).normal(size=(1, 6, 6, 2)).astype(np.float32)
    layer = SpatialTransformer(4)
    weights = np.random.default_rng(4).normal(size=(1, 4, 4, 2)).astype(np.float32)

    def objective(theta):
        return keras.ops.sum(layer(x, theta) * weights)

    theta = np.array([[0.63, 0.57, 0.071, -0.093]], np.float32)
    grad = _grad(objective, theta)
    assert np.all(np.isfinite(grad))
    eps = 1e-3
    for i in range(4):
        step = np.zeros_like(theta)
        step[0, i] = eps
        up = float(objective(theta.astype(np.float64) + step))
        down = float(objective(theta.astype(np.float64) - step))
        assert grad[0, i] == pytest.approx((up - down) / (2 * eps), rel=2e-2, abs=2e-3)


def test_spatial_transformer_config_and_mixed_precision():
    from keras_mlrnn.layers import SpatialTransformer

    layer = SpatialTransformer((3, 2), dtype="mixed_bfloat16")
    clone = SpatialTransformer.from_config(layer.get_config())
    assert clone.output_size == (3, 2)
    out = layer(np.ones((2, 4, 4, 5), np.float32), np.array([[1.0, 1.0, 0.0, 0.0]] * 2))
    assert tuple(out.shape) == (2, 3, 2, 5)
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
