import numpy as np
import pytest
from keras import ops

import keras_mlrnn as km
from tests.models.tiny import TINY

KWARGS = TINY[km.RegionAttentionRNN]


def test_regions_start_at_the_whole_image(tiny_batch):
    images, _ = tiny_batch
    model = km.RegionAttentionRNN(**KWARGS)
    boxes = model.attention_regions(images)
    assert boxes.shape == (6, 3, 4)
    np.testing.assert_allclose(boxes, np.tile([0.0, 0.0, 31.0, 31.0], (6, 3, 1)), atol=1e-4)


def test_loss_is_euclidean_on_normalised_targets_plus_constraints(tiny_batch):
    images, targets = tiny_batch
    targets = targets.copy()
    targets[0] = 0  # an image with no label: all-zero target
    model = km.RegionAttentionRNN(**KWARGS)
    out = model.compute_outputs(images, targets)
    p = ops.convert_to_numpy(out["scores"]).astype(np.float64)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
    target = targets / np.maximum(targets.sum(1, keepdims=True), 1)
    expected = np.mean(((p - target) ** 2).sum(1))
    expected += 0.1 * float(km.losses.region_constraints(out["theta"]))
    assert float(model.compute_method_loss(targets, out)) == pytest.approx(expected, rel=1e-5)


def test_predict_sets_top_k_and_threshold(tiny_batch):
    images, targets = tiny_batch
    model = km.RegionAttentionRNN(**KWARGS, top_k=2, threshold=0.0)
    scores = model.predict(images, verbose=0)
    sets = model.predict_sets(images)
    np.testing.assert_array_equal(sets.sum(1), 2)
    for row, chosen in zip(scores, sets):
        assert set(np.flatnonzero(chosen)) == set(np.argsort(-row)[:2])
    # Known answer: with the top-2 labels as targets, threshold 0 is perfect
    # (OF1 1); at 0.99 a softmax over 20 classes keeps nothing (OF1 0).
    results = model.tune_threshold(images, sets, candidates=[0.99, 0.0])
    assert results == {0.99: 0.0, 0.0: pytest.approx(1.0)}
    assert float(model.threshold) == 0.0
