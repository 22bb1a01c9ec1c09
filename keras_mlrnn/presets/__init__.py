"""Presets: a directory with `config.json`, `model.weights.h5` and `metadata.json`, and their names.

Owns: saving and loading preset directories, the built-in and trained presets' names,
the search path and remote handles, weights files without the backbone.
May import: `backbones`, `data` (class lists), `utils`, `catalog`, `version`. Never
`models`: a class reaches a preset through `load_preset(preset, cls)` or Keras' registry.
"""

from keras_mlrnn.presets.files import (
    CONFIG_FILE,
    HEAD_WEIGHTS_FILE,
    METADATA_FILE,
    WEIGHTS_FILE,
    fetch_preset,
    is_preset_dir,
    weights_search_path,
)
from keras_mlrnn.presets.loading import load_preset
from keras_mlrnn.presets.names import preset_names, trained_presets
from keras_mlrnn.presets.saving import preset_table, save_to_preset, update_metadata
