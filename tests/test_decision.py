"""The shared decision rule (`models.decision`) against its numpy twin and known answers."""

import numpy as np
import pytest
from keras import ops

from keras_mlrnn.metrics.multilabel import decide
from keras_mlrnn.models.decision import decide_sets, top_k_mask, tune_on_grid


def test_top_k_breaks_ties_by_the_lower_class_index():
    scores = np.array([[0.9, 0.6, 0.6, 0.1], [0.2, 0.2, 0.2, 0.2]], np.float32)
    mask = ops.convert_to_numpy(top_k_mask(ops.convert_to_tensor(scores), 2))
    np.testing.assert_array_equal(mask, [[1, 1, 0, 0], [1, 1, 0, 0]])


@pytest.mark.parametrize("top_k", [None, 1, 3, 7])
def test_decide_sets_equals_the_metrics_rule_on_scores_with_ties(top_k):
    # Scores rounded to one decimal: many ties in every row.
    scores = np.round(np.random.default_rng(0).random((50, 7)), 1).astype(np.float32)
    got = ops.convert_to_numpy(decide_sets(ops.convert_to_tensor(scores), 0.3, top_k))
    np.testing.assert_array_equal(got, decide(scores, threshold=0.3, top_k=top_k))


def test_tune_on_grid_finds_the_threshold_that_separates_the_labels():
    # Positives score 0.5-0.9 and negatives 0.1-0.4: 0.45 separates them
    # exactly (OF1 1); 0.05 predicts every label (precision = positive rate),
    # 0.95 predicts none (OF1 0).
    rng = np.random.default_rng(1)
    labels = (rng.random((40, 5)) < 0.3).astype(np.float32)
    scores = np.where(
        labels == 1, rng.uniform(0.5, 0.9, labels.shape), rng.uniform(0.1, 0.4, labels.shape)
    )
    best, results = tune_on_grid([0.05, 0.45, 0.95], lambda t: decide(scores, t), labels)
    rate = labels.mean()
    assert best == 0.45
    assert results[0.45] == pytest.approx(1.0)
    assert results[0.05] == pytest.approx(2 * rate / (1 + rate))
    assert results[0.95] == 0.0
    assert all(results[best] >= value for value in results.values())
