import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from keras_mlrnn.metrics.multilabel import (
    MeanAveragePrecision,
    MultiLabelF1,
    average_precision,
    decide,
    multilabel_report,
)


def _sklearn_map(y, s):
    cols = [c for c in range(y.shape[1]) if y[:, c].sum() > 0]
    return np.mean([average_precision_score(y[:, c], s[:, c]) for c in cols])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_map_matches_sklearn_on_random_data(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random((60, 7)) < 0.3).astype(float)
    y[:, 3] = 0  # a class with no positive is left out of the mean
    s = rng.random((60, 7))
    np.testing.assert_allclose(multilabel_report(y, s)["mAP"], _sklearn_map(y, s), atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_map_matches_sklearn_on_tie_heavy_data(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random((80, 5)) < 0.4).astype(float)
    s = rng.integers(0, 4, size=(80, 5)) / 4.0  # four distinct values: ties everywhere
    np.testing.assert_allclose(multilabel_report(y, s)["mAP"], _sklearn_map(y, s), atol=1e-12)


def test_ap_hand_computed():
    # ranking: + - + -  -> precision at the positives: 1/1, 2/3 -> AP = (1 + 2/3) / 2
    assert average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(5 / 6)
    # all tied: one threshold, precision 2/4 at recall 1
    assert average_precision([1, 0, 1, 0], [0.5] * 4) == pytest.approx(0.5)
    # VOC 11-point on the first ranking: precision 1 for recall <= 0.5, 2/3 above
    assert average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], mode="voc11") == pytest.approx(
        (6 * 1 + 5 * 2 / 3) / 11
    )


def test_counts_hand_computed():
    y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]], float)
    p = np.array([[1, 1, 0], [0, 1, 0], [0, 1, 0], [1, 0, 0]], float)
    r = multilabel_report(y, p * 0.9 + 0.05, sets=p)
    # class 0: Nc=1 Np=2 Ng=2; class 1: Nc=2 Np=3 Ng=2; class 2: Nc=0 Np=0 Ng=1
    cp = (1 / 2 + 2 / 3 + 0) / 3
    cr = (1 / 2 + 2 / 2 + 0 / 1) / 3
    assert r["CP"] == pytest.approx(cp)
    assert r["CR"] == pytest.approx(cr)
    assert r["CF1"] == pytest.approx(2 * cp * cr / (cp + cr))
    assert r["OP"] == pytest.approx(3 / 5)
    assert r["OR"] == pytest.approx(3 / 5)
    assert r["OF1"] == pytest.approx(3 / 5)
    # per image (image 3 has no positive: left out): P = (1/2, 1, 1/1), R = (1/2, 1, 1/2)
    pi, ri = (0.5 + 1 + 1) / 3, (0.5 + 1 + 0.5) / 3
    assert r["P_I"] == pytest.approx(pi)
    assert r["R_I"] == pytest.approx(ri)
    assert r["F1_I"] == pytest.approx(2 * pi * ri / (pi + ri))


def test_threshold_and_top_k_decisions():
    s = np.array([[0.9, 0.8, 0.7, 0.1], [0.2, 0.6, 0.6, 0.6]])
    np.testing.assert_array_equal(decide(s, 0.5), [[1, 1, 1, 0], [0, 1, 1, 1]])
    # top-2 then threshold; ties broken towards the lower class index
    np.testing.assert_array_equal(decide(s, 0.5, top_k=2), [[1, 1, 0, 0], [0, 1, 1, 0]])
    np.testing.assert_array_equal(decide(s, 0.75, top_k=2), [[1, 1, 0, 0], [0, 0, 0, 0]])


def test_mask_ignores_entries():
    y = np.array([[1, 0], [0, 1], [1, 1]], float)
    s = np.array([[0.2, 0.9], [0.9, 0.1], [0.8, 0.7]])
    mask = np.array([[1, 0], [0, 1], [1, 1]], float)
    r = multilabel_report(y, s, mask=mask)
    kept0 = average_precision_score([1, 1], [0.2, 0.8])
    kept1 = average_precision_score([1, 1], [0.1, 0.7])
    assert r["mAP"] == pytest.approx((kept0 + kept1) / 2)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="shape"):
        multilabel_report(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        multilabel_report(np.zeros((2, 2)), np.array([[0.1, np.nan], [0, 0]]))
    with pytest.raises(ValueError, match="multi-hot"):
        multilabel_report(np.full((2, 2), 0.5), np.zeros((2, 2)))


def test_streaming_map_equals_report_on_quantised_scores():
    rng = np.random.default_rng(0)
    y = (rng.random((50, 6)) < 0.3).astype(np.float32)
    s = (rng.integers(0, 200, size=(50, 6)) + 0.5) / 200.0  # bin centres: exact
    m = MeanAveragePrecision(num_classes=6, num_bins=200)
    m.update_state(y[:20], s[:20])
    m.update_state(y[20:], s[20:])
    assert float(m.result()) == pytest.approx(multilabel_report(y, s)["mAP"], abs=1e-5)


@pytest.mark.parametrize("average,key", [("class", "CF1"), ("overall", "OF1")])
def test_streaming_f1_equals_report(average, key):
    rng = np.random.default_rng(1)
    y = (rng.random((40, 5)) < 0.4).astype(np.float32)
    s = rng.random((40, 5)).astype(np.float32)
    m = MultiLabelF1(num_classes=5, average=average)
    m.update_state(y[:25], s[:25])
    m.update_state(y[25:], s[25:])
    assert float(m.result()) == pytest.approx(multilabel_report(y, s)[key], abs=1e-5)
