"""The CPU smoke run of `keras-mlrnn benchmark` (the GPU benchmark at tiny settings)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.large  # end to end: left out of the fast tier (-m 'not large')


def _benchmark(*arguments, backend=None):
    """Runs `keras-mlrnn benchmark ARGUMENTS` in a subprocess."""
    command = [sys.executable, "-m", "keras_mlrnn.cli", "benchmark", *arguments]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if backend:
        env["KERAS_BACKEND"] = backend
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


SMOKE = ["--backbone", "tiny", "--image-size", "32", "--batch-sizes", "4", "--steps", "2"]
SMOKE += ["--warmup", "1", "--repeats", "2", "--precision", "float32"]
SMOKE += ["--methods", "coarse-to-fine-rnn"]


def test_throughput_benchmark_smoke_stops_and_resumes(tmp_path):
    out = tmp_path / "throughput.json"
    # A limit no measurement can meet: the first is stopped, the rest never start.
    stopped = _benchmark(*SMOKE, "--json", str(out), "--time-limit", "1")
    assert stopped.returncode == 3, stopped.stderr[-3000:]
    assert "binary-relevance at batch 4, coarse-to-fine-rnn at batch 4" in stopped.stderr
    saved = json.loads(out.read_text())
    assert saved["complete"] is False and saved["results"] == []
    refused = _benchmark(*SMOKE, "--json", str(out))
    assert refused.returncode != 0 and "pass --resume" in refused.stderr
    assert json.loads(out.read_text()) == saved  # the file is untouched

    # A CoarseToFineRNN row "measured earlier" (made-up numbers): resuming keeps
    # it and measures only BinaryRelevance, the base of its ratios (the
    # cheapest model to compile).
    earlier = {"method": "coarse-to-fine-rnn", "batch": 4, "train_images_per_s": 1000.0}
    earlier.update(infer_images_per_s=2000.0, peak_memory_bytes=2**30, compiles_after_warmup=0)
    saved["results"] = [earlier]
    out.write_text(json.dumps(saved))
    result = _benchmark(*SMOKE, "--json", str(out), "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| coarse-to-fine-rnn | 4 |" in result.stdout
    assert "| compiles | backend, XLA |" in result.stdout
    saved = json.loads(out.read_text())
    assert saved["complete"] is True
    rows = {row["method"]: row for row in saved["results"]}
    assert sorted(rows) == ["binary-relevance", "coarse-to-fine-rnn"]
    method, base = rows["coarse-to-fine-rnn"], rows["binary-relevance"]
    assert method["train_images_per_s"] == 1000.0 and len(base["train_seconds"]) == 2
    # It measures what `fit` runs: on TensorFlow without a GPU Keras leaves XLA off.
    assert (base["backend"], base["xla"]) == ("tensorflow", False)
    assert "| tensorflow, no XLA |" in result.stdout and "| ?, ? |" in result.stdout
    assert base["train_images_per_s"] == pytest.approx(8 / np.mean(base["train_seconds"]))
    for key, method_value in (("train_images_per_s", 1000.0), ("infer_images_per_s", 2000.0)):
        assert base[key] > 0 and base[f"{key}_ratio"] == pytest.approx(1.0)
        assert method[f"{key}_ratio"] == pytest.approx(method_value / base[key])

    mismatch = _benchmark(*SMOKE, "--steps", "3", "--json", str(out), "--resume")
    assert mismatch.returncode != 0 and "--steps 2, not 3" in mismatch.stderr


HLO = """HloModule jit_step, entry_computation_layout={(f32[4]{0})->f32[4]{0}}

%fused_computation (param_0: f32[4]) -> f32[4] {
  %param_0 = f32[4]{0} parameter(0)
  %sine = f32[4]{0} sine(f32[4]{0} %param_0)
  ROOT %multiply = f32[4]{0} multiply(f32[4]{0} %sine, f32[4]{0} %sine)
}

ENTRY %main.9 (Arg_0.1: f32[4]) -> f32[4] {
  %Arg_0.1 = f32[4]{0} parameter(0)
  %constant.2 = f32[] constant(2)
  %fusion = f32[4]{0} fusion(f32[4]{0} %Arg_0.1), kind=kLoop, calls=%fused_computation
  %custom-call = (f32[4]{0}, s8[64]{0}) custom-call(f32[4]{0} %fusion), custom_call_target="x"
  %get-tuple-element = f32[4]{0} get-tuple-element((f32[4]{0}, s8[64]{0}) %custom-call), index=0
  %bitcast.1 = f32[2,2]{1,0} bitcast(f32[4]{0} %get-tuple-element)
  %copy.3 = f32[2,2]{0,1} copy(f32[2,2]{1,0} %bitcast.1)
  ROOT %bitcast.2 = f32[4]{0} bitcast(f32[2,2]{0,1} %copy.3)
}
"""


def test_count_operations_counts_the_entry_kernels():
    from keras_mlrnn.benchmarking.benchmark import count_operations

    # fusion, custom-call (a tuple-shaped result) and copy; not the fusion's body,
    # nor the parameter, constant, get-tuple-element and bitcasts.
    assert count_operations(HLO) == 3
    with pytest.raises(ValueError, match="ENTRY"):
        count_operations("HloModule m")


def test_synthetic_labels_set_the_number_of_recurrent_steps():
    from keras_mlrnn.benchmarking.benchmark import synthetic_labels
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
    arguments = ["--cost-analysis", "--backbone", "tiny", "--image-size", "32"]
    arguments += ["--batch-sizes", "2", "4", "--precision", "float32"]
    arguments += ["--methods", "order-free-rnn", "--max-labels", "2", "--json", str(out)]
    result = _benchmark(*arguments, backend="jax")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| order-free-rnn | 4 | 2 |" in result.stdout
    rows = {(r["method"], r["batch"]): r for r in json.loads(out.read_text())["results"]}
    for method in ("binary-relevance", "order-free-rnn"):
        small, large = rows[(method, 2)], rows[(method, 4)]
        for key in ("train_flops", "infer_flops"):
            assert large[key] == pytest.approx(2 * small[key], rel=0.05), (method, key)
    ofr, base = rows[("order-free-rnn", 4)], rows[("binary-relevance", 4)]
    assert ofr["steps"] == 2 and base["steps"] is None
    assert ofr["train_flops"] > base["train_flops"] and ofr["infer_flops"] > base["infer_flops"]
    assert ofr["train_flops_ratio"] == pytest.approx(ofr["train_flops"] / base["train_flops"])
    assert ofr["train_temp_bytes"] > 0 and ofr["infer_bytes_accessed"] > 0
    # Two recurrent steps launch more kernels than the backbone's head alone.
    assert ofr["train_operations"] > base["train_operations"] > 0
    assert ofr["infer_operations"] > base["infer_operations"] > 0


def test_profile_lists_the_layers_that_cost_time(tmp_path):
    out = tmp_path / "profile.json"
    arguments = ["--profile", str(tmp_path / "traces"), "--backbone", "tiny", "--image-size", "32"]
    arguments += ["--batch-sizes", "2", "--repeats", "1", "--precision", "float32"]
    arguments += ["--methods", "binary-relevance", "--json", str(out)]
    result = _benchmark(*arguments, backend="jax")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "binary-relevance, batch 2: train step" in result.stdout
    assert "| tiny_backbone (backward) |" in result.stdout
    (row,) = json.loads(out.read_text())["results"]
    for part in ("train", "infer"):
        assert row[part]["step_ms"] > 0 and row[part]["attributed_ms"] > 0
    # The backward pass exists only in the training step.
    assert row["train"]["layers"]["tiny_backbone (backward)"] > 0
    assert not any("backward" in layer for layer in row["infer"]["layers"])
