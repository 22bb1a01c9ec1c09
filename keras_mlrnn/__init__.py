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
import importlib.abc
import importlib.util
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

# Where each module of the flat layout before 0.2 lives now. `import keras_mlrnn.runs`
# and `from keras_mlrnn.images import read_images` keep working (`_MovedModules`).
MOVED_MODULES = {
    "benchmark": "benchmarking.benchmark",
    "benchmark_steps": "benchmarking.steps",
    "benchmark_tables": "benchmarking.tables",
    "cli_messages": "cli.messages",
    "cli_parser": "cli.parser",
    "cli_predict": "cli.predict",
    "compare": "training.compare",
    "decoding": "layers.beam_search",
    "distribute": "training.distribute",
    "feature_cache": "training.feature_cache",
    "fine_tuning": "training.fine_tuning",
    "head_weights": "presets.head_weights",
    "hlo": "benchmarking.hlo",
    "images": "data.images",
    "labelling": "evaluation.labelling",
    "preset_configs": "presets.configs",
    "preset_files": "presets.files",
    "preset_names": "presets.names",
    "probe": "training.probe",
    "profiling": "benchmarking.profiling",
    "quiet_import": "cli.quiet_import",
    "run_dir": "training.run_dir",
    "runs": "training.runs",
    "serving": "export.serving",
    "trained_models": "training.trained_models",
    "training_callbacks": "training.callbacks",
    "tta": "evaluation.tta",
    "visualize": "visualization.visualize",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers an old module path (`keras_mlrnn.runs`) with the module that lives on."""

    def find_spec(self, fullname, path, target=None):
        package, _, name = fullname.partition(".")
        if package == __name__ and name in MOVED_MODULES:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(f"{__name__}.{MOVED_MODULES[spec.name.split('.', 1)[1]]}")

    def exec_module(self, module):
        pass  # already executed under its new name


sys.meta_path.append(_MovedModules())


def __getattr__(name):
    if name not in __all__:
        raise AttributeError(f"module 'keras_mlrnn' has no attribute {name!r}")
    # The first use of any name imports the models, which registers their
    # classes with Keras (for `load_model` and presets), as an eager import would.
    models = importlib.import_module("keras_mlrnn.models")
    if name in _MODELS:
        return getattr(models, name)
    return importlib.import_module(f"keras_mlrnn.{MOVED_MODULES.get(name, name)}")  # km.serving


def __dir__():
    return sorted([*globals(), *__all__])


if "keras" in sys.modules:  # Keras costs nothing more: import everything now
    globals().update({name: __getattr__(name) for name in __all__})
