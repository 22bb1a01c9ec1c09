"""The CNNs under every method: a name, `"tiny"` or a user `keras.Model` -> a feature-map extractor.

Owns: building a backbone by name, its preprocessing, its weights file, freezing batch norm.
May import: nothing else of keras_mlrnn.
"""

from keras_mlrnn.backbones.feature_extractors import (
    BACKBONE_NAMES,
    build_backbone,
    freeze_batch_norm,
    load_backbone_weights,
    preprocess,
    preprocessing_mode,
    tiny_backbone,
)
