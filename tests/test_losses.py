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
