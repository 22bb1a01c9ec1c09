"""Built-in preset configurations: a method's paper setting on a named data set.

Each method declares its paper's setting beside it (`paper_config` and
`dataset_overrides` on the class, from METHODS.md and the papers'
implementation sections); each data set's class list lives in
`keras_mlrnn.data.class_lists`. `builtin_config` combines the two;
`keras_mlrnn.presets.load_preset` builds the model, and trained weights are
found separately (see `presets.weights_search_path`).

Example:
```python
import keras_mlrnn as km
from keras_mlrnn.preset_configs import builtin_config
builtin_config(km.OrderFreeRNN, "coco")["backbone"]   # 'resnet152'
```
"""

from keras_mlrnn.data.class_lists import DATASET_CLASSES

# The embedded data set trains on CPU: tiny backbone, 64 px, whatever the paper used.
SCENES_CONFIG = {"backbone": "tiny", "image_size": 64}


def builtin_config(cls, preset):
    """Constructor arguments of built-in preset `preset` for model class `cls`, or None.

    `preset` names a data set of `DATASET_CLASSES`: its class names, and
    the class's `paper_config` (on "scenes": `SCENES_CONFIG` and the
    class's defaults) updated by the class's `dataset_overrides[preset]`.
    """
    if preset not in DATASET_CLASSES or cls.paper_config is None:
        return None
    names = list(DATASET_CLASSES[preset])
    config = dict(SCENES_CONFIG) if preset == "scenes" else dict(cls.paper_config)
    config.update(cls.dataset_overrides.get(preset, {}))
    config.update({"num_classes": len(names), "class_names": names})
    return config
