import json
import os
import re

import pytest

from keras_mlrnn.cli.commands import main
from keras_mlrnn.training.compare import parse_spec
from tests.fixtures import scenes_run

pytestmark = pytest.mark.large  # end to end: left out of the fast tier (-m 'not large')

SMALL = scenes_run(64)


def test_parse_spec():
    assert parse_spec("cnn-rnn") == ("cnn-rnn", {})
    assert parse_spec("coarse-to-fine-rnn:horizontal_weight=0,vertical_weight=0") == (
        "coarse-to-fine-rnn",
        {"horizontal_weight": 0, "vertical_weight": 0},
    )
    assert parse_spec("order-free-rnn:use_attention=false")[1] == {"use_attention": False}
    with pytest.raises(ValueError, match="key=value"):
        parse_spec("cnn-rnn:rare_first")


def test_compare_smoke_two_methods_one_seed(tmp_path, capsys):
    out = str(tmp_path / "cmp")
    args = ["compare", "--models", "binary-relevance", "order-free-rnn:use_attention=false"]
    args += ["--seeds", "0", "--epochs", "1", "--batch-size", "32", "--out", out, *SMALL]
    args += ["--cache-features"]  # one cache for both methods, in OUT/features
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "| binary-relevance | 1 |" in table
    assert "| order-free-rnn:use_attention=false | 1 |" in table
    probe = re.search(r"Linear probe .* mAP: (\d+\.\d+)", table)
    assert probe and 0 < float(probe.group(1)) <= 100
    assert any(f.startswith("test.image.") for f in os.listdir(os.path.join(out, "features")))
    with open(os.path.join(out, "compare.json")) as f:
        summary = json.load(f)["summary"]
    for entry in summary.values():
        assert entry["parameters"] > 0 and set(entry["metrics"]) >= {"threshold 0.5", "top-3"}
    # One seed: the summary's mean is that run's own metrics.json value.
    with open(os.path.join(out, "binary-relevance", "seed0", "metrics.json")) as f:
        run = json.load(f)["reports"]["predict_sets"]["mAP"]
    assert summary["binary-relevance"]["metrics"]["predict_sets"]["mAP"]["mean"] == run
    with open(os.path.join(out, "order-free-rnn__use_attention-false", "seed0",
                           "run_config.json")) as f:  # fmt: skip
        assert json.load(f)["model_args"] == {"use_attention": False, "backbone_trainable": False}
    # finished runs are reused, not retrained
    stamp = os.path.getmtime(os.path.join(out, "binary-relevance", "seed0", "model.keras"))
    assert main(args) == 0
    assert os.path.getmtime(os.path.join(out, "binary-relevance", "seed0", "model.keras")) == stamp


def test_aggregate_is_the_mean_and_population_std_over_seeds():
    from keras_mlrnn.metrics.multilabel import REPORT_KEYS
    from keras_mlrnn.training.compare import _aggregate

    def result(value):
        return {"reports": {"top-3": {key: value for key in REPORT_KEYS}}}

    table = _aggregate([result(0.5), result(0.7), result(0.9)])
    # mean 0.7; population std sqrt(((-0.2)^2 + 0 + 0.2^2) / 3) = 0.16330
    assert table["top-3"]["mAP"]["mean"] == pytest.approx(0.7)
    assert table["top-3"]["mAP"]["std"] == pytest.approx(0.163299, abs=1e-6)
