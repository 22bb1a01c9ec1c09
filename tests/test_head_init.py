"""`training.head_init.initialize_heads`: the per-class heads scored once start at the prior."""

import json
import os

import numpy as np
import pytest

import keras_mlrnn as km
from keras_mlrnn.training.head_init import initialize_heads
from keras_mlrnn.training.run_config import RunConfig
from keras_mlrnn.training.run_inputs import load_data
from keras_mlrnn.training.runs import train

# Two images; class 0 in both, class 1 in one, class 2 in none. Smoothed
# frequencies (n + 0.5) / (N + 1): 2.5 / 3, 1.5 / 3, 0.5 / 3.
LABELS = np.array([[1, 0, 0], [1, 1, 0]])
PRIOR = np.array([5 / 6, 1 / 2, 1 / 6])


def test_binary_relevance_scores_start_at_the_smoothed_label_frequencies():
    model = km.BinaryRelevance(num_classes=3, backbone="tiny", image_size=32)
    initialize_heads(model, LABELS)
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    scores = model.predict(images, verbose=0)
    np.testing.assert_allclose(scores, np.broadcast_to(PRIOR, (4, 3)), atol=1e-5)


@pytest.mark.parametrize(
    "cls, head, step_classifier",
    [
        (km.OrderFreeRNN, "probability_head", None),
        (km.MultiOrderRNN, "confidence", "classifier"),
        (km.CoarseToFineRNN, None, "classifier"),
    ],
    ids=["OrderFreeRNN", "MultiOrderRNN", "CoarseToFineRNN"],
)
def test_once_scored_heads_start_at_the_prior_and_step_classifiers_at_its_bias(
    cls, head, step_classifier
):
    model = cls(num_classes=3, backbone="tiny", image_size=32)
    model.adapt(LABELS)
    if step_classifier:
        model.build()
        kernel = np.asarray(getattr(model, step_classifier).kernel).copy()
    initialize_heads(model, LABELS)
    if head:
        layer = getattr(model, head)
        np.testing.assert_array_equal(np.asarray(layer.kernel), 0.0)
        np.testing.assert_allclose(1 / (1 + np.exp(-np.asarray(layer.bias))), PRIOR, atol=1e-6)
    if step_classifier:  # read at every step: the prior bias, Keras' (glorot) kernel untouched
        step = getattr(model, step_classifier)
        np.testing.assert_array_equal(np.asarray(step.kernel), kernel)
        assert np.abs(kernel).min() > 0
        np.testing.assert_allclose(1 / (1 + np.exp(-np.asarray(step.bias))), PRIOR, atol=1e-6)


def test_methods_without_a_sigmoid_head_are_left_as_built():
    # CNN-RNN and RegionAttentionRNN score with softmaxes: nothing to set.
    for cls in (km.CNNRNN, km.RegionAttentionRNN):
        assert cls.prior_heads == () and cls.prior_bias_heads == ()
    model = km.BinaryRelevance(num_classes=3, backbone="tiny", image_size=32)
    with pytest.raises(ValueError, match=r"labels of shape \(N, 3\)"):
        initialize_heads(model, np.ones((2, 4)))


SMALL = dict(dataset="scenes", image_size=32, batch_size=32, train_size=64, val_size=32)


def _first_val_loss(run_dir):
    with open(os.path.join(run_dir, "history.csv")) as f:
        header, first = f.readline().strip().split(","), f.readline().strip().split(",")
    return float(first[header.index("val_loss")])


def test_a_run_starts_at_the_prior_unless_told_random(tmp_path):
    # Learning rate ~0: the first epoch's val loss is that of the initial head,
    # the BCE of the smoothed train frequencies on the val labels (numpy).
    common = dict(epochs=1, learning_rate=1e-9, test_size=32, **SMALL)
    train(str(tmp_path / "prior"), verbose=0, **common)
    train(str(tmp_path / "random"), verbose=0, head_init="random", **common)
    with open(tmp_path / "prior" / "run_config.json") as f:
        assert json.load(f)["head_init"] == "prior"
    splits = load_data(RunConfig.from_options(common))
    fit, val = splits["train"].labels, splits["val"].labels
    p = (fit.sum(0) + 0.5) / (len(fit) + 1)
    expected = -np.mean(val * np.log(p) + (1 - val) * np.log(1 - p))
    assert _first_val_loss(tmp_path / "prior") == pytest.approx(expected, abs=2e-3)
    # A random head scores about 0.5 everywhere: BCE about log 2.
    assert _first_val_loss(tmp_path / "random") == pytest.approx(np.log(2), abs=0.05)
    assert expected < 0.6 * np.log(2)
    with pytest.raises(ValueError, match="head_init must be 'prior' or 'random'"):
        train(str(tmp_path / "bad"), head_init="zeros", **common)
