"""Scoring a trained model on a data split: the three decision rules, 10-crop, baselines.

Example:
```python
import keras_mlrnn as km
from keras_mlrnn.data.splits import load_splits
from keras_mlrnn.evaluation.scoring import evaluate_model
test = load_splits("scenes", sizes={"train": 64, "val": 32, "test": 64})["test"]
model = km.BinaryRelevance.from_preset("scenes")
reports = evaluate_model(model, test)  # "threshold 0.5", "top-3", "predict_sets"
```
"""

import numpy as np

from keras_mlrnn.metrics.multilabel import multilabel_report


def evaluate_model(model, split, top_k=3, batch_size=128, ten_crop=None, data=None):
    """Reports of a model on a `DataSplit` under threshold 0.5, top-k and its `predict_sets`.

    Args:
        model: a trained `MultiLabelModel`.
        split: `DataSplit`.
        top_k: int. The k of the top-k rule. Defaults to 3.
        batch_size: int. Defaults to 128.
        ten_crop: None, or a list of image sides larger than `model.image_size`:
            the papers' multi-crop evaluation. Each image is decoded at each
            side, scored on its 4 corner and centre crops, each mirrored
            (`keras_mlrnn.evaluation.tta.ten_crop_scores`), and the scores averaged over
            crops and sides; two more reports, "10-crop, threshold 0.5" and
            "10-crop, top-k", use them. Needs a split of image files.
        data: None, or what to feed the model in place of the split's images
            (e.g. its cached backbone features,
            `keras_mlrnn.training.feature_cache.FeatureCache.batches`), in the
            split's order.

    Returns:
        dict: report name -> `multilabel_report` dict.
    """
    data = split.dataset(model.image_size, batch_size) if data is None else data
    scores, sets = model.predict_scores_and_sets(data)  # one pass (a beam search runs once)
    labels, mask = split.labels, split.mask
    reports = {
        "threshold 0.5": multilabel_report(labels, scores, threshold=0.5, mask=mask),
        f"top-{top_k}": multilabel_report(labels, scores, top_k=top_k, threshold=0.0, mask=mask),
        "predict_sets": multilabel_report(labels, scores, sets=sets, mask=mask),
    }
    if ten_crop:
        crops = multi_crop_scores(model, split, ten_crop, batch_size)
        reports["10-crop, threshold 0.5"] = multilabel_report(labels, crops, mask=mask)
        reports[f"10-crop, top-{top_k}"] = multilabel_report(
            labels, crops, top_k=top_k, threshold=0.0, mask=mask
        )
    return reports


def multi_crop_scores(model, split, sides, batch_size=128):
    """Scores `(N, C)` averaged over 10 crops of each image at each side in `sides`."""
    from keras_mlrnn.evaluation.tta import ten_crop_scores

    if split.files is None:
        raise ValueError(
            "10-crop evaluation decodes the image files again at a larger size; this split "
            "holds in-memory images (scenes). Use a data set of image files."
        )
    for side in sides:
        if int(side) <= model.image_size:
            raise ValueError(
                f"10-crop sides must exceed the model's image size {model.image_size}; got {side}."
            )
    total = 0.0
    for side in sides:
        data = split.files.dataset(int(side), batch_size)
        total = total + np.concatenate(
            [ten_crop_scores(model, batch[0], batch_size) for batch in data.as_numpy_iterator()]
        )
    return total / len(sides)


def label_frequency_map(train_labels, test_labels):
    """mAP of the constant predictor that scores each class by its training frequency."""
    scores = np.broadcast_to(train_labels.mean(0), test_labels.shape)
    return multilabel_report(test_labels, scores)["mAP"]
