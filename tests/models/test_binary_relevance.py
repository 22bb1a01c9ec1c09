import numpy as np
from keras import ops

import keras_mlrnn as km
from tests.models.tiny import TINY

KWARGS = TINY[km.BinaryRelevance]


def test_loss_is_mean_sigmoid_bce(tiny_batch):
    images, targets = tiny_batch
    model = km.BinaryRelevance(**KWARGS)
    outputs = model.compute_outputs(images, targets)
    z = ops.convert_to_numpy(outputs["logits"]).astype(np.float64)
    # numpy reference: stable BCE with logits, mean over classes and batch
    expected = np.mean(np.maximum(z, 0) - z * targets + np.log1p(np.exp(-np.abs(z))))
    loss = float(model.compute_method_loss(targets, outputs))
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    weights = np.array([1, 0, 0, 0, 0, 2], dtype=np.float32)
    per_image = np.mean(np.maximum(z, 0) - z * targets + np.log1p(np.exp(-np.abs(z))), axis=1)
    weighted = float(model.compute_method_loss(targets, outputs, weights))
    np.testing.assert_allclose(weighted, np.sum(weights * per_image) / 6, rtol=1e-5)


def test_predict_sets_threshold_and_top_k(tiny_batch):
    images, _ = tiny_batch
    model = km.BinaryRelevance(**KWARGS, threshold=0.3, top_k=2)
    scores = model.predict(images, verbose=0)
    sets = model.predict_sets(images)
    expected = np.zeros_like(scores)
    for i, row in enumerate(scores):
        for c in np.argsort(-row)[:2]:
            expected[i, c] = float(row[c] >= 0.3)
    np.testing.assert_array_equal(sets, expected)


def test_wrong_image_size_is_a_clear_error(tiny_batch):
    model = km.BinaryRelevance(**KWARGS)
    bad = np.zeros((2, 48, 48, 3), np.uint8)
    try:
        model(bad)
    except ValueError as e:
        assert "(B, 32, 32, 3)" in str(e) and "48" in str(e)
    else:
        raise AssertionError("a wrong image size must raise")
