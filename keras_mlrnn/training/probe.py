"""The linear-probe baseline: logistic regression on a frozen backbone's pooled features.

A frozen backbone followed by one linear layer is what BinaryRelevance is;
scikit-learn's `LogisticRegression` fitted per class on the same
average-pooled features is the well-converged version of it, so every
table can say how far each method is above a linear classifier. The
features come from a `FeatureCache` (the image view), so the probe costs
no backbone pass. scikit-learn is an optional dependency of this report
(`pip install scikit-learn`).

Example:
```python
from keras_mlrnn.training.probe import linear_probe_scores
scores = linear_probe_scores(cache, splits["train"], splits["test"])
```
"""

import numpy as np


def pooled_features(cache, split, name):
    """`(N, D)` float32: the cached image-view feature maps of a split, averaged over space."""
    maps = cache.view(split, name, "image")
    out = np.empty((len(maps), maps.shape[-1]), dtype=np.float32)
    for start in range(0, len(maps), 256):  # chunks: the maps stay memory-mapped
        out[start : start + 256] = np.asarray(maps[start : start + 256], np.float32).mean((1, 2))
    return out


def linear_probe_scores(cache, train, test, C=0.1, train_name="train", test_name="test"):
    """Per-class probabilities `(N_test, C)` of logistic regressions fitted on `train`.

    Args:
        cache: a `keras_mlrnn.training.feature_cache.FeatureCache`.
        train: `DataSplit` to fit on (a class with one label value only
            scores its training frequency).
        test: `DataSplit` to score.
        C: float. Inverse L2 strength of `sklearn.linear_model.LogisticRegression`.
            Defaults to 0.1.
        train_name, test_name: str. The splits' names in the cache.
    """
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError as e:
        raise ImportError("The linear probe needs scikit-learn: pip install scikit-learn.") from e
    x_train = pooled_features(cache, train, train_name)
    x_test = pooled_features(cache, test, test_name)
    scores = np.zeros((len(x_test), train.labels.shape[1]), dtype=np.float32)
    for c in range(train.labels.shape[1]):
        y = train.labels[:, c]
        if y.min() == y.max():
            scores[:, c] = y[0]
            continue
        classifier = LogisticRegression(C=C, max_iter=2000).fit(x_train, y)
        scores[:, c] = classifier.predict_proba(x_test)[:, 1]
    return scores
