"""`AsymmetricLoss` against hand-computed values and a numpy reference; the heads that take it."""

import keras
import numpy as np
import pytest
from keras import ops

import keras_mlrnn as km
from keras_mlrnn.losses import AsymmetricLoss
from tests.models.tiny import TINY


def asl_reference(y, z, gamma_neg, gamma_pos, clip):
    """The ASL paper's eqs. 1, 2 and 6 in numpy, element by element, mean over classes."""
    p = 1.0 / (1.0 + np.exp(-z))
    shifted = np.maximum(p - clip, 0.0)
    positive = (1.0 - p) ** gamma_pos * np.log(p)
    negative = shifted**gamma_neg * np.log(1.0 - shifted)
    return -np.mean(y * positive + (1.0 - y) * negative, axis=-1)


def test_hand_computed_single_terms():
    # z = 0: p = 1/2. A positive with gamma_pos 2: -(1/2)^2 log(1/2) = log(2) / 4.
    loss = AsymmetricLoss(gamma_neg=0.0, gamma_pos=2.0, clip=0.0)
    assert float(loss([[1.0]], [[0.0]])) == pytest.approx(np.log(2) / 4, rel=1e-6)
    # A negative with gamma_neg 1 and clip 0.1: p_m = 0.4, -(0.4 log 0.6) = 0.204330.
    loss = AsymmetricLoss(gamma_neg=1.0, gamma_pos=0.0, clip=0.1)
    assert float(loss([[0.0]], [[0.0]])) == pytest.approx(0.204330, rel=1e-5)
    # A negative already below the clip costs nothing: p = 0.03 < 0.05.
    z = np.log(0.03 / 0.97)
    assert float(AsymmetricLoss()([[0.0]], [[z]])) == 0.0


def test_matches_the_numpy_reference_on_a_grid():
    rng = np.random.default_rng(0)
    y = (rng.random((5, 7)) < 0.3).astype("float32")
    z = rng.normal(0, 3, (5, 7)).astype("float32")
    for gamma_neg, gamma_pos, clip in [(4, 0, 0.05), (2, 1, 0.0), (1, 0, 0.2), (3, 2, 0.05)]:
        loss = AsymmetricLoss(gamma_neg, gamma_pos, clip, reduction=None)
        expected = asl_reference(
            y.astype(np.float64), z.astype(np.float64), gamma_neg, gamma_pos, clip
        )
        np.testing.assert_allclose(ops.convert_to_numpy(loss(y, z)), expected, rtol=1e-5)


def test_zero_exponents_and_clip_are_the_binary_cross_entropy():
    rng = np.random.default_rng(1)
    y = (rng.random((4, 6)) < 0.5).astype("float32")
    z = rng.normal(0, 20, (4, 6)).astype("float32")  # large logits: the stable forms
    asl = AsymmetricLoss(gamma_neg=0, gamma_pos=0, clip=0, reduction=None)(y, z)
    bce = keras.losses.binary_crossentropy(y, z, from_logits=True)
    np.testing.assert_allclose(ops.convert_to_numpy(asl), ops.convert_to_numpy(bce), rtol=1e-6)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="clip must lie in"):
        AsymmetricLoss(clip=1.0)
    with pytest.raises(ValueError, match="classification_loss must be one of"):
        km.BinaryRelevance(**TINY[km.BinaryRelevance], classification_loss="focal")
    with pytest.raises(ValueError, match="need classification_loss='asl'"):
        km.BinaryRelevance(**TINY[km.BinaryRelevance], asl={"gamma_neg": 2})
    with pytest.raises(TypeError):
        km.BinaryRelevance(**TINY[km.BinaryRelevance], classification_loss="asl", asl={"g": 2})


# Where each method keeps the logits of its per-class (BCE or ASL) head.
HEAD_LOGITS = {
    km.BinaryRelevance: "logits",
    km.OrderFreeRNN: "prob_logits",  # v_prob
    km.MultiOrderRNN: "confidence_logits",
    km.CoarseToFineRNN: "pooled_logits",  # its BCE part, without the margin terms
}


@pytest.mark.parametrize("cls", list(HEAD_LOGITS), ids=lambda cls: cls.__name__)
def test_heads_train_with_asl(cls, tiny_batch):
    images, targets = tiny_batch
    asl = {"gamma_neg": 2.0, "gamma_pos": 1.0, "clip": 0.05}
    # CoarseToFineRNN without its margin terms: the loss is its ASL part alone.
    margins = dict(horizontal_weight=0.0, vertical_weight=0.0) if cls is km.CoarseToFineRNN else {}
    model = cls(**TINY[cls], classification_loss="asl", asl=asl, **margins)
    assert cls.from_config(model.get_config()).asl == asl
    if cls in (km.OrderFreeRNN, km.MultiOrderRNN):
        model.set_stage("features")  # the confidence head's loss alone
    outputs = model.compute_outputs(images, targets)
    loss = model.compute_method_loss(targets, outputs)
    z = ops.convert_to_numpy(outputs[HEAD_LOGITS[cls]]).astype(np.float64)
    expected = np.mean(asl_reference(targets.astype(np.float64), z, 2.0, 1.0, 0.05))
    assert float(loss) == pytest.approx(expected, rel=1e-5)
