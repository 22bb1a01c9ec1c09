"""The CPU smoke run of `keras-mlrnn benchmark` (issue 12's GPU benchmark, tiny settings)."""

import json
import os
import subprocess
import sys


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
