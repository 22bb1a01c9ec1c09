import numpy as np
import pytest
from keras import ops

import keras_mlrnn as km
from tests.helpers import check_stages_train_different_parts
from tests.models.tiny import TINY

KWARGS = TINY[km.OrderFreeRNN]


def test_greedy_loop_never_repeats_a_label(tiny_batch):
    images, targets = tiny_batch
    model = km.OrderFreeRNN(**{**KWARGS, "max_length": 8})
    # Make one label overwhelmingly likely: the pool must still force 8 distinct labels.
    bias = np.zeros(20, np.float32)
    bias[3] = 50.0
    model.build()
    model.pred_output.bias.assign(bias)
    labels = ops.convert_to_numpy(model.greedy_loop(images)["labels"])
    assert labels[:, 0].tolist() == [3] * 6
    for row in labels:
        assert len(set(row.tolist())) == 8


def test_beam_sets_are_distinct_labels_above_the_floor(tiny_batch):
    images, targets = tiny_batch
    model = km.OrderFreeRNN(**KWARGS, beam_size=2, stop_threshold=0.2)
    model.compile(optimizer="adam")
    model.fit(images, targets, epochs=2, verbose=0)
    out = model.compute_outputs(images)
    sets = ops.convert_to_numpy(model.decide(out))
    length = ops.convert_to_numpy(out["length"])
    np.testing.assert_array_equal(sets.sum(1), length)  # distinct: no label counted twice
    assert np.all(length <= 4)


def test_stop_threshold_controls_path_length(tiny_batch):
    images, _ = tiny_batch
    model = km.OrderFreeRNN(**KWARGS)
    model.stop_threshold.assign(1.0)  # nothing can keep a path at probability 1
    assert model.predict_sets(images).sum() == 0
    model.stop_threshold.assign(1e-30)  # nothing stops a path before max_length
    assert np.all(model.predict_sets(images).sum(1) == 4)


def test_tune_stop_threshold_picks_the_best(tiny_batch):
    images, _ = tiny_batch
    model = km.OrderFreeRNN(**KWARGS)
    # Known answer: the labels are the full-length paths of threshold 1e-30;
    # threshold 1.0 keeps no label (OF1 0).
    model.stop_threshold.assign(1e-30)
    labels = model.predict_sets(images)
    model.stop_threshold.assign(0.5)
    results = model.tune_stop_threshold(images, labels, candidates=[1.0, 1e-30])
    assert results == {1.0: 0.0, 1e-30: pytest.approx(1.0)}
    assert float(model.stop_threshold) == pytest.approx(1e-30)
    assert model.get_config()["stop_threshold"] == pytest.approx(1e-30)


def test_attention_maps_sum_to_one(tiny_batch):
    images, _ = tiny_batch
    model = km.OrderFreeRNN(**KWARGS)
    maps = model.attention_maps(images)
    assert maps.shape == (6, 4, 4, 4)
    np.testing.assert_allclose(maps.sum(axis=(2, 3)), 1.0, atol=1e-5)


def test_stages_train_different_parts(tiny_batch):
    images, targets = tiny_batch
    model = km.OrderFreeRNN(**KWARGS, stage="features")
    model.build()
    check_stages_train_different_parts(
        model, images, targets, head=model.probability_head.kernel, lstm=model.cell.weights[0]
    )


def test_confidence_loss_by_stage(tiny_batch):
    """Stage "features" trains v_prob's BCE alone and unweighted (as MultiOrderRNN does);
    "joint" adds it to the step loss with confidence_loss_weight."""
    images, targets = tiny_batch
    model = km.OrderFreeRNN(**KWARGS, confidence_loss_weight=0.0, stage="features")
    out = model.compute_outputs(images, targets)
    z = ops.convert_to_numpy(out["prob_logits"]).astype(np.float64)
    bce = np.mean(np.maximum(z, 0) - z * targets + np.log1p(np.exp(-np.abs(z))))
    assert bce > 0
    assert float(model.compute_method_loss(targets, out)) == pytest.approx(bce, rel=1e-5)
    s = ops.convert_to_numpy(out["step_logits"]).astype(np.float64)  # (B, T, C)
    y = targets[:, None, :]
    steps = np.mean(np.maximum(s, 0) - s * y + np.log1p(np.exp(-np.abs(s))))
    for stage in ("joint", "recurrent"):  # weight 0: the step loss alone
        model.set_stage(stage)
        assert float(model.compute_method_loss(targets, out)) == pytest.approx(steps, rel=1e-5)
    model.confidence_loss_weight = 0.5
    model.set_stage("joint")
    joint = float(model.compute_method_loss(targets, out))
    assert joint == pytest.approx(steps + 0.5 * bce, rel=1e-5)
