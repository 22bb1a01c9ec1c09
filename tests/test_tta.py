import numpy as np
import pytest

import keras_mlrnn as km
from keras_mlrnn.evaluation.tta import crop_boxes, ten_crop_scores

pytestmark = pytest.mark.large  # end to end: left out of the fast tier (-m 'not large')


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


def _photo_split(tmp_path, images):
    """A `DataSplit` of PNG files holding `images`, one label each."""
    from PIL import Image

    from keras_mlrnn.data import load_csv
    from keras_mlrnn.data.splits import DataSplit

    lines = ["filename,labels"]
    for i, image in enumerate(images):
        Image.fromarray(image).save(tmp_path / f"{i}.png")
        lines.append(f"{i}.png,{'cat' if i % 2 else 'dog'}")
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    files = load_csv(str(tmp_path / "labels.csv"))
    return DataSplit(files.labels, files.class_names, files=files)


def test_evaluate_model_adds_multi_crop_reports_from_the_files(tmp_path):
    from keras_mlrnn.evaluation.scoring import evaluate_model, multi_crop_scores
    from keras_mlrnn.metrics.multilabel import multilabel_report

    rng = np.random.default_rng(1)
    images = rng.integers(0, 255, (5, 24, 24, 3)).astype(np.uint8)
    split = _photo_split(tmp_path, images)
    model = km.BinaryRelevance(num_classes=2, backbone="tiny", image_size=16)
    # Decoded at their own size (no resize), batched by 2: the crops of the arrays.
    expected = ten_crop_scores(model, images)
    np.testing.assert_allclose(multi_crop_scores(model, split, [24], 2), expected, atol=1e-6)
    # Two sides: the mean of each side's scores.
    at_20 = multi_crop_scores(model, split, [20], 2)
    both = multi_crop_scores(model, split, [24, 20], 2)
    np.testing.assert_allclose(both, (expected + at_20) / 2, atol=1e-6)

    reports = evaluate_model(model, split, top_k=1, batch_size=2, ten_crop=[24])
    assert set(reports) == {
        "threshold 0.5",
        "top-1",
        "predict_sets",
        "10-crop, threshold 0.5",
        "10-crop, top-1",
    }
    by_hand = multilabel_report(split.labels, expected, top_k=1, threshold=0.0)
    for key, value in by_hand.items():
        assert reports["10-crop, top-1"][key] == pytest.approx(value, abs=1e-6)
    assert "10-crop, top-1" not in evaluate_model(model, split, top_k=1, batch_size=2)


def test_multi_crop_scores_needs_files_and_larger_images(tmp_path):
    from keras_mlrnn.data.splits import DataSplit
    from keras_mlrnn.evaluation.scoring import multi_crop_scores

    model = km.BinaryRelevance(num_classes=2, backbone="tiny", image_size=16)
    arrays = DataSplit(np.zeros((2, 2), "float32"), ["a", "b"], images=np.zeros((2, 16, 16, 3)))
    with pytest.raises(ValueError, match="in-memory images"):
        multi_crop_scores(model, arrays, [24])
    split = _photo_split(tmp_path, np.zeros((2, 24, 24, 3), np.uint8))
    with pytest.raises(ValueError, match="must exceed the model's image size 16; got 16"):
        multi_crop_scores(model, split, [16])
