"""What the benchmark tables share: the data on ../shared, the val choice, a model's row.

Imported by `voc2007_table.py` and `fine_tune_table.py` (run as scripts from
`benchmarks/`, so this folder is on their path).

Example:
```python
from table_scores import shared_splits, test_row
test = shared_splits("coco")["test"]
row = test_row(test, scores, sets)  # mAP, voc11, CF1@3, OF1@3, CF1, OF1, F1_I, aps
```
"""

import os

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared")
#: data set -> its folder in ../shared/data
DATA_FOLDERS = {"voc2007": "voc2007", "coco": "coco_small"}


def class_names(dataset):
    """The class names of `dataset` (voc2007: 20, coco: 80), in label order."""
    from keras_mlrnn.data import COCO_CLASSES, VOC_CLASSES

    return list({"voc2007": VOC_CLASSES, "coco": COCO_CLASSES}[dataset])


def shared_splits(dataset, data_dir=None):
    """`load_splits` of `dataset` from `data_dir` (default ../shared/data/<its folder>)."""
    from keras_mlrnn.data.splits import load_splits

    folder = os.path.join(SHARED, "data", DATA_FOLDERS[dataset])
    return load_splits(dataset, data_dir=data_dir or folder)


def best_val(run_dir):
    """(best val mAP, its epoch counted from 1, epochs run) from a run's `history.csv`."""
    import numpy as np

    path = os.path.join(run_dir, "history.csv")
    rows = np.atleast_1d(np.genfromtxt(path, delimiter=",", names=True))
    best = int(np.argmax(rows["val_mAP"]))
    return float(rows["val_mAP"][best]), best + 1, len(rows)


def test_row(test, scores, sets):
    """A model's numbers on `test`: mAP and F1s of its own decision (`sets`), VOC 11-point
    mAP, CF1 / OF1 at top-3, and the per-class AP (`aps`; NaN for a class without a
    positive). VOC's "difficult" labels (`test.mask`) are left out."""
    import numpy as np

    from keras_mlrnn.metrics.multilabel import average_precision, multilabel_report

    mask = np.ones_like(test.labels) if test.mask is None else test.mask
    top3 = multilabel_report(test.labels, scores, top_k=3, threshold=0.0, mask=mask)
    own = multilabel_report(test.labels, scores, sets=sets, mask=mask)
    voc11 = multilabel_report(test.labels, scores, mask=mask, ap="voc11")["mAP"]
    aps = [
        average_precision(test.labels[mask[:, c] > 0, c], scores[mask[:, c] > 0, c])
        for c in range(test.labels.shape[1])
    ]
    return {
        "mAP": own["mAP"], "voc11": voc11, "CF1@3": top3["CF1"], "OF1@3": top3["OF1"],
        "CF1": own["CF1"], "OF1": own["OF1"], "F1_I": own["F1_I"], "aps": np.asarray(aps),
    }  # fmt: skip
