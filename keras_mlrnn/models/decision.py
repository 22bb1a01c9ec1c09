"""The decision rule every thresholding method shares: optional top-k, then a threshold.

One tie rule everywhere: among equal scores the lower class index ranks
first, as in `keras_mlrnn.metrics.multilabel.decide` (its numpy twin), so a model's
`predict_sets` and the metrics' top-k row keep the same labels.

Example:
```python
import numpy as np
from keras_mlrnn.models.decision import decide_sets
decide_sets(np.array([[0.9, 0.6, 0.6, 0.1]]), threshold=0.5, top_k=2)  # [[1, 1, 0, 0]]
```
"""

import numpy as np
from keras import ops

from keras_mlrnn.metrics.multilabel import multilabel_report


def top_k_mask(scores, k):
    """Boolean `(B, C)`: each row's `k` best scores; ties go to the lower class index.

    The rank of class i counts the classes scored above it and the tied
    classes of lower index; class i is kept when its rank is below `k`.
    """
    num_classes = scores.shape[-1]
    mine, others = scores[:, :, None], scores[:, None, :]  # (B, C, 1), (B, 1, C)
    lower_index = ops.convert_to_tensor(np.tri(num_classes, k=-1, dtype=bool))  # [i, j]: j < i
    ahead = ops.logical_or(others > mine, ops.logical_and(others == mine, lower_index))
    rank = ops.sum(ops.cast(ahead, "int32"), axis=-1)
    return rank < int(k)


def decide_sets(scores, threshold, top_k=None):
    """Multi-hot float32 `(B, C)`: `scores >= threshold`, within each row's top-k if `top_k`."""
    keep = scores >= ops.cast(threshold, scores.dtype)
    if top_k is not None:
        keep = ops.logical_and(keep, top_k_mask(scores, top_k))
    return ops.cast(keep, "float32")


def describe_threshold_rule(threshold, top_k=None):
    """The rule of `decide_sets` in words, for a served model's description."""
    rule = f"sets = scores >= {float(threshold):g}"
    if top_k is not None:
        rule += f", within each image's top {int(top_k)} scores (ties: the lower class index)"
    return rule


def tune_on_grid(candidates, sets_for, labels, metric="OF1"):
    """The grid value whose decisions score best on validation labels.

    Args:
        candidates: sequence of floats (e.g. thresholds).
        sets_for: callable, value -> multi-hot `(N, C)` decisions at that value.
        labels: multi-hot validation targets `(N, C)`.
        metric: str. A set-based key of `keras_mlrnn.metrics.multilabel.multilabel_report`
            ("OF1", "CF1", "F1_I"). Defaults to "OF1".

    Returns:
        (best, results): the best value (the first of equals, in grid
        order) and a dict value -> metric.
    """
    labels = np.asarray(labels)
    no_scores = np.zeros(labels.shape, np.float32)  # set metrics only: mAP is not used
    results = {}
    for value in candidates:
        sets = sets_for(float(value))
        results[float(value)] = multilabel_report(labels, no_scores, sets=sets)[metric]
    return max(results, key=results.get), results


def tune_variable(model, variable, candidates, images, labels, metric):
    """Sets `variable` to each candidate, keeps the one whose `predict_sets` scores best.

    One `predict_sets` pass per value (a beam search stops differently at each);
    returns `{value: metric}` (`tune_on_grid`).
    """

    def sets_for(value):
        variable.assign(value)
        return model.predict_sets(images)

    best, results = tune_on_grid(candidates, sets_for, labels, metric)
    variable.assign(best)
    return results
