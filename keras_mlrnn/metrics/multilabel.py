"""The one evaluation protocol: `multilabel_report` (numpy) and streaming Keras metrics.

Definitions (METHODS.md, "Metrics"):
- Per-class `CP = mean_c Nc_c / Np_c`, `CR = mean_c Nc_c / Ng_c`,
  `CF1 = 2 CP CR / (CP + CR)` (harmonic mean of the averages, as in the
  papers); a class with no predicted positive has precision 0. The averages
  run over the classes with at least one positive in `y_true` (recall is
  undefined for the others), the same classes as mAP.
- Overall `OP, OR, OF1` from counts summed over classes.
- Per-image `P_I, R_I` averaged over the images with at least one positive
  (an image with no predicted label has precision 0), `F1_I` their
  harmonic mean (Dutta et al. 2020, section 4.2).
- `mAP`: mean over classes with at least one positive of the
  non-interpolated average precision, equal to scikit-learn's
  `average_precision_score` (ties in the scores form one threshold); or the
  VOC 2007 11-point AP with `ap="voc11"`.
- `mask` (optional, `(N, C)` in {0, 1}): entries with 0 are ignored by every
  count and by the class's AP, as the VOC devkit does for "difficult"-only
  labels.

`multilabel_report` passes 60 lines with its argument docs; its code is
about 40, one line or two per definition above.
"""

import keras
import numpy as np
from keras import ops

REPORT_KEYS = ("CP", "CR", "CF1", "OP", "OR", "OF1", "P_I", "R_I", "F1_I", "mAP")


def _harmonic(p, r):
    return 0.0 if p + r == 0 else 2.0 * p * r / (p + r)


def _safe_div(num, den):
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def average_precision(y_true, scores, mode="sklearn"):
    """Average precision of one class.

    Args:
        y_true: array `(N,)` in {0, 1}.
        scores: array `(N,)`.
        mode: str. `"sklearn"` (non-interpolated, ties form one threshold)
            or `"voc11"` (VOC 2007 11-point interpolated).

    Returns:
        float, or nan when `y_true` has no positive.
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    num_pos = y_true.sum()
    if num_pos == 0:
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    scores, y_true = scores[order], y_true[order]
    tp = np.cumsum(y_true)
    fp = np.cumsum(1.0 - y_true)
    # Keep the last index of each run of tied scores: one threshold per value.
    last = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tp, fp = tp[last], fp[last]
    precision = tp / (tp + fp)
    recall = tp / num_pos
    if mode == "sklearn":
        return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    if mode == "voc11":
        points = [precision[recall >= t].max(initial=0.0) for t in np.linspace(0, 1, 11)]
        return float(np.mean(points))
    raise ValueError(f"Unknown AP mode {mode!r}; expected 'sklearn' or 'voc11'.")


def decide(scores, threshold=0.5, top_k=None):
    """Multi-hot decision from scores: top-k of each row (if `top_k`), then `>= threshold`.

    Args:
        scores: array `(N, C)`.
        threshold: float. Minimum score of a predicted label. Defaults to 0.5.
        top_k: int or None. Keep at most the k best labels of each image.

    Returns:
        float32 array `(N, C)` in {0, 1}.
    """
    scores = np.asarray(scores, dtype=np.float64)
    pred = scores >= threshold
    if top_k is not None:
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}.")
        # Stable sort: among tied scores the lower class index wins.
        rank = np.argsort(np.argsort(-scores, axis=1, kind="mergesort"), axis=1)
        pred &= rank < top_k
    return pred.astype(np.float32)


def _check_inputs(y_true, scores, sets, mask):
    y_true = np.asarray(y_true, dtype=np.float64)
    if y_true.ndim != 2:
        raise ValueError(f"y_true must be 2-D (N, C); got shape {y_true.shape}.")
    arrays = {"scores": scores, "sets": sets, "mask": mask}
    out = {}
    for name, value in arrays.items():
        if value is None:
            out[name] = None
            continue
        value = np.asarray(value, dtype=np.float64)
        if value.shape != y_true.shape:
            raise ValueError(
                f"{name} has shape {value.shape}, but y_true has shape {y_true.shape}."
            )
        if np.isnan(value).any():
            raise ValueError(f"{name} contains NaN.")
        out[name] = value
    if np.isnan(y_true).any() or ((y_true != 0) & (y_true != 1)).any():
        raise ValueError("y_true must be multi-hot: every entry 0 or 1 (no NaN).")
    return y_true, out["scores"], out["sets"], out["mask"]


def multilabel_report(
    y_true, scores, *, threshold=0.5, top_k=None, sets=None, mask=None, ap="sklearn"
):
    """Every metric of the papers' tables, from one implementation.

    Args:
        y_true: array `(N, C)` multi-hot ground truth.
        scores: array `(N, C)` per-class scores (ranking and mAP).
        threshold: float. Decision threshold on `scores`. Defaults to 0.5.
        top_k: int or None. Keep only the top-k scores of each image before
            thresholding (k = 3 is the COCO protocol). Defaults to None.
        sets: array `(N, C)` or None. A decision made elsewhere (a model's
            `predict_sets`); when given, `threshold` and `top_k` are unused.
        mask: array `(N, C)` or None. 0 marks entries to ignore everywhere.
        ap: str. `"sklearn"` (default) or `"voc11"`.

    Returns:
        dict with floats in [0, 1] under `CP CR CF1 OP OR OF1 P_I R_I F1_I mAP`.

    Example:
    ```python
    y = [[1, 0, 1], [0, 1, 0]]
    s = [[0.9, 0.2, 0.4], [0.1, 0.8, 0.3]]
    multilabel_report(y, s)["mAP"]   # 1.0
    ```
    """
    y_true, scores, sets, mask = _check_inputs(y_true, scores, sets, mask)
    if scores is None:
        raise ValueError("scores are required (they give mAP).")
    pred = (sets if sets is not None else decide(scores, threshold, top_k)) > 0.5
    valid = np.ones_like(y_true) if mask is None else (mask > 0.5).astype(np.float64)
    truth = y_true * valid
    pred = pred.astype(np.float64) * valid

    correct = truth * pred
    ng, np_, nc = truth.sum(0), pred.sum(0), correct.sum(0)
    classes = ng > 0
    cp = float(_safe_div(nc, np_)[classes].mean()) if classes.any() else 0.0
    cr = float(_safe_div(nc, ng)[classes].mean()) if classes.any() else 0.0
    op = float(_safe_div(nc.sum(), np_.sum()))
    orec = float(_safe_div(nc.sum(), ng.sum()))

    pi, ri = _per_image_precision_recall(truth, pred, correct)

    aps = [
        average_precision(truth[valid[:, c] > 0, c], scores[valid[:, c] > 0, c], mode=ap)
        for c in np.flatnonzero(classes)
    ]
    return {
        "CP": cp,
        "CR": cr,
        "CF1": _harmonic(cp, cr),
        "OP": op,
        "OR": orec,
        "OF1": _harmonic(op, orec),
        "P_I": pi,
        "R_I": ri,
        "F1_I": _harmonic(pi, ri),
        "mAP": float(np.mean(aps)) if aps else 0.0,
    }


def _per_image_precision_recall(truth, pred, correct):
    """P_I and R_I: precision and recall per image, averaged over the images with labels."""
    bg, bp, bc = truth.sum(1), pred.sum(1), correct.sum(1)
    images = bg > 0
    pi = float(_safe_div(bc, bp)[images].mean()) if images.any() else 0.0
    ri = float(_safe_div(bc, bg)[images].mean()) if images.any() else 0.0
    return pi, ri


def format_report(report, title=None):
    """Formats a report (or a dict name -> report) as a Markdown table in percent.

    Args:
        report: dict from `multilabel_report`, or dict of row name -> such dict.
        title: str or None. Header of the first column. Defaults to "".

    Returns:
        str, a Markdown table.
    """
    rows = report if isinstance(next(iter(report.values())), dict) else {"": report}
    header = "| " + (title or "") + " | " + " | ".join(REPORT_KEYS) + " |"
    lines = [header, "|" + "---|" * (len(REPORT_KEYS) + 1)]
    for name, values in rows.items():
        cells = " | ".join(f"{100 * values[k]:.2f}" for k in REPORT_KEYS)
        lines.append(f"| {name} | {cells} |")
    return "\n".join(lines)


@keras.saving.register_keras_serializable(package="keras_mlrnn")
class MeanAveragePrecision(keras.metrics.Metric):
    """Streaming mAP over score histograms, usable in `compile(metrics=...)`.

    Scores are binned into `num_bins` equal bins of [0, 1]; AP is computed
    from the per-bin positive and negative counts, treating a bin as one
    tied threshold. It equals the exact mAP of `multilabel_report` when the
    scores are multiples of `1 / num_bins`, and is within a bin's resolution
    otherwise. Use `multilabel_report` for published numbers.

    Args:
        num_classes: int. Number of classes C.
        num_bins: int. Histogram resolution. Defaults to 200.
        name: str. Defaults to "mAP".

    Example:
    ```python
    m = MeanAveragePrecision(num_classes=3)
    m.update_state([[1, 0, 1]], [[0.9, 0.1, 0.6]])
    float(m.result())   # 1.0
    ```
    """

    def __init__(self, num_classes, num_bins=200, name="mAP", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = int(num_classes)
        self.num_bins = int(num_bins)
        shape = (self.num_classes, self.num_bins)
        self.positives = self.add_variable(shape, initializer="zeros", name="positives")
        self.negatives = self.add_variable(shape, initializer="zeros", name="negatives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "float32")
        y_pred = ops.cast(y_pred, "float32")
        weight = 1.0 if sample_weight is None else ops.cast(sample_weight, "float32")
        weight = ops.reshape(weight, (-1, 1)) if sample_weight is not None else weight
        bins = ops.clip(ops.floor(y_pred * self.num_bins), 0, self.num_bins - 1)
        onehot = ops.one_hot(ops.cast(bins, "int32"), self.num_bins)  # (B, C, bins)
        pos = y_true * weight
        neg = (1.0 - y_true) * weight
        self.positives.assign_add(ops.sum(onehot * pos[..., None], axis=0))
        self.negatives.assign_add(ops.sum(onehot * neg[..., None], axis=0))

    def result(self):
        # Walk the bins from the highest score down: cumulative TP / FP.
        pos = ops.flip(self.positives, axis=1)
        neg = ops.flip(self.negatives, axis=1)
        tp = ops.cumsum(pos, axis=1)
        fp = ops.cumsum(neg, axis=1)
        precision = ops.divide_no_nan(tp, tp + fp)
        total = ops.sum(pos, axis=1)
        ap = ops.divide_no_nan(ops.sum(pos * precision, axis=1), total)
        has_pos = ops.cast(total > 0, "float32")
        return ops.divide_no_nan(ops.sum(ap * has_pos), ops.sum(has_pos))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "num_bins": self.num_bins}


@keras.saving.register_keras_serializable(package="keras_mlrnn")
class MultiLabelF1(keras.metrics.Metric):
    """Streaming F1 at a threshold: per-class (`CF1`) or overall (`OF1`).

    Matches `multilabel_report`'s `CF1` (harmonic mean of the class-averaged
    precision and recall, over classes with a positive) or `OF1`.

    Args:
        num_classes: int. Number of classes C.
        average: str. `"class"` (CF1) or `"overall"` (OF1). Defaults to "class".
        threshold: float. Decision threshold. Defaults to 0.5.
        name: str or None. Defaults to "CF1" / "OF1".

    Example:
    ```python
    m = MultiLabelF1(num_classes=2, average="overall")
    m.update_state([[1, 0]], [[0.7, 0.6]])
    float(m.result())   # 2 * 0.5 * 1 / 1.5 = 0.667
    ```
    """

    def __init__(self, num_classes, average="class", threshold=0.5, name=None, **kwargs):
        if average not in ("class", "overall"):
            raise ValueError(f"average must be 'class' or 'overall', got {average!r}.")
        name = name or {"class": "CF1", "overall": "OF1"}[average]
        super().__init__(name=name, **kwargs)
        self.num_classes = int(num_classes)
        self.average = average
        self.threshold = float(threshold)
        shape = (self.num_classes,)
        self.tp = self.add_variable(shape, initializer="zeros", name="tp")
        self.predicted = self.add_variable(shape, initializer="zeros", name="predicted")
        self.actual = self.add_variable(shape, initializer="zeros", name="actual")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "float32")
        pred = ops.cast(ops.cast(y_pred, "float32") >= self.threshold, "float32")
        w = 1.0
        if sample_weight is not None:
            w = ops.reshape(ops.cast(sample_weight, "float32"), (-1, 1))
        self.tp.assign_add(ops.sum(y_true * pred * w, axis=0))
        self.predicted.assign_add(ops.sum(pred * w, axis=0))
        self.actual.assign_add(ops.sum(y_true * w, axis=0))

    def result(self):
        if self.average == "overall":
            p = ops.divide_no_nan(ops.sum(self.tp), ops.sum(self.predicted))
            r = ops.divide_no_nan(ops.sum(self.tp), ops.sum(self.actual))
        else:
            has_pos = ops.cast(self.actual > 0, "float32")
            n = ops.sum(has_pos)
            p = ops.divide_no_nan(ops.sum(ops.divide_no_nan(self.tp, self.predicted) * has_pos), n)
            r = ops.divide_no_nan(ops.sum(ops.divide_no_nan(self.tp, self.actual) * has_pos), n)
        return ops.divide_no_nan(2.0 * p * r, p + r)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "average": self.average,
            "threshold": self.threshold,
        }
