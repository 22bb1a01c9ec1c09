"""Export a model for serving outside Keras: SavedModel, ONNX, LiteRT (and OpenVINO).

What every artifact runs: uint8 RGB images `(B, S, S, 3)` at the model's
side S -> `scores` float32 `(B, C)` (each class's probability, for ranking)
and `sets` float32 `(B, C)` in {0, 1}, the method's own decision
(`predict_sets`: its threshold, tuned thresholds or beam search), computed
inside the artifact. Resize a served image to S x S as training did: decode,
apply the EXIF orientation, antialiased bilinear resize of the whole image (no
crop), RGB uint8 (`keras_mlrnn.data.images.read_image(path, S)`, training's
pixels); the artifact normalises the pixels itself.

The class names, the decision rule and the input description travel with the
artifact in `serving.json` (inside a SavedModel folder; beside a file as
`<file>.serving.json`, e.g. `br.onnx.serving.json`); an ONNX file also
carries them in its metadata (`class_names`, `decision`, `image_size`). `keras_mlrnn.export.serving`
loads an artifact in its own runtime.

Example:
```python
import keras_mlrnn as km
model = km.BinaryRelevance(num_classes=3, backbone="tiny", image_size=32)
written = km.export.export_model(model, "/tmp/br_model", format="saved_model")
written["path"], written["bytes"]
```
"""

import json
import os
import shutil
import warnings

import keras

#: format name -> Keras' `model.export` format name
FORMATS = {
    "saved_model": "tf_saved_model",
    "onnx": "onnx",
    "litert": "litert",
    "openvino": "openvino",
}
#: Keras backend -> the formats exported from it here, each tested in its runtime. Keras
#: has more (ONNX from JAX with jax2onnx, from PyTorch with torch.onnx), untested here:
#: export from TensorFlow instead (a model's weights load on every backend).
BACKEND_FORMATS = {
    "tensorflow": ("saved_model", "onnx", "litert", "openvino"),
    "jax": ("saved_model",),
}
#: format -> (Python modules it needs to write the artifact, what to install)
FORMAT_PACKAGES = {
    "saved_model": (("tensorflow",), "pip install tensorflow"),
    "onnx": (("tf2onnx", "onnx"), "pip install 'keras-mlrnn[export]'"),
    "litert": (("tensorflow",), "pip install tensorflow"),
    "openvino": (("openvino",), "pip install openvino"),
}
#: format -> the file name ending Keras requires ("" for a folder)
SUFFIXES = {"saved_model": "", "onnx": ".onnx", "litert": ".tflite", "openvino": ".xml"}
SERVING_FILE = "serving.json"


def format_name(format):
    """`format` as this module names it ("tf_saved_model" is "saved_model"); errors name it."""
    aliases = {"tf_saved_model": "saved_model", "tflite": "litert"}
    name = aliases.get(format, format)
    if name not in FORMATS:
        raise ValueError(f"unknown export format {format!r}; choose from {', '.join(FORMATS)}.")
    return name


def check_format_available(format, backend=None):
    """One-line ValueError unless `format` can be exported here (backend and packages)."""
    import importlib.util

    backend = backend or keras.backend.backend()
    if format not in BACKEND_FORMATS.get(backend, ()):
        offered = [b for b, formats in BACKEND_FORMATS.items() if format in formats]
        raise ValueError(
            f"{format} export is not offered on the {backend} backend: run it with "
            f"KERAS_BACKEND={' or '.join(offered)} (the model's weights load on any backend)."
        )
    modules, install = FORMAT_PACKAGES[format]
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ValueError(f"{format} export needs {', '.join(missing)}: {install}.")


def serving_file(path, format):
    """Where the artifact at `path` keeps its `serving.json`."""
    if format == "saved_model":
        return os.path.join(path, SERVING_FILE)
    return f"{path}.{SERVING_FILE}"  # br.onnx -> br.onnx.serving.json: one per artifact


class ServingModel(keras.Model):
    """uint8 images `(B, S, S, 3)` -> `{"scores", "sets"}`: what an artifact runs.

    Args:
        model: a built `MultiLabelModel`.
    """

    def __init__(self, model):
        super().__init__(name=f"{model.name}_serving")
        self.inner = model
        if not model.built:
            model.build()
        self.built = True

    def call(self, images):
        return self.inner.scores_and_sets(images)


def serving_description(model, format):
    """The dict written to `serving.json`: inputs, outputs, class names, decision rule."""
    from keras_mlrnn.version import __version__

    size = model.image_size
    names = model.class_names or [f"class_{c}" for c in range(model.num_classes)]
    return {
        "format": format,
        "method": type(model).__name__,
        "class_names": list(names),
        "image_size": size,
        "input": {
            "name": "images",
            "dtype": "uint8",
            "shape": [None, size, size, 3],
            "resize": (
                f"RGB, EXIF orientation applied, the whole image resized to {size}x{size} "
                "antialiased bilinear (no crop): keras_mlrnn.data.images.read_image(path, "
                f"{size}); the artifact normalises the pixels"
            ),
        },
        "outputs": {
            "scores": "float32 (B, C): each class's probability (rank by it)",
            "sets": "float32 (B, C) in {0, 1}: the method's own decision, computed inside",
        },
        "decision": model.describe_decision(),
        "keras_mlrnn_version": __version__,
    }


def export_model(model, path, format="saved_model", verbose=False):
    """Writes `model` as a serving artifact at `path`, with its `serving.json`.

    Args:
        model: a `MultiLabelModel` (built or not; it need not have been called).
        path: str. Where to write: a folder for "saved_model", a file ending
            in `.onnx`, `.tflite` (litert) or `.xml` (openvino). Nothing is
            overwritten: an existing path is an error.
        format: str. "saved_model", "onnx", "litert" or "openvino".
        verbose: bool. Keras' and the converters' own messages.

    Returns:
        dict: "path", "serving_file", "bytes" (the artifact's size on disk),
        "format".

    Raises:
        ValueError: the format is unknown, not offered on this backend or
            its package is missing (one line saying what to install), or the
            path does not end as the format requires.
        FileExistsError: `path` or its `serving.json` exists.
    """
    format = format_name(format)
    check_format_available(format)
    suffix = SUFFIXES[format]
    if suffix and not path.endswith(suffix):
        raise ValueError(f"a {format} artifact is one file ending in {suffix}; got {path}.")
    sidecar = serving_file(path, format)
    for target in (path, sidecar):
        if os.path.exists(target):
            raise FileExistsError(
                f"{target} exists; export writes a new path, nothing is replaced."
            )
    if model.dtype_policy.name != "float32":
        raise ValueError(
            f"export the float32 model: this one computes in {model.dtype_policy.name} (rebuild "
            "it with dtype='float32' and copy the weights)."
        )
    size = model.image_size
    spec = [keras.InputSpec(shape=(None, size, size, 3), dtype="uint8", name="images")]
    serving = ServingModel(model)
    try:
        with warnings.catch_warnings():  # numpy's np.object notice, from Keras' tf2onnx patch
            warnings.filterwarnings("ignore", category=FutureWarning)
            serving.export(path, format=FORMATS[format], input_signature=spec, verbose=verbose)
    except BaseException:
        _remove_partial(path)
        if format == "openvino":
            _remove_partial(path[:-4] + ".bin")
        raise
    description = serving_description(model, format)
    if format == "onnx":
        _add_onnx_metadata(path, description)
    with open(sidecar, "w") as f:
        json.dump(description, f, indent=2)
    return {"path": path, "serving_file": sidecar, "bytes": artifact_bytes(path), "format": format}


def _add_onnx_metadata(path, description):
    """Class names, decision and image size as the ONNX file's own metadata."""
    import onnx

    graph = onnx.load(path)
    entries = {
        "class_names": json.dumps(description["class_names"]),
        "decision": description["decision"],
        "image_size": str(description["image_size"]),
        "method": description["method"],
    }
    for key, value in entries.items():
        graph.metadata_props.add(key=key, value=value)
    onnx.save(graph, path + ".partial")
    os.replace(path + ".partial", path)


def _remove_partial(path):
    """A failed export leaves no half-written artifact behind."""
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.isfile(path):
        os.remove(path)


def artifact_bytes(path):
    """An artifact's size on disk: a file, a SavedModel folder, or OpenVINO's .xml and .bin."""
    if path.endswith(".xml"):  # OpenVINO: the graph, and its weights beside it
        return sum(os.path.getsize(p) for p in (path, path[:-4] + ".bin") if os.path.isfile(p))
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(
        os.path.getsize(os.path.join(folder, name))
        for folder, _, names in os.walk(path)
        for name in names
    )
