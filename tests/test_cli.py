import csv
import json
import os

import pytest

from keras_mlrnn.cli.commands import main
from keras_mlrnn.metrics.multilabel import REPORT_KEYS
from tests.fixtures import noise_photos, scenes_run

SMALL = scenes_run(96, test=48)


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

    noise_photos(tmp_path, 30, shape=(20, 24))
    lines = ["filename,labels"]
    for i in range(30):
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


def test_train_help_shows_the_defaults_a_run_uses(capsys):
    # Written out here, not read from DEFAULTS: the help must say what a run does.
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for shown in ("epochs (default 10", "per step (default 64", "pixels (default 64"):
        assert shown in text, shown
    assert "learning rate (default 0.002" in text


def test_help_and_argument_errors_import_neither_keras_nor_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from keras_mlrnn.cli.commands import main\n"
        "for argv in (['--help'], ['train', '--help'], ['train', '--epochs', '0'],\n"
        "             ['evaluate', '--help'], ['benchmark', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'keras', 'tensorflow', 'jax'})\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "must be a positive integer, got 0" in result.stderr


def test_resume_trains_on_to_more_epochs_and_refuses_other_changes(tmp_path, capsys):
    run = str(tmp_path / "run")
    assert main(["train", "--epochs", "1", "--batch-size", "32", "--run-dir", run, *SMALL]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", run, "--batch-size", "16"]) == 2
    err = capsys.readouterr().err
    assert "options differ" in err and "batch_size (saved 32, given 16)" in err
    assert main(["train", "--resume", run, "--epochs", "2"]) == 0
    assert "training on to 2 epochs (was 1)" in capsys.readouterr().out
    history = os.path.join(run, "history.csv")
    with open(history) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2  # epochs 1 and 2
    with open(os.path.join(run, "run_config.json")) as f:
        assert json.load(f)["epochs"] == 2
    # The training time counts the first process's epoch too, not only the resumed fit.
    epoch_seconds = [float(row["epoch_seconds"]) for row in rows]
    assert min(epoch_seconds) > 0
    with open(os.path.join(run, "metrics.json")) as f:
        assert json.load(f)["train_seconds"] >= round(sum(epoch_seconds), 1) - 0.1
    # A history written before the seconds column: resumed, it keeps one header.
    with open(history, newline="") as f:
        rows = [{k: v for k, v in row.items() if k != "epoch_seconds"} for row in csv.DictReader(f)]
    with open(history, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main(["train", "--resume", run, "--epochs", "3"]) == 0
    with open(history, newline="") as f:
        lines = list(csv.reader(f))
    assert len(lines) == 4 and len({len(line) for line in lines}) == 1
    assert "epoch_seconds" not in lines[0]


def test_evaluate_any_model_on_a_csv_with_its_class_names(tmp_path, capsys):

    import keras_mlrnn as km

    names = ["dining table", "person", "sky"]
    model = km.BinaryRelevance(num_classes=3, class_names=names, backbone="tiny", image_size=16)
    model.save(str(tmp_path / "model.keras"))
    noise_photos(tmp_path, 6)
    rows = ["filename,labels"]
    for i in range(6):
        rows.append(f"{i}.png,{'dining table|person' if i % 2 else 'person'}")
    (tmp_path / "mine.csv").write_text("\n".join(rows) + "\n")
    target = str(tmp_path / "model.keras")
    assert main(["evaluate", target]) == 2  # no run beside it: which data?
    assert "--dataset" in capsys.readouterr().err
    csv = ["--dataset", "csv", "--csv", str(tmp_path / "mine.csv")]
    assert main(["evaluate", target, *csv, "--split", "all"]) == 0
    captured = capsys.readouterr()
    assert "no image of the data has 'sky' (1 of the model's 3 classes)" in captured.err
    assert "(csv, all)" in captured.out and "mAP" in captured.out
    (tmp_path / "mine.csv").write_text("filename,labels\n0.png,cat\n")
    assert main(["evaluate", target, *csv, "--split", "all"]) == 2
    assert "unknown class 'cat'" in capsys.readouterr().err


def test_a_cli_run_prints_no_tensorflow_logs_or_warnings(tmp_path):
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    code = "import sys; from keras_mlrnn.cli.commands import main; sys.exit(main(sys.argv[1:]))"
    argv = ["train", "--epochs", "1", "--run-dir", str(tmp_path / "run"), *SMALL]
    result = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for noise in ("cpu_feature_guard", "absl", "Warning", "will be ignored"):
        assert noise not in result.stderr, result.stderr[-2000:]
    stats = subprocess.run(
        [sys.executable, "-c", code, "data", "stats"], capture_output=True, text=True, env=env
    )
    assert stats.returncode == 0 and "absl" not in stats.stderr, stats.stderr[-2000:]


def test_csv_delimiter_option(tmp_path, capsys):

    noise_photos(tmp_path, 4, shape=(8, 8))
    rows = ["filename,labels"]
    for i in range(4):
        rows.append(f"{i}.png,dining table/cat" if i % 2 else f"{i}.png,cat")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    args = ["data", "stats", "--dataset", "csv", "--csv", str(tmp_path / "labels.csv")]
    assert main([*args, "--csv-delimiter", "/"]) == 0
    assert "2 classes" in capsys.readouterr().out  # 'dining table' and 'cat'
    assert main(args) == 0
    assert "3 classes" in capsys.readouterr().out  # by spaces: 'dining', 'table/cat', 'cat'


def test_tensorflow_start_up_notices_are_dropped_and_other_lines_kept(tmp_path):
    import subprocess
    import sys

    # A stand-in "tensorflow" that writes like TensorFlow's C++ side, to fd 2.
    fake = "import os\nos.write(2, b'WARNING: All log messages before absl::InitializeLog() "
    fake += "is called\\nI0000 port.cc:153] oneDNN custom operations are on.\\nreal problem\\n')\n"
    (tmp_path / "tensorflow.py").write_text(fake)
    code = "from keras_mlrnn.cli.quiet_import import import_tensorflow_quietly as f; print(f())"
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.stdout == "True\n" and result.stderr == "real problem\n"


def test_the_backend_is_read_as_keras_reads_it(tmp_path, monkeypatch):
    from keras_mlrnn.cli.quiet_import import keras_backend_name

    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert keras_backend_name() == "tensorflow"  # no keras.json: Keras' default
    (tmp_path / "keras.json").write_text('{"backend": "jax", "floatx": "float32"}')
    assert keras_backend_name() == "jax"
    monkeypatch.setenv("KERAS_BACKEND", "torch")  # the variable wins over the file
    assert keras_backend_name() == "torch"
    monkeypatch.delenv("KERAS_BACKEND")
    (tmp_path / "keras.json").write_text("not json")
    assert keras_backend_name() == "tensorflow"
