import numpy as np
import pytest

import keras_mlrnn as km
from keras_mlrnn.tta import crop_boxes, ten_crop_scores


def test_crop_boxes():
    assert crop_boxes(10, 12, 8) == [(0, 0), (0, 4), (2, 0), (2, 4), (1, 2)]
    with pytest.raises(ValueError, match="exceeds"):
        crop_boxes(10, 12, 11)


def test_ten_crop_scores_average_the_ten_views():
    model = km.BinaryRelevance(num_classes=5, backbone="tiny", image_size=16)
    images = np.random.default_rng(0).integers(0, 255, (3, 20, 24, 3)).astype(np.uint8)
    views = []
    for top, left in [(0, 0), (0, 8), (4, 0), (4, 8), (2, 4)]:
        crop = images[:, top : top + 16, left : left + 16]
        views += [crop, crop[:, :, ::-1]]
    expected = np.mean([model.predict(np.ascontiguousarray(v), verbose=0) for v in views], axis=0)
    np.testing.assert_allclose(ten_crop_scores(model, images), expected, atol=1e-6)
    # a left-right symmetric, uniform image: every view is the same image
    flat = np.full((2, 16, 16, 3), 90, np.uint8)
    np.testing.assert_allclose(
        ten_crop_scores(model, flat), model.predict(flat, verbose=0), atol=1e-6
    )
