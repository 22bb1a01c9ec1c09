"""`load_trained_model`: the model a command runs, from a preset, a run or a `.keras` file.

Used by `keras-mlrnn predict`, `evaluate` and `export`.

Example:
```python
from keras_mlrnn.training.trained_models import load_trained_model
model = load_trained_model(preset="scenes", method="order-free-rnn")
model = load_trained_model(model_path="runs/br")       # a run directory or .keras file
```
"""

import os
import zipfile


def load_trained_model(preset=None, method=None, model_path=None):
    """The model `predict` uses: a preset (directory, or built-in name + method) or a file.

    Args:
        preset: str or None. A preset directory, or a built-in name
            ("scenes", "coco", ...) together with `method`.
        method: str or None. CLI name of the method for a built-in preset.
        model_path: str or None. A `.keras` file or a run directory.
    """
    import keras

    import keras_mlrnn.models as models
    from keras_mlrnn.presets.files import is_preset_dir
    from keras_mlrnn.presets.loading import load_preset
    from keras_mlrnn.training.run_dir import RunDirectory

    if (preset is None) == (model_path is None):
        raise ValueError("Give exactly one of --preset and --model.")
    if model_path is not None:
        if os.path.isdir(model_path):
            model_path = RunDirectory(model_path).model_path
        if not os.path.isfile(model_path):
            raise FileNotFoundError(f"No model file at {model_path}.")
        try:
            return keras.saving.load_model(model_path, compile=False)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            # Keras says "File not found" of a file that is there but no zip archive.
            if isinstance(e, ValueError) and "File not found" not in str(e):
                raise
            raise ValueError(
                f"{model_path} cannot be read as a .keras file (not a whole zip archive); it is "
                "probably truncated or damaged: copy it again, or train it again."
            ) from None
    if is_preset_dir(preset):
        return load_preset(preset)
    if os.sep in preset or preset.startswith("."):  # a path, not a built-in name
        where = "holds no config.json" if os.path.isdir(preset) else "does not exist"
        raise FileNotFoundError(f"--preset {preset} is not a preset folder: it {where}.")
    if method is None:
        raise ValueError(
            f"--preset {preset} is a built-in name: also give --method "
            f"({', '.join(sorted(models.MODELS))})."
        )
    if method not in models.MODELS:
        raise ValueError(f"Unknown --method {method!r}; choose from {sorted(models.MODELS)}.")
    return models.MODELS[method].from_preset(preset)
