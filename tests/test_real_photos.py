"""Real photos and real ImageNet weights from ../shared (skipped where it is absent)."""

import glob
import os

import keras
import numpy as np
import pytest
from PIL import Image

import keras_mlrnn as km

pytestmark = pytest.mark.large  # end to end: left out of the fast tier (-m 'not large')


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
    logits = keras.ops.convert_to_numpy(model.compute_outputs(images)["logits"])
    np.testing.assert_array_equal(logits.argmax(1), expected.argmax(1))
    np.testing.assert_allclose(logits, expected, rtol=1e-3, atol=1e-3)


def test_short_fine_tune_on_coco128_beats_the_label_frequency_baseline(shared_dir, tmp_path):
    from keras_mlrnn.training.runs import train

    result = train(
        str(tmp_path / "run"),
        model="binary-relevance",
        dataset="coco128",
        data_dir=os.path.join(shared_dir, "data", "coco128"),
        backbone="mobilenet_v2",
        backbone_weights=os.path.join(
            shared_dir, "weights", "mobilenet_v2_1.0_224_imagenet_notop.weights.h5"
        ),
        image_size=224,
        epochs=8,
        batch_size=16,
        learning_rate=1e-3,
        model_args={"backbone_trainable": False},
        verbose=0,
    )
    assert result["num_test_images"] == 32  # the fixed coco128 test split
    baseline = result["label_frequency_mAP"]
    assert 0.02 < baseline < 0.15
    assert result["reports"]["threshold 0.5"]["mAP"] > 3 * baseline


def test_coco128_split_is_fixed_by_image_id(shared_dir):
    from keras_mlrnn.data.splits import load_splits

    splits = load_splits("coco128", data_dir=os.path.join(shared_dir, "data", "coco128"))
    names = {k: [os.path.basename(p) for p in v.files.paths] for k, v in splits.items()}
    assert [len(names[k]) for k in ("train", "val", "test")] == [84, 12, 32]
    everything = sorted(names["train"] + names["val"] + names["test"])
    assert len(set(everything)) == 128
    assert names["test"] == everything[-32:]  # the 32 largest image ids
    assert names["val"] == sorted(everything[:96])[7::8]


def test_voc2007_splits_from_the_class_files(shared_dir):
    from keras_mlrnn.data.splits import load_splits

    splits = load_splits("voc2007", data_dir=os.path.join(shared_dir, "data", "voc2007"))
    # the README of ../shared/data/voc2007: 2,500 / 500 / 1,000 images, labels per image
    expected = {"train": (2500, 1.48), "val": (500, 1.41), "test": (1000, 1.45)}
    for name, (count, per_image) in expected.items():
        assert splits[name].labels.shape == (count, 20)
        assert splits[name].labels.sum(1).mean() == pytest.approx(per_image, abs=0.01)
        assert 0 < (splits[name].mask == 0).sum() < 0.02 * splits[name].mask.size
