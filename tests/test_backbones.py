import keras
import numpy as np
import pytest

import keras_mlrnn as km
from keras_mlrnn.backbones.feature_extractors import build_backbone, preprocess, preprocessing_mode


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


def test_freeze_batchnorm_keeps_statistics_while_the_rest_trains(tiny_batch):
    images, targets = tiny_batch
    model = km.BinaryRelevance(
        num_classes=20, backbone="tiny", image_size=32, freeze_batchnorm=True
    )
    model.build()
    norms = [
        layer
        for layer in model.backbone.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    convs = [layer for layer in model.backbone.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(norms) == 4 and all(not layer.trainable for layer in norms)
    # Moving variance 4 (a fresh layer has 1): training mode must use it, not the
    # batch statistics. Mean 0 keeps the ReLU pattern, so gradients still flow.
    for layer in norms:
        layer.moving_mean.assign(np.zeros(layer.moving_mean.shape, "float32"))
        layer.moving_variance.assign(np.full(layer.moving_variance.shape, 4.0, "float32"))
    x = keras.ops.cast(images, "float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model.backbone(x, training=True)),
        keras.ops.convert_to_numpy(model.backbone(x, training=False)),
        atol=1e-5,
    )  # training mode normalises with the moving statistics, not the batch's
    before_norm = [np.array(w) for layer in norms for w in layer.get_weights()]
    before_conv = [keras.ops.convert_to_numpy(layer.kernel).copy() for layer in convs]
    model.compile(optimizer=keras.optimizers.SGD(0.1), metrics=None)
    model.fit(images, targets, batch_size=3, epochs=2, verbose=0)
    after_norm = [np.array(w) for layer in norms for w in layer.get_weights()]
    for before, after in zip(before_norm, after_norm):
        np.testing.assert_array_equal(before, after)  # gamma, beta, mean, variance
    after_conv = [keras.ops.convert_to_numpy(layer.kernel) for layer in convs]
    changes = [float(np.abs(b - a).max()) for b, a in zip(before_conv, after_conv)]
    assert min(changes) > 0, changes  # every conv trained
    rebuilt = km.BinaryRelevance.from_config(model.get_config())
    assert rebuilt.freeze_batchnorm
    assert not any(
        layer.trainable
        for layer in rebuilt.backbone.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    )
    # Without the flag, training mode normalises with the batch statistics.
    plain = km.BinaryRelevance(num_classes=20, backbone="tiny", image_size=32)
    plain.build()
    assert not np.allclose(
        keras.ops.convert_to_numpy(plain.backbone(x, training=True)),
        keras.ops.convert_to_numpy(plain.backbone(x, training=False)),
        atol=1e-3,
    )


def test_a_trained_models_backbone_is_copied_by_the_model(tmp_path):
    import keras
    import numpy as np
    import pytest

    import keras_mlrnn as km

    source = km.BinaryRelevance(num_classes=3, backbone="tiny", image_size=32)
    source.save(str(tmp_path / "br.keras"))
    source.save_to_preset(str(tmp_path / "br_preset"))
    for trained in (tmp_path / "br.keras", tmp_path / "br_preset"):
        model = km.CNNRNN(num_classes=3, backbone="tiny", image_size=32,
                          backbone_weights=str(trained), backbone_trainable=False)  # fmt: skip
        for copied, original in zip(model.backbone.weights, source.backbone.weights):
            np.testing.assert_array_equal(
                keras.ops.convert_to_numpy(copied), keras.ops.convert_to_numpy(original)
            )
    with pytest.raises(ValueError, match="does not match"):
        km.CNNRNN(num_classes=3, backbone="mobilenet_v2", image_size=32,
                  backbone_weights=str(tmp_path / "br.keras"))  # fmt: skip
    with pytest.raises(ValueError, match="is a trained model, not a backbone weights file"):
        build_backbone("tiny", image_size=32, weights=str(tmp_path / "br_preset"))
