"""The one evaluation protocol: `multilabel_report` (numpy) and streaming Keras metrics.

Owns: average precision, the decision rule on scores, the report and its table, the
mAP and F1 metrics `fit` reports.
May import: nothing else of keras_mlrnn.
"""

from keras_mlrnn.metrics.multilabel import (
    REPORT_KEYS,
    MeanAveragePrecision,
    MultiLabelF1,
    average_precision,
    decide,
    format_report,
    multilabel_report,
)
