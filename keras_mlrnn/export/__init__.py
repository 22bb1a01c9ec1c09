"""Models served outside Keras: export (SavedModel, ONNX, LiteRT, OpenVINO), run the artifacts.

Owns: the formats, the serving wrapper and its description, each runtime's loader.
May import: `version`.
"""

from keras_mlrnn.export.formats import (
    FORMATS,
    ServingModel,
    artifact_bytes,
    check_format_available,
    export_model,
    format_name,
    serving_description,
)
