"""The trained `scenes` presets in `weights/`: complete, reproducible, installable."""

import json
import os
import subprocess
import sys

import pytest

from keras_mlrnn.data.splits import load_splits
from keras_mlrnn.models import MODELS
from keras_mlrnn.presets import METADATA_FILE, preset_table
from keras_mlrnn.runs import evaluate_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEIGHTS = os.path.join(ROOT, "weights")


def _metadata(name):
    with open(os.path.join(WEIGHTS, "scenes", name, METADATA_FILE)) as f:
        return json.load(f)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_scenes_preset_reproduces_its_metric_table(name):
    metadata = _metadata(name)
    assert metadata["command"].startswith(f"keras-mlrnn train --model {name} ")
    model = MODELS[name].from_preset("scenes")  # offline, from weights/
    test = load_splits("scenes", image_size=model.image_size)["test"]
    assert len(test.labels) == metadata["num_test_images"]
    reports = evaluate_model(model, test)
    for rule, expected in metadata["reports"].items():
        assert abs(reports[rule]["mAP"] - expected["mAP"]) <= 0.005, rule
        assert abs(reports[rule]["OF1"] - expected["OF1"]) <= 0.01, rule


def test_weights_readme_holds_the_metadata_tables():
    with open(os.path.join(WEIGHTS, "README.md")) as f:
        readme = f.read()
    assert preset_table(WEIGHTS) in readme


def test_presets_install_from_a_regular_wheel(tmp_path):
    wheel_dir, target = tmp_path / "wheel", tmp_path / "site"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    subprocess.run([*build, "-w", str(wheel_dir), ROOT], check=True, capture_output=True)
    (wheel,) = wheel_dir.glob("keras_mlrnn-*.whl")
    install = [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target)]
    subprocess.run([*install, str(wheel)], check=True, capture_output=True)
    probe = (
        "import os, keras_mlrnn as km\n"
        "from keras_mlrnn.presets import weights_search_path\n"
        "model = km.OrderFreeRNN.from_preset('scenes')\n"
        "print(km.__file__)\n"
        "print([p for p in weights_search_path() if os.path.isdir(p)])\n"
        "print(model.num_classes)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target), "KERAS_MLRNN_HOME": str(tmp_path / "none")}
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


def test_pyproject_lists_every_package():
    import tomllib

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        listed = set(tomllib.load(f)["tool"]["setuptools"]["packages"])
    found = {"keras_mlrnn.weights"}
    for folder, _, files in os.walk(os.path.join(ROOT, "keras_mlrnn")):
        if "__init__.py" in files:
            found.add(os.path.relpath(folder, ROOT).replace(os.sep, "."))
    assert listed == found  # a package missing here would be missing from the wheel
