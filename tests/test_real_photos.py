"""Real photos and real ImageNet weights from ../shared (skipped where it is absent)."""

import glob
import os

import keras
import numpy as np
from PIL import Image

import keras_mlrnn as km


def _photos(shared_dir, count=4, size=224):
    paths = sorted(glob.glob(os.path.join(shared_dir, "data", "coco128", "train2017", "*.jpg")))
    images = [
        np.asarray(Image.open(p).convert("RGB").resize((size, size), Image.BILINEAR))
        for p in paths[:count]
    ]
    return np.stack(images).astype(np.uint8)


def test_mobilenet_v2_backbone_matches_the_full_keras_model(shared_dir):
    weights = os.path.join(shared_dir, "weights")
    full = keras.applications.MobileNetV2(
        weights=os.path.join(weights, "mobilenet_v2_1.0_224_imagenet.weights.h5"),
        classifier_activation=None,
    )
    images = _photos(shared_dir)
    expected = full.predict(
        keras.applications.mobilenet_v2.preprocess_input(images.astype(np.float32)), verbose=0
    )
    # Our backbone (notop file, preprocessing inside the model, uint8 input) with the
    # full model's classifier on top must rank ImageNet classes the same way.
    model = km.BinaryRelevance(
        num_classes=1000,
        backbone="mobilenet_v2",
        backbone_weights=os.path.join(weights, "mobilenet_v2_1.0_224_imagenet_notop.weights.h5"),
        image_size=224,
        dropout=0.0,
    )
    model.build()
    model.classifier.set_weights(full.get_layer("predictions").get_weights())
    logits = keras.ops.convert_to_numpy(model.forward(images)["logits"])
    np.testing.assert_array_equal(logits.argmax(1), expected.argmax(1))
    np.testing.assert_allclose(logits, expected, rtol=1e-3, atol=1e-3)
