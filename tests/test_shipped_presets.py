"""The trained `scenes` presets in `weights/`: complete, reproducible, installable."""

import json
import os
import subprocess
import sys
import zipfile

import pytest

from keras_mlrnn.data.scenes import SCENE_CLASS_NAMES, load_scenes
from keras_mlrnn.data.splits import DataSplit, load_splits
from keras_mlrnn.models import MODELS
from keras_mlrnn.presets import METADATA_FILE, preset_table
from keras_mlrnn.runs import evaluate_model

pytestmark = pytest.mark.large  # end to end: left out of the fast tier (-m 'not large')

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEIGHTS = os.path.join(ROOT, "weights")
VOC = "voc2007_mobilenet_v2"
BACKBONE = "mobilenet_v2_1.0_224_imagenet_notop.weights.h5"


def _metadata(name):
    with open(os.path.join(WEIGHTS, "scenes", name, METADATA_FILE)) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def scenes_test():
    """The scenes test split the presets were scored on (seed 0, 64 px), drawn once."""
    images, labels = load_scenes("test", image_size=64, seed=0)
    return DataSplit(labels, list(SCENE_CLASS_NAMES), images=images)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_scenes_preset_reproduces_its_metric_table(name, scenes_test):
    metadata = _metadata(name)
    assert metadata["command"].startswith(f"keras-mlrnn train --model {name} ")
    model = MODELS[name].from_preset("scenes")  # offline, from weights/
    assert model.image_size == 64
    test = scenes_test
    assert len(test.labels) == metadata["num_test_images"]
    # 8 batches of 250: a smaller last batch would trace the beam search again on TensorFlow
    reports = evaluate_model(model, test, batch_size=250)
    for rule, expected in metadata["reports"].items():
        assert abs(reports[rule]["mAP"] - expected["mAP"]) <= 0.005, rule
        assert abs(reports[rule]["OF1"] - expected["OF1"]) <= 0.01, rule


def test_weights_readme_holds_the_metadata_tables():
    with open(os.path.join(WEIGHTS, "README.md")) as f:
        readme = f.read()
    assert preset_table(WEIGHTS) in readme
    assert preset_table(WEIGHTS, VOC) in readme


@pytest.fixture(scope="module")
def voc_test_features(tmp_path_factory):
    """The VOC 2007 test split and its MobileNetV2 features, computed once for the six presets."""
    shared = os.path.join(ROOT, "..", "shared")
    if not os.path.isdir(shared):
        pytest.skip("../shared is absent")
    from keras_mlrnn.feature_cache import FeatureCache

    test = load_splits("voc2007", data_dir=os.path.join(shared, "data", "voc2007"))["test"]
    model = MODELS["binary-relevance"].from_preset(VOC)
    cache = FeatureCache(str(tmp_path_factory.mktemp("voc_features")), model, verbose=False)
    cache.view(test, "test")
    return test, cache


@pytest.mark.parametrize("name", sorted(MODELS))
def test_voc2007_preset_reproduces_its_metric_table(name, voc_test_features):
    from keras_mlrnn.feature_cache import FeatureCache

    test, cache = voc_test_features
    with open(os.path.join(WEIGHTS, VOC, name, METADATA_FILE)) as f:
        metadata = json.load(f)
    assert metadata["command"].startswith(f"keras-mlrnn train --model {name} ")
    assert "--train-on-val" in metadata["command"] and metadata["num_test_images"] == 1000
    model = MODELS[name].from_preset(VOC)  # offline: weights/ and the shipped backbone
    # every preset shares one backbone, so one set of cached test features serves all
    features = FeatureCache(cache.directory, model, verbose=False).batches(test, "test", 100)
    reports = evaluate_model(model, test, data=features)
    for rule, expected in metadata["reports"].items():
        assert abs(reports[rule]["mAP"] - expected["mAP"]) <= 0.005, rule
    if name == "binary-relevance":  # a linear probe on these features scores 79.0
        assert reports["predict_sets"]["mAP"] >= 0.79


def test_presets_install_from_a_regular_wheel(tmp_path):
    wheel_dir, target = tmp_path / "wheel", tmp_path / "site"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    subprocess.run([*build, "-w", str(wheel_dir), ROOT], check=True, capture_output=True)
    (wheel,) = wheel_dir.glob("keras_mlrnn-*.whl")
    # PyPI refuses files over 100 MB
    assert os.path.getsize(wheel) < 100 * 2**20, f"wheel of {os.path.getsize(wheel)} bytes"
    # A wheel of pure Python installs by unpacking it into site-packages
    # (what `pip install --no-deps --target` does with it, without pip's start-up).
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    probe = (
        "import os, keras_mlrnn as km\n"
        "from keras_mlrnn.presets import weights_search_path\n"
        "model = km.OrderFreeRNN.from_preset('scenes')\n"
        "voc = km.CoarseToFineRNN.from_preset('voc2007_mobilenet_v2')\n"
        "assert voc.class_names[0] == 'aeroplane' and not voc.backbone_trainable\n"
        "print(km.__file__)\n"
        "print([p for p in weights_search_path() if os.path.isdir(p)])\n"
        "print(model.num_classes)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target), "KERAS_MLRNN_HOME": str(tmp_path / "none")}
    env["KERAS_BACKEND"] = "torch"  # any backend reads presets; JAX compiles every initializer
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    module_file, roots, classes = result.stdout.strip().splitlines()[-3:]
    assert module_file.startswith(str(target))  # the installed copy, not the checkout
    assert roots == repr([os.path.join(str(target), "keras_mlrnn", "weights")])
    assert classes == "20"
    installed = target / "keras_mlrnn" / "weights" / "scenes"
    assert sorted(os.listdir(installed)) == sorted(MODELS)
    for name in MODELS:
        files = sorted(os.listdir(installed / name))
        assert files == ["config.json", "metadata.json", "model.weights.h5"], name
        size = os.path.getsize(installed / name / "model.weights.h5")
        assert size < 20 * 2**20, f"{name}: {size} bytes"
    voc = target / "keras_mlrnn" / "weights" / VOC
    assert sorted(os.listdir(voc)) == sorted(MODELS)
    for name in MODELS:  # the backbone is shipped once, in weights/backbones/
        assert sorted(os.listdir(voc / name)) == ["config.json", "head.weights.h5", "metadata.json"]
    assert os.listdir(target / "keras_mlrnn" / "weights" / "backbones") == [BACKBONE]


def test_pyproject_lists_every_package():
    import tomllib

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        listed = set(tomllib.load(f)["tool"]["setuptools"]["packages"])
    found = {"keras_mlrnn.weights"}
    for folder, _, files in os.walk(os.path.join(ROOT, "keras_mlrnn")):
        if "__init__.py" in files:
            found.add(os.path.relpath(folder, ROOT).replace(os.sep, "."))
    assert listed == found  # a package missing here would be missing from the wheel
