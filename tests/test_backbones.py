import keras
import numpy as np
import pytest

import keras_mlrnn as km
from keras_mlrnn.backbones import build_backbone, preprocess, preprocessing_mode


def test_tiny_backbone_shape():
    model = build_backbone("tiny", image_size=64)
    assert model.output_shape == (None, 8, 8, 128)


@pytest.mark.parametrize(
    "mode,reference",
    [
        ("caffe", keras.applications.resnet50.preprocess_input),
        ("torch", keras.applications.densenet.preprocess_input),
        ("tf", keras.applications.mobilenet_v2.preprocess_input),
    ],
)
def test_preprocessing_matches_keras_applications(mode, reference):
    x = np.random.default_rng(0).uniform(0, 255, (2, 5, 5, 3)).astype(np.float32)
    expected = reference(x.copy())
    got = keras.ops.convert_to_numpy(preprocess(keras.ops.convert_to_tensor(x), mode))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


def test_modes_of_names():
    assert preprocessing_mode("resnet50") == "caffe"
    assert preprocessing_mode("mobilenet_v2") == "tf"
    assert preprocessing_mode("efficientnet_b0") == "none"


def test_application_backbone_builds_without_download():
    model = build_backbone("mobilenet_v2", image_size=32, weights=None, trainable=False)
    assert model.output_shape[-1] == 1280 and not model.trainable


def test_unknown_name_and_bad_weights():
    with pytest.raises(ValueError, match="Unknown backbone 'resnet9000'"):
        build_backbone("resnet9000")
    with pytest.raises(FileNotFoundError, match="not/here.weights.h5"):
        build_backbone("tiny", image_size=32, weights="not/here.weights.h5")
    with pytest.raises(ValueError, match="No ImageNet weights"):
        build_backbone("tiny", image_size=32, weights="imagenet")


def test_weights_from_a_path(tmp_path):
    source = build_backbone("tiny", image_size=32)
    path = str(tmp_path / "tiny.weights.h5")
    source.save_weights(path)
    loaded = build_backbone("tiny", image_size=32, weights=path)
    for a, b in zip(source.weights, loaded.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))


def test_user_model_backbone_round_trips():
    inputs = keras.Input((32, 32, 3))
    outputs = keras.layers.Conv2D(8, 3, strides=4, padding="same")(inputs)
    user = keras.Model(inputs, outputs, name="my_cnn")
    model = km.BinaryRelevance(num_classes=3, backbone=user, image_size=32)
    images = np.random.default_rng(0).integers(0, 255, (2, 32, 32, 3)).astype(np.uint8)
    scores = model.predict(images, verbose=0)
    clone = km.BinaryRelevance.from_config(model.get_config())
    clone.build()
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(images, verbose=0), scores, atol=1e-6)


def test_backbone_trainable_flag():
    frozen = km.BinaryRelevance(
        num_classes=3, backbone="tiny", image_size=32, backbone_trainable=False
    )
    frozen.build()
    assert not frozen.backbone.trainable_variables
    assert len(frozen.trainable_variables) == 2  # the classifier's kernel and bias
