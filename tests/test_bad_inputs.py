"""The bad-input table, walked through the `keras-mlrnn` command in real processes.

Each case must end with exit status 2 and its last line `error: ...` naming
the file or option at fault; every other line it prints is a one-line
`warning: ...` (a traceback, or TensorFlow's start-up notices, fail it).
The processes run two at a time, all started once for the module.
"""

import concurrent.futures
import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from tests.fixtures import noise_photos

pytestmark = pytest.mark.large  # end to end: left out of the fast tier (-m 'not large')


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    """A folder of bad inputs: CSVs, images, a damaged preset, COCO annotations."""
    root = tmp_path_factory.mktemp("bad")
    noise_photos(root, 6, suffix=".jpg")
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
    _second_sweep_files(root, km)
    return root


def _second_sweep_files(root, km):
    """The files of the second sweep's cases: a user's folder, a latin-1 CSV, cut models."""
    from tests.models.tiny import TINY

    (root / "mine").mkdir()
    (root / "mine" / "notes.txt").write_text("my own file")
    (root / "latin.csv").write_bytes("filename,labels\na.png,caf\xe9\n".encode("latin-1"))
    model = km.BinaryRelevance(**TINY[km.BinaryRelevance])
    model.build()
    model.save(root / "whole.keras")
    (root / "cut.keras").write_bytes((root / "whole.keras").read_bytes()[:4000])
    Image.new("RGB", (32, 32)).save(root / "x.png")
    model.save_to_preset(str(root / "edited"))
    config = root / "edited" / "config.json"
    spec = json.loads(config.read_text())
    spec["config"]["num_classes"] = 19
    spec["config"]["class_names"] = None
    config.write_text(json.dumps(spec))


TRAIN = ["train", "--run-dir", "{run}"]
#: case -> (arguments, what the error line must name). {root}: the `bad` folder; {run}:
#: a run directory of the case's own (never made: every case is refused before training).
CASES = {
    "zero epochs": ([*TRAIN, "--epochs", "0"], "--epochs"),
    "negative learning rate": ([*TRAIN, "--learning-rate", "-1"], "--learning-rate"),
    "missing CSV": ([*TRAIN, "--dataset", "csv", "--csv", "{root}/nope.csv"], "nope.csv"),
    "unquoted comma": ([*TRAIN, "--dataset", "csv", "--csv", "{root}/comma.csv"], "comma.csv"),
    "labels all empty": ([*TRAIN, "--dataset", "csv", "--csv", "{root}/empty.csv"],
                         "empty.csv"),
    "corrupt image": ([*TRAIN, "--dataset", "csv", "--csv", "{root}/corrupt.csv"], "5.jpg"),
    "unknown COCO category": ([*TRAIN, "--dataset", "coco", "--data-dir", "{root}/coco"],
                              "instances_train2014.json"),
    "evaluate a lone file": (["evaluate", "{root}/lone/model.keras"], "--dataset"),
    "truncated preset weights": (["predict", "--preset", "{root}/preset", "{root}/0.jpg"],
                                 "model.weights.h5"),
    "unreadable image to predict": (["predict", "--preset", "scenes", "--method",
                                     "binary-relevance", "{root}/5.jpg"], "5.jpg"),
    "an argument the method does not take": (
        [*TRAIN, "--model", "cnn-rnn", "--model-arg", "classification_loss=asl"],
        "cnn-rnn takes no argument classification_loss"),
    "a bool that is not one": (
        [*TRAIN, "--model", "order-free-rnn", "--model-arg", "use_attention=maybe"],
        "use_attention='maybe': order-free-rnn's use_attention takes a bool"),
    "a number that is not one": ([*TRAIN, "--model-arg", "dropout=high"],
                                 "dropout='high': binary-relevance's dropout takes a number"),
    "num_classes as a model arg": ([*TRAIN, "--model-arg", "num_classes=5"],
                                   "num_classes is set by the run itself"),
    "image_size as a model arg": ([*TRAIN, "--model-arg", "image_size=96"],
                                  "image_size is set by the run itself (its own option"),
    "a JSON value that is neither": ([*TRAIN, "--model-arg", "asl={{gamma_neg: 2}}"],
                                     "'{{gamma_neg: 2}}' is neither valid JSON nor a Python "
                                     "literal"),
    "a data dir without a data set": ([*TRAIN, "--data-dir", "/somewhere"],
                                      "--data-dir /somewhere needs a --dataset"),
    "a CSV with another data set": ([*TRAIN, "--dataset", "voc2007", "--csv", "x.csv"],
                                    "--csv x.csv is read by --dataset csv"),
    "split sizes for a CSV": ([*TRAIN, "--csv", "x.csv", "--train-size", "10"],
                              "--train-size: a CSV is split 80/10/10"),
    "a preset folder of the user's": ([*TRAIN, "--save-preset", "{root}/mine"], "notes.txt"),
    "a latin-1 CSV": ([*TRAIN, "--csv", "{root}/latin.csv"], "latin.csv is not UTF-8"),
    "a cut .keras file": (["predict", "--model", "{root}/cut.keras", "{root}/x.png"],
                          "cut.keras cannot be read as a .keras file (not a whole zip"),
    "a missing preset folder": (["predict", "--preset", "{root}/missing", "{root}/x.png"],
                                "is not a preset folder: it does not exist"),
    "a preset config cut to 19 classes": (["predict", "--preset", "{root}/edited",
                                           "{root}/x.png"],
                                          "does not fit the model its folder's config"),
}  # fmt: skip


def _keras_mlrnn(argv, cwd):
    """Runs `keras-mlrnn ARGV` in a new process: (exit status, stderr)."""
    env = dict(os.environ)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the command itself must quiet TensorFlow
    result = subprocess.run([sys.executable, "-m", "keras_mlrnn.cli", *argv], cwd=cwd,
                            capture_output=True, text=True, env=env)  # fmt: skip
    return result.returncode, result.stderr


@pytest.fixture(scope="module")
def outcomes(bad, tmp_path_factory):
    """Every case's (status, stderr, run dir), its process started two at a time."""
    runs = tmp_path_factory.mktemp("runs")
    argvs = {
        case: [a.format(root=bad, run=runs / str(i)) for a in argv]
        for i, (case, (argv, _)) in enumerate(sorted(CASES.items()))
    }
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = {case: pool.submit(_keras_mlrnn, argv, bad) for case, argv in argvs.items()}
    return {case: (*f.result(), argvs[case]) for case, f in futures.items()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_naming_it(case, outcomes, bad):
    status, err, argv = outcomes[case]
    from keras_mlrnn.training.run_dir import RunDirectory

    lines = err.strip().splitlines()
    assert status == 2, (argv, err[-1500:])
    if lines[-1].startswith("keras-mlrnn train: error: "):  # argparse's: its usage, the line
        errors = lines[-1:]
    else:  # the command's own lines only (predict adds a count after each image's line)
        assert all(line.startswith(("error: ", "warning: ")) for line in lines), err[-2000:]
        errors = [line for line in lines if line.startswith("error: ")]
        assert len(errors) <= 2, err[-2000:]
    assert any(CASES[case][1].format(root=bad) in line for line in errors), err[-2000:]
    if "--run-dir" in argv:  # refused before any training
        assert not RunDirectory(argv[argv.index("--run-dir") + 1]).has_trained()
    assert (bad / "mine" / "notes.txt").read_text() == "my own file"


def test_model_args_read_python_and_json_literals_alike():
    from keras_mlrnn.training.run_config import parse_value

    assert parse_value("False") is False and parse_value("false") is False
    assert parse_value("None") is None and parse_value("null") is None
    assert parse_value("1e-3") == 0.001 and parse_value("[1, 2]") == [1, 2]
    assert parse_value("{'gamma_neg': 2}") == {"gamma_neg": 2}
    assert parse_value("rare_first") == "rare_first"


def _two_class_csv(folder, second="dog"):
    rows = []
    for i in range(12):
        Image.new("RGB", (40, 40), (20 * i, 100, 200 - 10 * i)).save(folder / f"{i}.png")
        rows.append(f"{i}.png,{'cat' if i % 2 else second}")
    (folder / "labels.csv").write_text("filename,labels\n" + "\n".join(rows) + "\n")
    return str(folder / "labels.csv")


def test_a_csv_alone_names_the_data_set_and_a_resume_refuses_changed_classes(tmp_path):
    from keras_mlrnn.training.runs import train

    labels = _two_class_csv(tmp_path)
    run = str(tmp_path / "run")
    result = train(run, csv=labels, epochs=1, image_size=32, verbose=0)
    assert result["dataset"] == "csv" and result["num_test_images"] == 1
    _two_class_csv(tmp_path, second="puppy")  # "dog" renamed in the user's labels
    status, err = _keras_mlrnn(["train", "--resume", run, "--epochs", "2"], tmp_path)
    assert status == 2 and len(err.strip().splitlines()) == 1, err[-1500:]
    assert "the data's classes changed" in err and "['dog']" in err and "['puppy']" in err
