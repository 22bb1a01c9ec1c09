"""Multi-crop test-time augmentation: the papers' 10-crop evaluation.

`ten_crop_scores(model, images)` averages a model's scores over the four
corner crops and the centre crop of each image, each also mirrored (10
views), as the papers' "10 crops" rows do. Pass images larger than the
model's input (e.g. resized to 256 for a 224 model); several scales are
several calls averaged by the caller.

Example:
```python
import numpy as np
import keras_mlrnn as km
from keras_mlrnn.evaluation.tta import ten_crop_scores
model = km.BinaryRelevance(num_classes=20, backbone="tiny", image_size=56)
images = np.zeros((2, 64, 64, 3), np.uint8)
ten_crop_scores(model, images).shape   # (2, 20)
```
"""

import numpy as np


def crop_boxes(height, width, size):
    """Top-left corners of the 4 corner crops and the centre crop of side `size`."""
    if size > height or size > width:
        raise ValueError(f"Crop size {size} exceeds the image size {height}x{width}.")
    bottom, right = height - size, width - size
    return [(0, 0), (0, right), (bottom, 0), (bottom, right), (bottom // 2, right // 2)]


def ten_crop_scores(model, images, batch_size=64):
    """Mean scores `(N, C)` over 5 crops x {original, mirrored} of each image.

    Args:
        model: a `MultiLabelModel` (its `image_size` is the crop side).
        images: uint8 `(N, H, W, 3)` with H, W >= `model.image_size`.
        batch_size: int. Defaults to 64.
    """
    images = np.asarray(images)
    size = model.image_size
    views = []
    for top, left in crop_boxes(images.shape[1], images.shape[2], size):
        crop = images[:, top : top + size, left : left + size]
        views += [crop, crop[:, :, ::-1]]
    # One `predict` over the ten views of every image (a call per view costs
    # Keras' per-call set-up ten times).
    scores = model.predict(np.concatenate(views), batch_size, verbose=0)
    return scores.reshape(10, len(images), -1).mean(axis=0)
