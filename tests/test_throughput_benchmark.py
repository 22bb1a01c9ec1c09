"""The CPU smoke run of `keras-mlrnn benchmark` (issue 12's GPU benchmark, tiny settings)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest


def test_throughput_benchmark_smoke(tmp_path):
    out = tmp_path / "throughput.json"
    command = [sys.executable, "-m", "keras_mlrnn.cli", "benchmark"]
    command += ["--backbone", "tiny", "--image-size", "32", "--batch-sizes", "4", "--steps", "2"]
    command += ["--warmup", "1", "--precision", "float32", "--methods", "coarse-to-fine-rnn"]
    command += ["--json", str(out)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| coarse-to-fine-rnn | 4 |" in result.stdout and "| compiles |" in result.stdout
    rows = json.loads(out.read_text())["results"]
    assert [r["method"] for r in rows] == ["binary-relevance", "coarse-to-fine-rnn"]
    base, method = rows
    assert base["train_images_per_s_ratio"] == 1.0
    for key in ("train_images_per_s", "infer_images_per_s", "peak_memory_bytes"):
        assert method[key] > 0
        ratio = method[f"{key}_ratio"]
        assert abs(ratio - method[key] / base[key]) < 1e-9


def test_synthetic_labels_set_the_number_of_recurrent_steps():
    from keras_mlrnn.benchmark import synthetic_labels
    from keras_mlrnn.models import OrderFreeRNN

    labels = synthetic_labels(50, 10, max_labels=4)
    counts = labels.sum(axis=1)
    assert labels.shape == (50, 10) and set(np.unique(labels)) == {0.0, 1.0}
    assert counts.min() >= 1 and counts.max() == 4
    model = OrderFreeRNN(num_classes=10, backbone="tiny", image_size=32)
    model.adapt(labels)
    assert model.max_length == 4


def test_cost_analysis_scales_with_batch_and_steps(tmp_path):
    """XLA's FLOP estimates: linear in the batch, and the recurrent head costs extra."""
    out = tmp_path / "cost.json"
    command = [sys.executable, "-m", "keras_mlrnn.cli", "benchmark", "--cost-analysis"]
    command += ["--backbone", "tiny", "--image-size", "32", "--batch-sizes", "2", "4"]
    command += ["--precision", "float32", "--methods", "order-free-rnn", "--max-labels", "3"]
    command += ["--json", str(out)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "jax"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| order-free-rnn | 4 | 3 |" in result.stdout
    rows = {(r["method"], r["batch"]): r for r in json.loads(out.read_text())["results"]}
    for method in ("binary-relevance", "order-free-rnn"):
        small, large = rows[(method, 2)], rows[(method, 4)]
        for key in ("train_flops", "infer_flops"):
            assert large[key] == pytest.approx(2 * small[key], rel=0.05), (method, key)
    ofr, base = rows[("order-free-rnn", 4)], rows[("binary-relevance", 4)]
    assert ofr["steps"] == 3 and base["steps"] is None
    assert ofr["train_flops"] > base["train_flops"] and ofr["infer_flops"] > base["infer_flops"]
    assert ofr["train_flops_ratio"] == pytest.approx(ofr["train_flops"] / base["train_flops"])
    assert ofr["train_temp_bytes"] > 0 and ofr["infer_bytes_accessed"] > 0
