import json
import os

import pytest

from keras_mlrnn.cli import main
from keras_mlrnn.metrics import REPORT_KEYS

SMALL = ["--train-size", "96", "--val-size", "32", "--test-size", "48", "--image-size", "32"]


def test_train_writes_a_complete_run_and_evaluate_reads_it(tmp_path, capsys):
    run = str(tmp_path / "run")
    preset = str(tmp_path / "preset")
    args = ["train", "--epochs", "2", "--batch-size", "32", "--run-dir", run, *SMALL]
    assert main(args + ["--save-preset", preset]) == 0
    out = capsys.readouterr().out
    assert "| threshold 0.5 |" in out and "mAP" in out
    for name in (
        "run_config.json",
        "history.csv",
        "model.keras",
        "metrics.json",
        "metrics.md",
        "training_curves.png",
    ):
        assert os.path.isfile(os.path.join(run, name)), name
    assert os.listdir(os.path.join(run, "checkpoints"))
    with open(os.path.join(run, "metrics.json")) as f:
        metrics = json.load(f)
    assert metrics["finished"] and metrics["num_test_images"] == 48
    for rule in ("threshold 0.5", "top-3", "predict_sets"):
        assert set(metrics["reports"][rule]) == set(REPORT_KEYS)
    with open(os.path.join(run, "history.csv")) as f:
        assert len(f.read().strip().splitlines()) == 3  # header + 2 epochs

    with open(os.path.join(preset, "metadata.json")) as f:
        meta = json.load(f)
    assert meta["reports"] == metrics["reports"] and "--save-preset" in meta["command"]
    assert len(meta["weights_sha256"]) == 64

    assert main(["evaluate", run, "--test-size", "48"]) == 0
    table = capsys.readouterr().out
    expected = f"{100 * metrics['reports']['threshold 0.5']['mAP']:.2f}"
    assert expected in table


def test_existing_run_is_never_overwritten_silently(tmp_path, capsys):
    run = str(tmp_path / "run")
    args = ["train", "--epochs", "1", "--run-dir", run, *SMALL]
    assert main(args) == 0
    before = os.path.getmtime(os.path.join(run, "model.keras"))
    capsys.readouterr()
    assert main(args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert os.path.getmtime(os.path.join(run, "model.keras")) == before
    assert main(args + ["--overwrite"]) == 0


def test_a_run_that_never_trained_is_replaced_without_overwrite(tmp_path, capsys):
    run = str(tmp_path / "run")
    bad = ["train", "--epochs", "1", "--run-dir", run, "--dataset", "csv", "--csv", "missing.csv"]
    assert main(bad) == 2  # fails on its data: run_config.json written, nothing trained
    assert os.listdir(run) == ["run_config.json"]
    capsys.readouterr()
    assert main(["train", "--epochs", "1", "--run-dir", run, *SMALL]) == 0
    assert os.path.isfile(os.path.join(run, "model.keras"))


def test_foreign_directory_is_left_alone(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["train", "--epochs", "1", "--run-dir", str(tmp_path), *SMALL]) == 2
    assert "not a keras-mlrnn run directory" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_unknown_model_is_rejected():
    with pytest.raises(SystemExit):
        main(["train", "--model", "no-such-method"])


def test_train_on_a_csv_of_own_images(tmp_path, capsys):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    lines = ["filename,labels"]
    for i in range(30):
        Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).save(
            tmp_path / f"{i}.png"
        )
        lines.append(f"{i}.png,{'cat' if i % 2 else 'dog'}{' sky' if i % 3 == 0 else ''}")
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    run = str(tmp_path / "run")
    csv = str(tmp_path / "labels.csv")
    args = ["train", "--dataset", "csv", "--csv", csv, "--image-size", "32", "--epochs", "1"]
    args += ["--batch-size", "8", "--run-dir", run]
    assert main(args) == 0
    with open(os.path.join(run, "metrics.json")) as f:
        assert json.load(f)["num_test_images"] == 3  # 10% of 30
    capsys.readouterr()
    assert main(["evaluate", run, "--ten-crop", "40", "36"]) == 0  # the papers' multi-crop rows
    assert "10-crop, top-3" in capsys.readouterr().out
    assert main(["evaluate", run, "--ten-crop", "32"]) == 2
    assert "must exceed the model's image size 32" in capsys.readouterr().err
    assert main(["data", "stats", "--dataset", "csv", "--csv", str(tmp_path / "labels.csv")]) == 0
    out = capsys.readouterr().out
    assert "train: 24 images, 3 classes" in out


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--epochs", "0", "argument --epochs: must be a positive integer, got 0"),
        ("--batch-size", "0", "argument --batch-size: must be a positive integer, got 0"),
        ("--learning-rate", "-1", "argument --learning-rate: must be a positive finite number"),
        ("--learning-rate", "nan", "argument --learning-rate: must be a positive finite number"),
        ("--image-size", "big", "argument --image-size: expected a positive integer, got 'big'"),
    ],
)
def test_bad_numeric_options_are_named_before_anything_runs(option, value, message, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train", option, value])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_train_help_shows_the_defaults(capsys):
    from keras_mlrnn.runs import DEFAULTS

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for key in ("epochs", "batch_size", "image_size", "learning_rate"):
        assert f"(default {DEFAULTS[key]}" in text, key
