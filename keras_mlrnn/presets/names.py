"""The names `from_preset` takes: trained presets found on the search path, data sets, papers.

A trained preset is a folder `<root>/<preset>/<model cli name>/` on
`keras_mlrnn.presets.files.weights_search_path()`; a data set's own name
("coco") stands for the zoo's trained preset for it
(`keras_mlrnn.presets.configs.TRAINED_PRESETS`) and is announced in one line
when it loads one; "<data set>_paper" is a paper's configuration.
`keras_mlrnn.presets.loading.load_preset` resolves them.

Example:
```python
import keras_mlrnn as km
from keras_mlrnn.presets.names import preset_names
preset_names(km.OrderFreeRNN)   # ['coco', 'coco_paper', ..., 'scenes', 'voc2007', ...]
```
"""

import functools
import json
import os
import sys

from keras_mlrnn.presets.files import CONFIG_FILE, METADATA_FILE, weights_search_path


def cli_name(cls):
    """The CLI name of a model class ("order-free-rnn"), its folder under a preset root."""
    return cls.cli_name or cls.__name__


def trained_presets(cls=None):
    """Names of the trained presets found on `weights_search_path()` (of `cls`, if given)."""
    names = set()
    for root in weights_search_path():
        if not os.path.isdir(root):
            continue
        for preset in os.listdir(root):
            folder = os.path.join(root, preset)
            if not os.path.isdir(folder):
                continue
            methods = [cli_name(cls)] if cls is not None else os.listdir(folder)
            if any(os.path.isfile(os.path.join(folder, m, CONFIG_FILE)) for m in methods):
                names.add(preset)
    return sorted(names)


def preset_names(cls):
    """Every name `cls.from_preset` takes besides a path or URL, sorted.

    The trained presets installed for `cls`, the data sets' own names and
    the paper configurations ("coco_paper", ...).
    """
    from keras_mlrnn.data.class_lists import DATASET_CLASSES
    from keras_mlrnn.presets.configs import paper_preset_names

    return sorted({*trained_presets(cls), *DATASET_CLASSES, *paper_preset_names()})


def trained_folder(preset, name):
    """`root/preset/name` of the first search-path root holding that preset, and all tried."""
    candidates = [os.path.join(root, preset, name) for root in weights_search_path()]
    found = next((c for c in candidates if os.path.isfile(os.path.join(c, CONFIG_FILE))), None)
    return found, candidates


@functools.cache
def announce(preset, class_name, folder):
    """One line, once a process, saying what the model a data set's name loaded was trained on."""
    from keras_mlrnn.presets.configs import PAPER_SUFFIX

    with open(os.path.join(folder, METADATA_FILE)) as f:
        meta = json.load(f)
    with open(os.path.join(folder, CONFIG_FILE)) as f:
        config = json.load(f)["config"]
    trained = meta.get("num_train_images")
    photos = f"{trained} {meta.get('dataset')} photos" if trained else f"{meta.get('dataset')}"
    score = meta.get("reports", {}).get("predict_sets", {}).get("mAP")
    tested = ""
    if score is not None:
        tested = f"; test mAP {100 * score:.1f} on {meta.get('num_test_images')} photos"
    family = os.path.basename(os.path.dirname(folder))
    print(
        f"{class_name}.from_preset({preset!r}): the preset {family}, trained on {photos} "
        f"({config.get('backbone')}, {config.get('image_size')} px){tested}"
        f". The paper's configuration: from_preset({preset + PAPER_SUFFIX!r}).",
        file=sys.stderr,
    )
