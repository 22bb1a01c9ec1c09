"""Each script in examples/ runs end to end on tiny settings, as `python SCRIPT ARGS` would.

The scripts run in this process (`runpy`, as `__main__`, with their own
`sys.argv` and working directory): a fresh interpreter would spend most of
each test importing TensorFlow again.
"""

import contextlib
import io
import os
import runpy
import sys

import numpy as np
import pytest
from PIL import Image

from keras_mlrnn.data import VOC_CLASSES, load_scenes

pytestmark = pytest.mark.large  # end to end: left out of the fast tier (-m 'not large')

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--backbone", "tiny", "--backbone-weights", "none", "--image-size", "32"]


def _run(script, *args, cwd, monkeypatch):
    """Runs `examples/SCRIPT` with `args` in `cwd`; returns what it printed."""
    path = os.path.join(ROOT, "examples", script)
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "argv", [path, *args])
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        runpy.run_path(path, run_name="__main__")
    return printed.getvalue()


def _save_scenes(folder, count, seed=0):
    images, labels = load_scenes("test", num_images=count, image_size=32, seed=seed)
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i, image in enumerate(images):
        paths.append(os.path.join(folder, f"{i:06d}.jpg"))
        Image.fromarray(image).save(paths[-1])
    return paths, labels


def test_train_coco_on_coco128(shared_dir, tmp_path, monkeypatch):
    data = os.path.join(shared_dir, "data", "coco128")
    args = ["--dataset", "coco128", "--data-dir", data, "--model", "binary-relevance", *TINY]
    out = _run(
        "train_coco.py",
        *args,
        "--epochs",
        "1",
        "--preset-out",
        "p",
        cwd=tmp_path,
        monkeypatch=monkeypatch,
    )
    assert "binary-relevance on coco128 (test)" in out and "predict_sets" in out
    assert (tmp_path / "p" / "model.weights.h5").is_file()


def test_train_voc2007(tmp_path, monkeypatch):
    root = tmp_path / "VOCdevkit" / "VOC2007"
    os.makedirs(root / "ImageSets" / "Main")
    os.makedirs(root / "Annotations")
    paths, _ = _save_scenes(str(root / "JPEGImages"), 30)
    ids = [os.path.basename(p)[:-4] for p in paths]
    rng = np.random.default_rng(0)
    for i in ids:
        names = rng.choice(VOC_CLASSES, size=2, replace=False)
        body = "".join(f"<object><name>{n}</name><difficult>0</difficult></object>" for n in names)
        (root / "Annotations" / f"{i}.xml").write_text(f"<annotation>{body}</annotation>")
    (root / "ImageSets" / "Main" / "trainval.txt").write_text("\n".join(ids[:22]) + "\n")
    (root / "ImageSets" / "Main" / "test.txt").write_text("\n".join(ids[22:]) + "\n")
    args = ["--data-dir", str(tmp_path / "VOCdevkit"), "--model", "coarse-to-fine-rnn", *TINY]
    out = _run(
        "train_voc2007.py",
        *args,
        "--epochs",
        "1",
        "--run-dir",
        "run",
        cwd=tmp_path,
        monkeypatch=monkeypatch,
    )
    assert "coarse-to-fine-rnn on VOC 2007 test" in out
    assert (tmp_path / "run" / "model.keras").is_file()


def test_custom_dataset(tmp_path, monkeypatch):
    paths, labels = _save_scenes(str(tmp_path / "img"), 20)
    names = ["apple", "ball", "car"]
    rows = ["filename,labels"]
    for path, row in zip(paths, labels[:, :3]):
        rows.append(f"img/{os.path.basename(path)}," + " ".join(np.array(names)[row > 0]))
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    args = ["--csv", "labels.csv", *TINY, "--epochs", "1", "--predict", paths[0], paths[1]]
    out = _run("custom_dataset.py", *args, cwd=tmp_path, monkeypatch=monkeypatch)
    assert "test split" in out
    predicted = [line for line in out.splitlines() if line.startswith(paths[0])]
    assert len(predicted) == 1
    assert (tmp_path / "my_model.keras").is_file()


@pytest.mark.parametrize("method", ["coarse-to-fine-rnn", "region-attention-rnn"])
def test_predict_and_visualize_with_the_shipped_preset(method, tmp_path, monkeypatch):
    images, _ = load_scenes("test", num_images=2, image_size=64)
    for i, image in enumerate(images):
        Image.fromarray(image).save(tmp_path / f"scene{i}.png")
    args = ["scene0.png", "scene1.png", "--method", method, "--out", "pictures"]
    out = _run("predict_and_visualize.py", *args, cwd=tmp_path, monkeypatch=monkeypatch)
    assert out.startswith("scene0.png: ")
    pictures = sorted(os.listdir(tmp_path / "pictures"))
    assert pictures == ["scene0_attention.png", "scene1_attention.png"]
