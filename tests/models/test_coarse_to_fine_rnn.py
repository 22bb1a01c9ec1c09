import numpy as np
import pytest
from keras import ops

import keras_mlrnn as km
from tests.models.tiny import TINY

KWARGS = TINY[km.CoarseToFineRNN]


def test_attention_maps_global_then_local(tiny_batch):
    images, _ = tiny_batch
    model = km.CoarseToFineRNN(**KWARGS)
    maps = model.attention_maps(images)
    assert maps.shape == (6, 4, 4, 4)
    np.testing.assert_allclose(maps.sum(axis=(2, 3)), 1.0, atol=1e-5)
    # the global map is the softmax of tanh(W_g a_i + b_g) over regions (eq. 1)
    regions = ops.reshape(model.image_features(images), (6, 16, -1))
    energy = np.tanh(ops.convert_to_numpy(model.global_score(regions))[..., 0])
    expected = np.exp(energy) / np.exp(energy).sum(1, keepdims=True)
    np.testing.assert_allclose(maps[:, 0].reshape(6, 16), expected, atol=1e-5)


def test_loss_is_bce_on_pooled_plus_weighted_max_margin(tiny_batch):
    images, targets = tiny_batch
    model = km.CoarseToFineRNN(**KWARGS)
    out = model.compute_outputs(images, targets)
    z = ops.convert_to_numpy(out["step_logits"]).astype(np.float64).max(axis=1)
    bce = np.mean(np.maximum(z, 0) - z * targets + np.log1p(np.exp(-np.abs(z))))
    margin = float(
        km.losses.JointMaxMargin(horizontal_weight=5e-2, vertical_weight=5e-2)(
            targets, out["step_logits"]
        )
    )
    assert float(model.compute_method_loss(targets, out)) == pytest.approx(bce + margin, rel=1e-5)
    plain = km.CoarseToFineRNN(**KWARGS, horizontal_weight=0.0, vertical_weight=0.0)
    out = plain.compute_outputs(images, targets)
    z = ops.convert_to_numpy(out["step_logits"]).astype(np.float64).max(axis=1)
    bce = np.mean(np.maximum(z, 0) - z * targets + np.log1p(np.exp(-np.abs(z))))
    assert float(plain.compute_method_loss(targets, out)) == pytest.approx(bce, rel=1e-5)
