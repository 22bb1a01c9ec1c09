"""Backbones: a name, `"tiny"`, or a user `keras.Model` -> a feature-map extractor.

Every backbone is a functional `keras.Model` mapping float images in the
backbone's own input range to a feature map `(B, h, w, D)`; the
preprocessing that takes `[0, 255]` pixels to that range is named by
`preprocessing_mode(name)` and applied inside the multi-label model, on the
device, so pipelines can feed uint8 images.

Example:
```python
from keras_mlrnn.backbones.feature_extractors import build_backbone
backbone = build_backbone("tiny", image_size=64)
backbone.output_shape   # (None, 8, 8, 128)
```
"""

import os

import keras
from keras import layers, ops

# name -> (keras.applications constructor name, preprocessing mode, feature layer)
# The feature layer is None for the last layer of the include_top=False model.
_APPLICATIONS = {
    "vgg16": ("VGG16", "caffe", "block5_conv3"),  # conv5_3, before the last pool
    "vgg19": ("VGG19", "caffe", "block5_conv4"),
    "resnet50": ("ResNet50", "caffe", None),
    "resnet101": ("ResNet101", "caffe", None),
    "resnet152": ("ResNet152", "caffe", None),
    "resnet50_v2": ("ResNet50V2", "tf", None),
    "resnet101_v2": ("ResNet101V2", "tf", None),
    "mobilenet_v2": ("MobileNetV2", "tf", None),
    "mobilenet_v3_small": ("MobileNetV3Small", "none", None),
    "mobilenet_v3_large": ("MobileNetV3Large", "none", None),
    "efficientnet_b0": ("EfficientNetB0", "none", None),
    "efficientnet_b3": ("EfficientNetB3", "none", None),
    "efficientnet_v2_s": ("EfficientNetV2S", "none", None),
    "convnext_tiny": ("ConvNeXtTiny", "none", None),
    "densenet121": ("DenseNet121", "torch", None),
    "inception_v3": ("InceptionV3", "tf", None),
    "xception": ("Xception", "tf", None),
}

BACKBONE_NAMES = ("tiny",) + tuple(_APPLICATIONS)

# ImageNet statistics for the "caffe" (BGR, mean only) and "torch" modes.
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


def preprocessing_mode(backbone):
    """The input preprocessing a backbone expects: "caffe", "torch", "tf" or "none".

    `"tiny"` uses "tf" (`x / 127.5 - 1`); a user `keras.Model` gets "none"
    (it receives pixels in [0, 255] and normalises itself).
    """
    if isinstance(backbone, keras.Model):
        return "none"
    if backbone == "tiny":
        return "tf"
    return _APPLICATIONS[_check_name(backbone)][1]


def preprocess(images, mode):
    """Maps float pixels in [0, 255] to a backbone's input range with `keras.ops`.

    Args:
        images: float tensor `(B, H, W, 3)`, RGB in [0, 255].
        mode: str. "caffe", "torch", "tf" or "none".
    """
    if mode == "none":
        return images
    if mode == "tf":
        return images / 127.5 - 1.0
    if mode == "torch":
        mean = ops.convert_to_tensor(_TORCH_MEAN, dtype=images.dtype)
        std = ops.convert_to_tensor(_TORCH_STD, dtype=images.dtype)
        return (images / 255.0 - mean) / std
    if mode == "caffe":
        bgr = ops.flip(images, axis=-1)
        return bgr - ops.convert_to_tensor(_CAFFE_MEAN_BGR, dtype=images.dtype)
    raise ValueError(f"Unknown preprocessing mode {mode!r}.")


def _check_name(name):
    if name not in _APPLICATIONS and name != "tiny":
        raise ValueError(
            f"Unknown backbone {name!r}. Use one of {list(BACKBONE_NAMES)} "
            "or pass a keras.Model that returns a feature map."
        )
    return name


def tiny_backbone(image_size=64, width=32, name="tiny_backbone"):
    """A small CNN (4 conv blocks, output stride 8) for tests and CPU runs.

    Args:
        image_size: int. Input side. Defaults to 64.
        width: int. Channels of the first block; later blocks use 2x and 4x.
            Defaults to 32.
        name: str. Model name.

    Returns:
        A functional `keras.Model`, `(B, S, S, 3)` -> `(B, S/8, S/8, 4*width)`.
    """
    inputs = keras.Input((image_size, image_size, 3), name="images")
    x = inputs
    for i, (filters, stride) in enumerate(
        [(width, 2), (2 * width, 2), (4 * width, 2), (4 * width, 1)]
    ):
        x = layers.Conv2D(
            filters, 3, strides=stride, padding="same", use_bias=False, name=f"conv{i}"
        )(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
    return keras.Model(inputs, x, name=name)


def _application(name, image_size, weights):
    constructor_name, _, feature_layer = _APPLICATIONS[name]
    constructor = getattr(keras.applications, constructor_name)
    kwargs = dict(include_top=False, weights=weights, input_shape=(image_size, image_size, 3))
    if name.startswith("mobilenet_v3"):
        kwargs["include_preprocessing"] = True
    model = constructor(**kwargs)
    if feature_layer is not None:
        model = keras.Model(model.input, model.get_layer(feature_layer).output, name=name)
    return model


def load_backbone_weights(model, source):
    """Loads a `.weights.h5` file of this backbone into `model`.

    A trained model (preset directory or `.keras` file) is not read here:
    pass it as a model's `backbone_weights`, and the model copies its
    backbone (`keras_mlrnn.models.trained_backbone`).
    """
    if not os.path.exists(source):
        raise FileNotFoundError(f"backbone_weights not found: {source}")
    if os.path.isdir(source) or source.endswith(".keras"):
        raise ValueError(
            f"{source} is a trained model, not a backbone weights file: give it to a model "
            "as backbone_weights (e.g. km.CNNRNN(..., backbone_weights=...)), which copies its "
            "backbone."
        )
    model.load_weights(source)


def freeze_batch_norm(model):
    """Puts every `BatchNormalization` of `model` (nested models too) in inference mode.

    Keras runs a non-trainable BatchNormalization layer with its moving
    statistics and never updates them, also inside `fit`: the usual way to
    fine-tune a pretrained CNN on small batches, whose own statistics are
    noisy. Returns the number of layers frozen.
    """
    frozen = 0
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
            frozen += 1
        else:
            frozen += freeze_batch_norm(layer)
    return frozen


def build_backbone(
    backbone, image_size=224, weights=None, trainable=True, dtype=None, freeze_batchnorm=False
):
    """Builds the feature-map extractor.

    Args:
        backbone: str or `keras.Model`. A name in `BACKBONE_NAMES` or a model
            that maps `(B, S, S, 3)` images in [0, 255] to `(B, h, w, D)`.
        image_size: int. Input side in pixels. Defaults to 224.
        weights: None, "imagenet" or a path to a `.weights.h5` file (a
            trained model's backbone is copied by the model that takes it as
            `backbone_weights`, not here). None starts from random weights; "imagenet" downloads
            Keras' ImageNet weights (internet needed). Defaults to None.
        trainable: bool. Whether the backbone's weights train. Defaults to True.
        dtype: dtype policy or None. The backbone's policy (e.g. the owning
            model's "mixed_bfloat16"); None uses the global policy.
        freeze_batchnorm: bool. Keep every BatchNormalization layer in
            inference mode (moving statistics, never updated) while the
            rest trains; see `freeze_batch_norm`. Defaults to False.

    Returns:
        A `keras.Model` returning a 4-D feature map.
    """
    previous = keras.config.dtype_policy()
    if dtype is not None:
        keras.config.set_dtype_policy(dtype)
    try:
        if isinstance(backbone, keras.Model):
            model = backbone
        elif _check_name(backbone) == "tiny":
            model = tiny_backbone(image_size)
        else:
            remote = "imagenet" if weights == "imagenet" else None
            model = _application(backbone, image_size, remote)
    finally:
        keras.config.set_dtype_policy(previous)
    if weights not in (None, "imagenet"):
        load_backbone_weights(model, str(weights))
    elif weights == "imagenet" and (isinstance(backbone, keras.Model) or backbone == "tiny"):
        raise ValueError(
            f"No ImageNet weights exist for backbone {backbone!r}; use None or a path."
        )
    if len(model.output_shape) != 4:
        raise ValueError(
            f"The backbone must return a 4-D feature map (B, h, w, D); got output shape "
            f"{model.output_shape}."
        )
    model.trainable = trainable
    if freeze_batchnorm:
        freeze_batch_norm(model)
    return model
