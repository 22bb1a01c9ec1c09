"""Built-in preset names: a method's paper setting on a named data set, and the trained ones.

Each method declares its paper's setting beside it (`paper_config` and
`dataset_overrides` on the class, from METHODS.md and the papers'
implementation sections); each data set's class list lives in
`keras_mlrnn.data.class_lists`. `builtin_config` combines the two under the
name "<data set>_paper" ("coco_paper": ResNet-152 at 224 px for
OrderFreeRNN). A data set's own name ("coco", "voc2007") loads the zoo's
trained model for it (`TRAINED_PRESETS`) where that is installed, else it
is the paper setting too. `keras_mlrnn.presets.loading.load_preset` builds the
model; trained weights are found on `presets.weights_search_path`.

Example:
```python
import keras_mlrnn as km
from keras_mlrnn.presets.configs import builtin_config
builtin_config(km.OrderFreeRNN, "coco_paper")["backbone"]   # 'resnet152'
```
"""

from keras_mlrnn.data.class_lists import DATASET_CLASSES

# The embedded data set trains on CPU: tiny backbone, 64 px, whatever the paper used.
SCENES_CONFIG = {"backbone": "tiny", "image_size": 64}


#: The trained presets a data set's own name loads where they are installed (`weights/`).
TRAINED_PRESETS = {"coco": "coco_mobilenet_v2", "voc2007": "voc2007_mobilenet_v2"}
#: "<data set><PAPER_SUFFIX>" is always the paper's configuration, never trained weights.
PAPER_SUFFIX = "_paper"


def paper_preset_names():
    """The names of the paper configurations: "coco_paper", "voc2007_paper", "nuswide_paper"."""
    return [name + PAPER_SUFFIX for name in DATASET_CLASSES if name != "scenes"]


def builtin_config(cls, preset):
    """Constructor arguments of built-in preset `preset` for model class `cls`, or None.

    `preset` names a data set of `DATASET_CLASSES`, bare or with
    `PAPER_SUFFIX`: its class names, and the class's `paper_config` (on
    "scenes": `SCENES_CONFIG` and the class's defaults) updated by the
    class's `dataset_overrides[data set]`.
    """
    if preset in paper_preset_names():
        preset = preset[: -len(PAPER_SUFFIX)]
    if preset not in DATASET_CLASSES or cls.paper_config is None:
        return None
    names = list(DATASET_CLASSES[preset])
    config = dict(SCENES_CONFIG) if preset == "scenes" else dict(cls.paper_config)
    config.update(cls.dataset_overrides.get(preset, {}))
    config.update({"num_classes": len(names), "class_names": names})
    return config
