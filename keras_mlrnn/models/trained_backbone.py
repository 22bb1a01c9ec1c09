"""The backbone of a trained model (a preset directory or a `.keras` file), copied into a new one.

The papers' two-stage recipe: fine-tune the CNN first (e.g. with
`BinaryRelevance`), then train a recurrent head on it. `MultiLabelModel`
takes such a model as `backbone_weights` and copies its backbone here,
after building its own: `keras_mlrnn.backbones.feature_extractors` only reads weight files.

Example:
```python
import keras_mlrnn as km
# km.CNNRNN(num_classes=20, backbone="tiny", image_size=64,
#           backbone_weights="runs/br/model.keras", backbone_trainable=False)
```
"""

import os

import keras

from keras_mlrnn.presets.loading import load_preset


def is_trained_model(source):
    """Whether `backbone_weights` names a trained model (a directory or a `.keras` file)."""
    return isinstance(source, (str, os.PathLike)) and (
        os.path.isdir(source) or os.fspath(source).endswith(".keras")
    )


def copy_trained_backbone(backbone, source):
    """Sets `backbone`'s weights to those of the backbone of the trained model at `source`.

    Raises:
        FileNotFoundError: `source` does not exist.
        ValueError: its backbone does not match (another backbone or image size).
    """
    source = os.fspath(source)
    if not os.path.exists(source):
        raise FileNotFoundError(f"backbone_weights not found: {source}")
    if os.path.isdir(source):
        trained = load_preset(source).backbone
    else:
        trained = keras.saving.load_model(source, compile=False).backbone
    values = trained.get_weights()
    expected = [tuple(w.shape) for w in backbone.weights]
    if [tuple(v.shape) for v in values] != expected:
        raise ValueError(
            f"The backbone of {source} ({trained.name}, {len(values)} weights) does not match "
            f"this backbone ({backbone.name}, {len(expected)} weights): use the same backbone "
            "and image size."
        )
    backbone.set_weights(values)
