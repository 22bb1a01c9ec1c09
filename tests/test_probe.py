"""The linear probe on cached features: separable data is ranked perfectly, constants kept."""

import numpy as np

from keras_mlrnn.data.splits import DataSplit
from keras_mlrnn.metrics.multilabel import multilabel_report
from keras_mlrnn.training.probe import linear_probe_scores, pooled_features


class _Cache:
    """Stands in for a FeatureCache: fixed maps per split name."""

    def __init__(self, maps):
        self.maps = maps

    def view(self, split, name, view="image"):
        assert view == "image"
        return self.maps[name]


def _data(rng, count):
    labels = (rng.random((count, 3)) < 0.4).astype(np.float32)
    labels[:, 2] = 0.0  # a class never present
    # class c lights channel c of every region; the other channels are noise
    maps = rng.normal(0, 0.1, (count, 2, 2, 5)).astype(np.float32)
    maps[..., :3] += 2.0 * labels[:, None, None, :]
    return DataSplit(labels, ["a", "b", "c"]), maps


def test_pooled_features_average_the_regions():
    maps = np.arange(2 * 2 * 2 * 3, dtype=np.float16).reshape(2, 2, 2, 3)
    expected = maps.astype(np.float32).mean(axis=(1, 2))
    np.testing.assert_array_equal(pooled_features(_Cache({"t": maps}), None, "t"), expected)


def test_probe_ranks_separable_classes_perfectly():
    rng = np.random.default_rng(0)
    (train, train_maps), (test, test_maps) = _data(rng, 80), _data(rng, 40)
    cache = _Cache({"train": train_maps, "test": test_maps})
    scores = linear_probe_scores(cache, train, test)
    assert scores.shape == (40, 3)
    np.testing.assert_array_equal(scores[:, 2], 0.0)  # constant class: its frequency, 0
    assert multilabel_report(test.labels, scores)["mAP"] == 1.0
