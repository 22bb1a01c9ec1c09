"""Run an exported artifact in its own runtime, without Keras: to check or to serve it.

`load_artifact(path)` opens what `keras_mlrnn.export.formats.export_model` wrote
with the format's real runtime (TensorFlow's `tf.saved_model.load`, ONNX
Runtime, the LiteRT interpreter, OpenVINO) and returns an `Artifact`:
uint8 images `(B, S, S, 3)` -> `(scores, sets)` numpy arrays, with the class
names and decision rule of its `serving.json`.

Example:
```python
from keras_mlrnn.export.serving import load_artifact
artifact = load_artifact("/tmp/br_model")     # a SavedModel folder
scores, sets = artifact(images)               # uint8 (B, S, S, 3)
artifact.class_names, artifact.decision
```
"""

import json
import os

import numpy as np

from keras_mlrnn.export.formats import SERVING_FILE, SUFFIXES, serving_file

#: file name ending -> format ("" is a folder: a SavedModel)
FORMAT_OF_SUFFIX = {suffix: format for format, suffix in SUFFIXES.items() if suffix}


def artifact_format(path):
    """The format of the artifact at `path`, from its name (a folder is a SavedModel)."""
    if os.path.isdir(path):
        return "saved_model"
    suffix = os.path.splitext(path)[1]
    if suffix not in FORMAT_OF_SUFFIX:
        raise ValueError(
            f"{path} is not an exported model: expected a SavedModel folder or a file ending in "
            f"{', '.join(FORMAT_OF_SUFFIX)}."
        )
    return FORMAT_OF_SUFFIX[suffix]


class Artifact:
    """An exported model in its runtime: `artifact(images) -> (scores, sets)`.

    Attributes:
        path, format: where it is and which format.
        description: its `serving.json` (class names, image size, decision).
        class_names, image_size, decision: from the description.
    """

    def __init__(self, path, format, run, description):
        self.path = path
        self.format = format
        self.description = description
        self.class_names = description["class_names"]
        self.image_size = description["image_size"]
        self.decision = description["decision"]
        self._run = run

    def __call__(self, images):
        images = np.asarray(images)
        size = self.image_size
        if images.dtype != np.uint8 or images.shape[1:] != (size, size, 3):
            raise ValueError(
                f"{self.path} takes uint8 images (B, {size}, {size}, 3); got {images.dtype} "
                f"{images.shape}."
            )
        out = self._run(images)
        return np.asarray(out["scores"], np.float32), np.asarray(out["sets"], np.float32)


def load_artifact(path):
    """The artifact at `path` (SavedModel folder, .onnx, .tflite or OpenVINO .xml) in its runtime.

    Raises:
        FileNotFoundError: no artifact, or no `serving.json` beside it.
        ValueError: not an exported model's name.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"no exported model at {path}.")
    format = artifact_format(path)
    sidecar = serving_file(path, format)
    if not os.path.isfile(sidecar):
        raise FileNotFoundError(
            f"{path} has no {SERVING_FILE} ({sidecar}): it was not written by keras_mlrnn.export."
        )
    with open(sidecar) as f:
        description = json.load(f)
    run = {
        "saved_model": _saved_model,
        "onnx": _onnx,
        "litert": _litert,
        "openvino": _openvino,
    }[format](path)
    return Artifact(path, format, run, description)


def _saved_model(path):
    import tensorflow as tf

    loaded = tf.saved_model.load(path)

    def run(images):
        out = loaded.serve(tf.constant(images))  # `loaded` stays referenced by this closure
        return {name: value.numpy() for name, value in out.items()}

    return run


def _onnx(path):
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    names = [output.name for output in session.get_outputs()]

    def run(images):
        return dict(zip(names, session.run(names, {input_name: images})))

    return run


def _litert(path):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # TensorFlow's own copy of the interpreter
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    runner = Interpreter(model_path=path).get_signature_runner()

    def run(images):
        return runner(images=images)  # the runner resizes its input to the batch

    return run


def _openvino(path):
    import openvino

    compiled = openvino.Core().compile_model(path, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})

    def run(images):
        result = compiled(images)
        return {next(iter(output.get_names())): result[output] for output in compiled.outputs}

    return run


def compare_with_model(model, artifact, images):
    """How the artifact's outputs differ from the Keras model's on `images` (uint8).

    Returns:
        dict: "max_score_difference" (largest absolute difference of the
        scores), "sets_equal" (bool: the same decisions), "images" (count).
    """
    scores, sets = model.predict_scores_and_sets(images)
    served_scores, served_sets = artifact(images)
    return {
        "max_score_difference": float(np.max(np.abs(served_scores - scores))),
        "sets_equal": bool(np.array_equal(served_sets, sets)),
        "images": int(len(images)),
    }
