"""keras_mlrnn: recurrent multi-label image classification for Keras 3.

Example:
```python
import keras
import keras_mlrnn as km
model = km.BinaryRelevance(num_classes=20, backbone="tiny", image_size=64)
```

The package imports Keras (and with it the backend, e.g. TensorFlow) on
first use of one of its names, so that `keras-mlrnn --help` answers at once.
When Keras is already imported (`import keras` first, as above), everything
is imported at once, which registers the model classes for
`keras.saving.load_model`; otherwise they are registered on first use of
`km.<anything>` (or `import keras_mlrnn.models`).
"""

import importlib
import sys

from keras_mlrnn.version import __version__  # noqa: F401

_MODULES = (
    "backbones",
    "layers",
    "losses",
    "metrics",
    "presets",
    "models",
    "data",
    "export",
    "serving",
)
_MODELS = (
    "CNNRNN",
    "BinaryRelevance",
    "CoarseToFineRNN",
    "MultiLabelModel",
    "MultiOrderRNN",
    "OrderFreeRNN",
    "RegionAttentionRNN",
)
__all__ = [*_MODULES, *_MODELS]


def __getattr__(name):
    if name not in __all__:
        raise AttributeError(f"module 'keras_mlrnn' has no attribute {name!r}")
    # The first use of any name imports the models, which registers their
    # classes with Keras (for `load_model` and presets), as an eager import would.
    models = importlib.import_module("keras_mlrnn.models")
    if name in _MODELS:
        return getattr(models, name)
    return importlib.import_module(f"keras_mlrnn.{name}")


def __dir__():
    return sorted([*globals(), *__all__])


if "keras" in sys.modules:  # Keras costs nothing more: import everything now
    globals().update({name: __getattr__(name) for name in __all__})
