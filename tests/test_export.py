"""Exported models run in their real runtimes and agree with Keras (issue 37).

Each artifact is loaded by the format's own runtime (`tf.saved_model.load`,
ONNX Runtime, the LiteRT interpreter, OpenVINO) through
`keras_mlrnn.export.serving.load_artifact`, never by Keras, and compared with the
Keras model on the same uint8 images: scores within 1e-4, identical
decisions (`predict_sets`: thresholds or the on-device beam search).
"""

import glob
import json
import os

import keras
import numpy as np
import pytest

from keras_mlrnn.catalog import METHODS
from keras_mlrnn.export.formats import BACKEND_FORMATS, SUFFIXES, check_format_available
from keras_mlrnn.export.serving import compare_with_model, load_artifact
from keras_mlrnn.models import MODELS

ON_TENSORFLOW = keras.backend.backend() == "tensorflow"
NAMES = ["cat", "dog", "car", "tree", "sky"]


def _tiny(method):
    """A fresh tiny model: never called, never built by hand."""
    return MODELS[method](num_classes=5, backbone="tiny", image_size=32, class_names=NAMES)


def _images(count=4, size=32):
    return np.random.RandomState(1).randint(0, 256, (count, size, size, 3)).astype("uint8")


def _check(model, path, images):
    artifact = load_artifact(path)
    check = compare_with_model(model, artifact, images)
    assert check["max_score_difference"] <= 1e-4, check
    assert check["sets_equal"], check
    assert artifact.class_names == (model.class_names or artifact.class_names)
    assert artifact.image_size == model.image_size
    assert artifact.decision == model.describe_decision()
    return artifact


# OpenVINO, the optional runtime, for a thresholding method and a beam search only.
CASES = [(m, f) for m in sorted(METHODS) for f in ("saved_model", "onnx", "litert")] + [
    ("binary-relevance", "openvino"),
    ("order-free-rnn", "openvino"),
]


@pytest.mark.large
@pytest.mark.skipif(not ON_TENSORFLOW, reason="ONNX, LiteRT and OpenVINO export from TensorFlow")
@pytest.mark.parametrize("method, format", CASES)
def test_every_method_runs_in_every_runtime_as_in_keras(method, format, tmp_path):
    model = _tiny(method)
    path = str(tmp_path / f"model{SUFFIXES[format]}")
    written = model.export(path, format=format)
    assert written["path"] == path and written["bytes"] > 0
    _check(model, path, _images())
    # A different batch size than the check's: the batch dimension stays free.
    scores, sets = load_artifact(path)(_images(count=1))
    assert scores.shape == sets.shape == (1, 5)


@pytest.mark.parametrize("method", ["binary-relevance", "order-free-rnn"])
def test_saved_model_on_every_backend(method, tmp_path):
    """SavedModel from the backend the tests run on (TensorFlow, and JAX in its tier)."""
    model = _tiny(method)
    path = str(tmp_path / "saved")
    model.export(path, format="saved_model")
    artifact = _check(model, path, _images())
    with open(os.path.join(path, "serving.json")) as f:
        description = json.load(f)
    assert description["input"]["dtype"] == "uint8"
    assert description["input"]["shape"] == [None, 32, 32, 3]
    assert description["class_names"] == NAMES == artifact.class_names


@pytest.mark.skipif(not ON_TENSORFLOW, reason="ONNX metadata is written on TensorFlow")
def test_onnx_file_carries_the_class_names_and_the_rule(tmp_path):
    import onnx

    model = MODELS["binary-relevance"](
        num_classes=5, backbone="tiny", image_size=32, class_names=NAMES, threshold=0.3, top_k=2
    )
    path = str(tmp_path / "br.onnx")
    model.export(path, format="onnx")
    meta = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert json.loads(meta["class_names"]) == NAMES
    assert meta["image_size"] == "32" and meta["method"] == "BinaryRelevance"
    assert meta["decision"] == (
        "sets = scores >= 0.3, within each image's top 2 scores (ties: the lower class index)"
    )
    _check(model, path, _images(count=6))  # top-2 inside the graph, as in Keras


@pytest.mark.large
@pytest.mark.skipif(not ON_TENSORFLOW, reason="ONNX and LiteRT export from TensorFlow")
def test_a_shipped_voc_preset_runs_in_every_runtime(tmp_path):
    """The voc2007_mobilenet_v2 order-free-rnn preset (MobileNetV2 224 px, beam search):
    real VOC photos where ../shared is present, else generated scenes."""
    from keras_mlrnn.presets.loading import load_preset

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    model = load_preset(os.path.join(root, "weights", "voc2007_mobilenet_v2", "order-free-rnn"))
    shared = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "voc2007")
    photos = sorted(glob.glob(os.path.join(shared, "VOCdevkit", "VOC2007", "JPEGImages", "*.jpg")))
    if photos:
        from keras_mlrnn.data.images import read_images

        images = read_images(photos[:6], 224)
    else:
        from keras_mlrnn.data import load_scenes

        images, _ = load_scenes("test", num_images=6, image_size=224)
    for format in ("saved_model", "onnx", "litert"):
        path = str(tmp_path / f"ofr{SUFFIXES[format]}")
        model.export(path, format=format)
        artifact = _check(model, path, images)
        assert artifact.class_names[:3] == ["aeroplane", "bicycle", "bird"]


def test_export_refuses_what_it_cannot_do_in_one_line(tmp_path, monkeypatch):
    model = _tiny("binary-relevance")
    with pytest.raises(ValueError, match="unknown export format 'torchscript'"):
        model.export(str(tmp_path / "m"), format="torchscript")
    with pytest.raises(ValueError, match=r"one file ending in \.onnx"):
        model.export(str(tmp_path / "m.bin"), format="onnx")
    with pytest.raises(ValueError, match="litert export is not offered on the jax backend: run "
                       "it with KERAS_BACKEND=tensorflow"):  # fmt: skip
        check_format_available("litert", backend="jax")
    assert "saved_model" in BACKEND_FORMATS["jax"]

    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tf2onnx" else find_spec(name)
    )
    with pytest.raises(ValueError, match=r"onnx export needs tf2onnx: pip install 'keras-mlrnn\["):
        check_format_available("onnx", backend="tensorflow")


def test_export_never_replaces_what_is_there(tmp_path):
    model = _tiny("binary-relevance")
    target = tmp_path / "saved"
    target.mkdir()
    (target / "mine.txt").write_text("the user's")
    with pytest.raises(FileExistsError, match="nothing is replaced"):
        model.export(str(target), format="saved_model")
    assert os.listdir(target) == ["mine.txt"]


@pytest.mark.skipif(not ON_TENSORFLOW, reason="the CLI exports ONNX from TensorFlow")
def test_cli_export_writes_checks_and_says_so(tmp_path, capsys):
    from keras_mlrnn.cli.commands import main

    out = str(tmp_path / "br.onnx")
    argv = ["export", "scenes", "--method", "binary-relevance", "--format", "onnx", "--out", out]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert f"Wrote {out} (" in printed and "MiB, onnx)" in printed
    assert "Checked against Keras on 4 images" in printed and "the same decisions" in printed
    assert os.path.isfile(out) and os.path.isfile(str(tmp_path / "br.onnx.serving.json"))
    assert main(argv) == 2  # a second export to the same path is refused
    assert "exists" in capsys.readouterr().err
