"""Weights files without the backbone: a model's own weights, for presets on a shared backbone.

A preset whose backbone was frozen on published weights (the ImageNet
MobileNetV2 file, say) need not copy those weights: it stores everything
else here and names the backbone file. The file is an HDF5 file of numbered
datasets, one per weight in the model's `weights` order minus the
backbone's (the order of `get_weights`), each with the weight's path as an
attribute; loading checks the count and every shape, naming the first
mismatch.

Example:
```python
import keras_mlrnn as km
from keras_mlrnn.presets.head_weights import load_head_weights, save_head_weights
model = km.BinaryRelevance(20, backbone="tiny", image_size=32)
model.build()
save_head_weights(model, "/tmp/head.weights.h5", dtype="float16")
load_head_weights(model, "/tmp/head.weights.h5")
```
"""

import h5py
import keras
import numpy as np


def head_variables(model):
    """The model's weights that are not its backbone's, in `model.weights` order."""
    backbone = {id(v) for v in model.backbone.weights}
    return [v for v in model.weights if id(v) not in backbone]


def save_head_weights(model, path, dtype="float32"):
    """Writes the model's non-backbone weights to `path`.

    Args:
        model: a built `MultiLabelModel`.
        path: str. The `.h5` file to write (replaced if it exists).
        dtype: str. "float32", or "float16" to halve the file (floating
            weights are rounded; integer weights are kept as they are).
    """
    if dtype not in ("float32", "float16"):
        raise ValueError(f"dtype must be 'float32' or 'float16'; got {dtype!r}.")
    with h5py.File(path, "w") as f:
        for index, variable in enumerate(head_variables(model)):
            value = keras.ops.convert_to_numpy(variable)
            if np.issubdtype(value.dtype, np.floating):
                value = value.astype(dtype)
            dataset = f.create_dataset(f"{index:04d}", data=value)
            dataset.attrs["path"] = variable.path
        f.attrs["count"] = len(head_variables(model))


def load_head_weights(model, path):
    """Assigns the weights `save_head_weights` wrote to a model of the same architecture."""
    variables = head_variables(model)
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ValueError(f"Cannot read the weights file {path}: {e}") from e
    with f:
        count = int(f.attrs.get("count", -1))
        if count != len(variables):
            raise ValueError(
                f"{path} holds {count} weights but this {type(model).__name__} has "
                f"{len(variables)} outside its backbone: the preset's architecture differs."
            )
        for index, variable in enumerate(variables):
            value = f[f"{index:04d}"][()]
            if tuple(value.shape) != tuple(variable.shape):
                raise ValueError(
                    f"{path}: weight {index} ({f[f'{index:04d}'].attrs['path']}) has shape "
                    f"{value.shape}, but {variable.path} expects {tuple(variable.shape)}."
                )
            variable.assign(value.astype(variable.dtype))
