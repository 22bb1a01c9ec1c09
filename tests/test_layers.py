import itertools

import keras
import numpy as np
import pytest

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
    context, weights = (np.asarray(t) for t in layer(features, query))
    assert weights.shape == (2, 6) and context.shape == (2, 5)
    np.testing.assert_allclose(weights.sum(1), 1.0, atol=1e-6)
    np.testing.assert_allclose(context, np.einsum("bn,bnd->bd", weights, features), atol=1e-5)
    # numpy reference of the energies
    Wv, bv = (np.asarray(w) for w in layer.feature_dense.weights)
    Wh = np.asarray(layer.query_dense.kernel)
    w = np.asarray(layer.score_dense.kernel)[:, 0]
    energy = np.tanh(features @ Wv + bv + (query @ Wh)[:, None]) @ w
    expected = np.exp(energy) / np.exp(energy).sum(1, keepdims=True)
    np.testing.assert_allclose(weights, expected, atol=1e-5)


def test_soft_attention_mask_gives_zero_weight():
    features, query = _inputs(1)
    mask = np.array([[1, 1, 0, 1, 0, 1], [0, 0, 0, 0, 0, 1]], np.float32)
    context, weights = (np.asarray(t) for t in SoftAttention(4)(features, query, mask=mask))
    assert np.all(weights[mask == 0] == 0.0)
    np.testing.assert_allclose(weights.sum(1), 1.0, atol=1e-6)
    np.testing.assert_allclose(context[1], features[1, 5], atol=1e-5)


def test_soft_attention_permutation_invariance_and_equivariance():
    features, query = _inputs(2)
    layer = SoftAttention(4)
    context, weights = (np.asarray(t) for t in layer(features, query))
    for perm in itertools.islice(itertools.permutations(range(6)), 5, 40, 7):
        perm = np.array(perm)
        c2, w2 = (np.asarray(t) for t in layer(features[:, perm], query))
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
    np.testing.assert_allclose(np.asarray(weights).sum(1), 1.0, atol=1e-5)


def test_soft_attention_config_and_precomputed_projection():
    features, query = _inputs(4)
    layer = SoftAttention(4, name="att")
    clone = SoftAttention.from_config(layer.get_config())
    assert clone.units == 4 and clone.name == "att"
    c1, _ = layer(features, query)
    c2, _ = layer(features, query, projected_features=layer.project_features(features))
    np.testing.assert_allclose(np.asarray(c1), np.asarray(c2), atol=1e-6)


@pytest.mark.parametrize("dtype,value", [("float32", -1e9), ("float16", -65504.0)])
def test_candidate_pool_mask(dtype, value):
    scores = np.array([[0.3, 2.0, -1.0]], dtype=dtype)
    pool = np.array([[1.0, 0.0, 1.0]])
    out = np.asarray(CandidatePoolMask(dtype=dtype)(keras.ops.convert_to_tensor(scores), pool))
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, np.array([[0.3, value, -1.0]], dtype=dtype))
    assert np.all(np.isfinite(out))
    assert out.argmax() == 0  # a removed label is never the argmax
