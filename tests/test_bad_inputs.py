"""The bad-input table, walked through the `keras-mlrnn` command's `main`.

Each case must end with exit status 2 and one line `error: ...` naming the
file or option at fault; any other exception escaping `main` (what the
console script would print as a traceback) fails the case.
"""

import json
import os
import warnings

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.large  # end to end: left out of the fast tier (-m 'not large')


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    """A folder of bad inputs: CSVs, images, a damaged preset, COCO annotations."""
    root = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), np.uint8)).save(root / f"{i}.jpg")
    data = (root / "5.jpg").read_bytes()
    (root / "5.jpg").write_bytes(data[: len(data) // 2])  # truncated JPEG
    good = "\n".join(f"{i}.jpg,{'cat' if i % 2 else 'dog'}" for i in range(5))
    (root / "good.csv").write_text("filename,labels\n" + good + "\n")
    (root / "comma.csv").write_text("filename,labels\n" + good + "\n0.jpg,cat,dog\n")
    (root / "empty.csv").write_text("filename,labels\n" + "".join(f"{i}.jpg,\n" for i in range(5)))
    (root / "corrupt.csv").write_text("filename,labels\n" + good + "\n5.jpg,cat\n")

    import keras_mlrnn as km

    model = km.BinaryRelevance(num_classes=2, backbone="tiny", image_size=16)
    model.save_to_preset(str(root / "preset"))
    os.makedirs(root / "lone")
    model.save(str(root / "lone" / "model.keras"))
    weights = root / "preset" / "model.weights.h5"
    weights.write_bytes(weights.read_bytes()[:1500])
    os.remove(root / "preset" / "metadata.json")

    os.makedirs(root / "coco" / "annotations")
    os.makedirs(root / "coco" / "train2014")
    with open(root / "coco" / "annotations" / "instances_train2014.json", "w") as f:
        json.dump(
            {
                "images": [{"id": 1, "file_name": "0.jpg"}],
                "categories": [{"id": 1, "name": "person"}],
                "annotations": [{"id": 1, "image_id": 1, "category_id": 99, "iscrowd": 0}],
            },
            f,
        )
    return root


CASES = {
    "zero epochs": (["train", "--epochs", "0"], "--epochs"),
    "negative learning rate": (["train", "--learning-rate", "-1"], "--learning-rate"),
    "missing CSV": (["train", "--dataset", "csv", "--csv", "{root}/nope.csv"], "nope.csv"),
    "unquoted comma": (["train", "--dataset", "csv", "--csv", "{root}/comma.csv"], "comma.csv"),
    "labels all empty": (["train", "--dataset", "csv", "--csv", "{root}/empty.csv"], "empty.csv"),
    "corrupt image": (["train", "--dataset", "csv", "--csv", "{root}/corrupt.csv"], "5.jpg"),
    "unknown COCO category": (
        ["train", "--dataset", "coco", "--data-dir", "{root}/coco"],
        "instances_train2014.json",
    ),
    "evaluate a lone file": (["evaluate", "{root}/lone/model.keras"], "--dataset"),
    "truncated preset weights": (
        ["predict", "--preset", "{root}/preset", "{root}/0.jpg"],
        "model.weights.h5",
    ),
    "unreadable image to predict": (
        ["predict", "--preset", "scenes", "--method", "binary-relevance", "{root}/5.jpg"],
        "5.jpg",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_naming_it(case, bad, tmp_path, monkeypatch, capsys):
    from keras_mlrnn.cli import main

    argv, named = CASES[case]
    argv = [a.format(root=bad) for a in argv] + (
        ["--run-dir", str(tmp_path / "run")] if argv[0] == "train" else []
    )
    monkeypatch.chdir(bad)
    with warnings.catch_warnings():  # e.g. the damaged preset's missing checksum
        warnings.simplefilter("ignore")
        try:
            status = main(argv)
        except SystemExit as e:  # argparse's errors
            status = e.code
    out, err = capsys.readouterr()
    assert status == 2, (out[-1500:], err[-1500:])
    errors = [line for line in err.splitlines() if "error:" in line]
    assert errors and any(named in line for line in errors), err[-2000:]


def test_an_argument_the_method_does_not_take_is_named_before_any_data(tmp_path, capsys):
    from keras_mlrnn.cli import main

    run = str(tmp_path / "run")
    argv = ["train", "--model", "cnn-rnn", "--model-arg", "classification_loss=asl"]
    assert main([*argv, "--run-dir", run]) == 2
    err = capsys.readouterr().err
    assert "cnn-rnn takes no argument classification_loss" in err and "lstm_units" in err
    assert not os.path.exists(run)  # refused before the run directory is made


def test_model_args_read_python_and_json_literals_alike():
    from keras_mlrnn.compare import parse_value

    assert parse_value("False") is False and parse_value("false") is False
    assert parse_value("None") is None and parse_value("null") is None
    assert parse_value("1e-3") == 0.001 and parse_value("[1, 2]") == [1, 2]
    assert parse_value("{'gamma_neg': 2}") == {"gamma_neg": 2}
    assert parse_value("rare_first") == "rare_first"


@pytest.mark.parametrize(
    "model, argument, named",
    [
        ("order-free-rnn", "use_attention=maybe", "use_attention='maybe': order-free-rnn's "
         "use_attention takes a bool"),
        ("binary-relevance", "dropout=high", "dropout='high': binary-relevance's dropout takes "
         "a number"),
        ("binary-relevance", "num_classes=5", "num_classes is set by the run itself"),
        ("binary-relevance", "image_size=96", "image_size is set by the run itself (its own "
         "option, e.g. --image-size"),
        ("binary-relevance", "asl={gamma_neg: 2}", "neither valid JSON nor a Python literal"),
    ],
)  # fmt: skip
def test_a_model_arg_of_the_wrong_kind_is_named_before_any_work(
    tmp_path, capsys, model, argument, named
):
    from keras_mlrnn.cli import main

    run = str(tmp_path / "run")
    assert main(["train", "--model", model, "--model-arg", argument, "--run-dir", run]) == 2
    err = capsys.readouterr().err
    assert named in err and len(err.strip().splitlines()) == 1, err
    assert not os.path.exists(run)


@pytest.mark.parametrize(
    "argv, named",
    [
        (["--data-dir", "/somewhere"], "--data-dir /somewhere needs a --dataset"),
        (["--dataset", "voc2007", "--csv", "x.csv"], "--csv x.csv is read by --dataset csv"),
        (["--csv", "x.csv", "--train-size", "10"], "--train-size: a CSV is split 80/10/10"),
    ],
)
def test_data_options_that_would_be_ignored_are_refused(tmp_path, capsys, argv, named):
    from keras_mlrnn.cli import main

    run = str(tmp_path / "run")
    assert main(["train", *argv, "--run-dir", run]) == 2
    err = capsys.readouterr().err
    assert named in err and len(err.strip().splitlines()) == 1, err
    assert not os.path.exists(run)


def _two_class_csv(folder, second="dog"):
    from PIL import Image

    rows = []
    for i in range(12):
        Image.new("RGB", (40, 40), (20 * i, 100, 200 - 10 * i)).save(folder / f"{i}.png")
        rows.append(f"{i}.png,{'cat' if i % 2 else second}")
    (folder / "labels.csv").write_text("filename,labels\n" + "\n".join(rows) + "\n")
    return str(folder / "labels.csv")


def test_a_csv_alone_names_the_data_set_and_a_resume_refuses_changed_classes(tmp_path, capsys):
    from keras_mlrnn.cli import main
    from keras_mlrnn.runs import train

    labels = _two_class_csv(tmp_path)
    run = str(tmp_path / "run")
    result = train(run, csv=labels, epochs=1, image_size=32, verbose=0)
    assert result["dataset"] == "csv" and result["num_test_images"] == 1
    _two_class_csv(tmp_path, second="puppy")  # "dog" renamed in the user's labels
    assert main(["train", "--resume", run, "--epochs", "2"]) == 2
    err = capsys.readouterr().err
    assert "the data's classes changed" in err and "['dog']" in err and "['puppy']" in err


def test_a_damaged_model_a_missing_preset_folder_and_an_edited_preset_are_named(tmp_path, capsys):
    import json

    import keras_mlrnn as km
    from keras_mlrnn.cli import main
    from tests.models.tiny import TINY

    model = km.BinaryRelevance(**TINY[km.BinaryRelevance])
    model.build()
    whole = tmp_path / "model.keras"
    model.save(whole)
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(whole.read_bytes()[:5000])
    image = str(tmp_path / "x.png")
    from PIL import Image

    Image.new("RGB", (32, 32)).save(image)
    model.save_to_preset(str(tmp_path / "preset"))
    config = tmp_path / "preset" / "config.json"
    spec = json.loads(config.read_text())
    spec["config"]["num_classes"] = 19
    spec["config"]["class_names"] = None
    config.write_text(json.dumps(spec))
    cases = [
        (["--model", str(truncated)], "cannot be read as a .keras file (not a whole zip"),
        (["--preset", str(tmp_path / "missing")], "is not a preset folder: it does not exist"),
        (["--preset", str(tmp_path / "preset")], "does not fit the model its folder's config"),
    ]
    for argv, named in cases:
        assert main(["predict", *argv, image]) == 2
        err = capsys.readouterr().err
        assert named in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.large
def test_the_cli_refuses_each_bad_input_in_one_line_with_status_2(tmp_path):
    """CLI cases of the second bad-input sweep, each in a real `keras-mlrnn` process (the
    other cases call `main` in this process, above)."""
    import subprocess
    import sys

    import keras_mlrnn as km
    from tests.models.tiny import TINY

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("my own file")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("filename,labels\na.png,caf\xe9\n".encode("latin-1"))
    model = km.BinaryRelevance(**TINY[km.BinaryRelevance])
    model.build()
    model.save(tmp_path / "whole.keras")
    (tmp_path / "cut.keras").write_bytes((tmp_path / "whole.keras").read_bytes()[:4000])
    image = str(tmp_path / "x.png")
    from PIL import Image

    Image.new("RGB", (32, 32)).save(image)
    run = ["train", "--run-dir", str(tmp_path / "run")]
    cases = [
        ([*run, "--model", "order-free-rnn", "--model-arg", "use_attention=maybe"],
         "use_attention"),
        ([*run, "--model-arg", "asl={gamma_neg: 2}"], "{gamma_neg: 2}"),
        ([*run, "--data-dir", str(tmp_path)], "--data-dir"),
        ([*run, "--save-preset", str(tmp_path / "mine")], "notes.txt"),
        ([*run, "--csv", str(latin)], "latin.csv is not UTF-8"),
        (["predict", "--model", str(tmp_path / "cut.keras"), image], "cut.keras"),
    ]  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    for argv, named in cases:
        result = subprocess.run([sys.executable, "-m", "keras_mlrnn.cli", *argv],
                                capture_output=True, text=True, env=env)  # fmt: skip
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2, (argv, result.stderr[-1500:])
        assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0], argv
    from keras_mlrnn.run_dir import RunDirectory

    assert not RunDirectory(tmp_path / "run").has_trained()  # all refused before training
    assert (tmp_path / "mine" / "notes.txt").read_text() == "my own file"
