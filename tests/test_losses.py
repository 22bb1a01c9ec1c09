import keras
import numpy as np
import pytest

from keras_mlrnn.losses import MultiOrderLoss


def softplus(z):
    return np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0)


def bce(y, z):
    return softplus(z) - y * z


def test_multi_order_loss_hand_computed():
    y = np.array([[1.0, 0.0, 1.0]])
    z = np.array([[[2.0, -1.0, 0.5], [0.0, -1.0, 1.0]]])
    # step 1 target [1,0,1]; step 1's argmax is class 0 -> step 2 target [0,0,1]
    step1 = (softplus(-2.0) + softplus(-1.0) + softplus(-0.5)) / 3
    step2 = (np.log(2.0) + softplus(-1.0) + softplus(-1.0)) / 3
    assert float(MultiOrderLoss()(y, z)) == pytest.approx(step1 + step2, rel=1e-6)
    assert step1 + step2 == pytest.approx(0.744646, rel=1e-5)


def test_multi_order_loss_argmax_tie_goes_to_lowest_index():
    y = np.array([[1.0, 1.0]])
    z = np.array([[[1.0, 1.0], [0.3, -0.2]]])  # tie at step 1: class 0 is dropped
    expected = (bce(1, 1.0) + bce(1, 1.0)) / 2 + (bce(0, 0.3) + bce(1, -0.2)) / 2
    assert float(MultiOrderLoss()(y, z)) == pytest.approx(expected, rel=1e-6)


def test_multi_order_loss_one_and_no_positive():
    z = np.array([[[0.5, -0.5, 0.1], [0.2, 0.4, -0.3], [0.0, 0.0, 0.0]]])
    one = np.array([[0.0, 1.0, 0.0]])
    # step 1 argmax = 0 (a negative: dropping it changes nothing),
    # step 2 argmax = 1 -> step 3 target loses the only positive.
    expected = (
        np.mean([bce(0, 0.5), bce(1, -0.5), bce(0, 0.1)])
        + np.mean([bce(0, 0.2), bce(1, 0.4), bce(0, -0.3)])
        + np.mean([bce(0, 0.0)] * 3)
    )
    assert float(MultiOrderLoss()(one, z)) == pytest.approx(expected, rel=1e-6)
    none = np.zeros((1, 3))
    expected_none = sum(np.mean(bce(0, z[0, t])) for t in range(3))
    assert float(MultiOrderLoss()(none, z)) == pytest.approx(expected_none, rel=1e-6)


def test_multi_order_loss_batch_mean_sample_weight_and_probabilities():
    rng = np.random.default_rng(0)
    y = (rng.random((4, 5)) < 0.5).astype(np.float32)
    z = rng.normal(size=(4, 3, 5)).astype(np.float32)
    per_image = [float(MultiOrderLoss()(y[i : i + 1], z[i : i + 1])) for i in range(4)]
    assert float(MultiOrderLoss()(y, z)) == pytest.approx(np.mean(per_image), rel=1e-5)
    w = np.array([1.0, 0.0, 2.0, 0.5])
    weighted = float(MultiOrderLoss()(y, z, sample_weight=w))
    assert weighted == pytest.approx(np.sum(w * per_image) / 4, rel=1e-5)
    probs = 1 / (1 + np.exp(-z))
    from_probs = float(MultiOrderLoss(from_logits=False)(y, probs))
    assert from_probs == pytest.approx(np.mean(per_image), rel=1e-3)


def test_multi_order_loss_serialises_and_float16_inputs():
    loss = MultiOrderLoss(from_logits=False)
    clone = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(clone, MultiOrderLoss) and clone.from_logits is False
    y = np.array([[1.0, 0.0]])
    z = np.array([[[3.0, -2.0], [1.0, 1.5]]], dtype=np.float16)
    value = MultiOrderLoss()(y, z)
    assert keras.backend.standardize_dtype(value.dtype) == "float32"
    assert float(value) == pytest.approx(float(MultiOrderLoss()(y, z.astype(np.float32))), rel=1e-3)


def _jmm(**kw):
    from keras_mlrnn.losses import JointMaxMargin

    return JointMaxMargin(**{"from_logits": False, **kw})


def test_joint_max_margin_hand_computed():
    # One image, 3 classes, 2 steps (probabilities).
    y = np.array([[1.0, 0.0, 1.0]])
    p = np.array([[[0.5, 0.25, 0.125], [0.25, 0.5, 0.375]]])
    # pooled = [0.5, 0.5, 0.375]: min_pos 0.375, max_neg 0.5 -> R1 = relu(0.1 - (-0.125)) = 0.225
    # step 1: max_pos 0.5, max_neg 0.25 -> relu(0.1 - 0.25) = 0
    # step 2: max_pos 0.375, max_neg 0.5 -> relu(0.1 + 0.125) = 0.225 -> R2 = 0.1125
    loss = _jmm(margin=0.1, vertical_margin=0.1)
    assert float(loss(y, p)) == pytest.approx(0.225 + 0.1125, rel=1e-6)
    weighted = _jmm(margin=0.1, vertical_margin=0.1, horizontal_weight=2.0, vertical_weight=0.5)
    assert float(weighted(y, p)) == pytest.approx(2 * 0.225 + 0.5 * 0.1125, rel=1e-6)


def test_joint_max_margin_no_positive_or_no_negative_contributes_zero():
    p = np.array([[[0.9, 0.1]], [[0.2, 0.3]]])
    assert float(_jmm()(np.array([[0.0, 0.0], [0.0, 0.0]]), p)) == 0.0
    assert float(_jmm()(np.array([[1.0, 1.0], [1.0, 1.0]]), p)) == 0.0
    # batch mean: the second image (all negative) adds 0 but counts in the mean
    y = np.array([[1.0, 0.0], [0.0, 0.0]])
    p = np.array([[[0.25, 0.5]], [[0.9, 0.9]]])
    # image 1: R1 = relu(0.1 + 0.25) = 0.35, R2 = 0.35
    assert float(_jmm()(y, p)) == pytest.approx((0.35 + 0.35) / 2, rel=1e-6)


def test_joint_max_margin_exact_margin_tie_is_zero():
    y = np.array([[1.0, 0.0]])
    p = np.array([[[0.75, 0.5]]])  # difference exactly the margin (binary-exact values)
    assert float(_jmm(margin=0.25, vertical_margin=0.25)(y, p)) == 0.0


def test_joint_max_margin_from_logits_matches_probabilities():
    rng = np.random.default_rng(0)
    y = (rng.random((5, 4)) < 0.5).astype(np.float32)
    z = rng.normal(size=(5, 3, 4)).astype(np.float32)
    from keras_mlrnn.losses import JointMaxMargin

    a = float(JointMaxMargin()(y, z))
    b = float(JointMaxMargin(from_logits=False)(y, 1 / (1 + np.exp(-z))))
    assert a == pytest.approx(b, rel=1e-5)
    clone = keras.losses.deserialize(keras.losses.serialize(JointMaxMargin(margin=0.3)))
    assert clone.margin == 0.3


def test_region_constraints_terms_hand_computed():
    from keras_mlrnn.losses import region_constraints

    # scale term alone: |s| above alpha = 0.5, shifts on their anchors, scales >= beta
    theta = np.array([[[0.8, -0.7, 0.0, 0.0], [0.5, 0.5, 0.5, 0.5]]], np.float32)
    anchors = np.array([[0.5, 0.5]])
    # l_S = (0.3^2 + 0.2^2) + 0 ; l_P: s_y = -0.7 < 0.1 -> 0.8 ; l_A = 0
    expected = 0.09 + 0.04 + 0.1 * 0.8
    assert float(region_constraints(theta, anchors=anchors)) == pytest.approx(expected, rel=1e-5)
    # positive term alone: small scales
    theta = np.array([[[0.05, 0.2, 0.0, 0.0], [0.3, 0.0, 0.5, 0.5]]], np.float32)
    # l_P = (0.05) + 0 + 0 + 0.1 = 0.15 ; l_S = 0 ; l_A = 0
    assert float(region_constraints(theta, anchors=anchors)) == pytest.approx(0.1 * 0.15, rel=1e-5)
    # anchor term alone: the first region is free, region 2 is 0.3 / 0.4 off its anchor
    theta = np.array([[[0.5, 0.5, 0.9, -0.9], [0.5, 0.5, 0.2, 0.9]]], np.float32)
    expected = 0.01 * 0.5 * (0.3**2 + 0.4**2)
    assert float(region_constraints(theta, anchors=anchors)) == pytest.approx(expected, rel=1e-5)


def test_region_constraints_default_anchors_and_batch_mean():
    from keras_mlrnn.losses import default_anchors, region_constraints

    np.testing.assert_allclose(
        default_anchors(5), [[0.5, 0.5], [0.5, -0.5], [-0.5, 0.5], [-0.5, -0.5]]
    )
    ring = default_anchors(9)
    np.testing.assert_allclose(np.hypot(ring[:, 0], ring[:, 1]), np.sqrt(2) / 2, atol=1e-6)
    np.testing.assert_allclose(ring[0], [0.5, 0.5], atol=1e-6)
    centred = np.tile([[[0.5, 0.5, 0.0, 0.0]]], (2, 5, 1)).astype(np.float32)
    # only the anchor term: 4 regions, each 0.5 * (0.25 + 0.25) off
    assert float(region_constraints(centred)) == pytest.approx(0.01 * 4 * 0.25, rel=1e-5)
    with pytest.raises(ValueError, match="anchors"):
        region_constraints(centred, anchors=np.zeros((2, 2)))
