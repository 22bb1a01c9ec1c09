"""`keras_mlrnn.benchmarking.profiling`: a compiled step's time, given to its layers."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from keras_mlrnn.benchmarking.profiling import layer_of, operation_origins, time_by_layer

HLO = """HloModule jit_train_step

%fused_computation (param_0: f32[4]) -> f32[4] {
  %param_0 = f32[4]{0} parameter(0)
  ROOT %tanh.1 = f32[4]{0} tanh(f32[4]{0} %param_0), metadata={op_name="jit(train_step)/jvp(lstm)/tanh"}
}

ENTRY %main (Arg_0: f32[4]) -> f32[4] {
  %Arg_0 = f32[4]{0} parameter(0)
  %loop_tanh_fusion.3 = f32[4]{0} fusion(f32[4]{0} %Arg_0), kind=kLoop, calls=%fused_computation, metadata={op_name="jit(train_step)/jvp(lstm)/tanh" source_file="x.py" source_line=3}
  %custom-call.7 = (f32[4]{0}, s8[8]{0}) custom-call(f32[4]{0} %loop_tanh_fusion.3), custom_call_target="__cublas$gemm", metadata={op_name="jit(train_step)/transpose(jvp(attention))/query/dot_general"}
  ROOT %get-tuple-element = f32[4]{0} get-tuple-element((f32[4]{0}, s8[8]{0}) %custom-call.7), index=0
}
"""  # noqa: E501


def test_layer_of_reads_the_layer_and_the_direction():
    assert layer_of("jit(train_step)/jvp(attention)/query/dot_general") == "attention"
    assert layer_of("jit(train_step)/transpose(jvp(lstm))/dot_general") == "lstm (backward)"
    assert layer_of("jit(train_step)/sgd/sub") == "sgd"
    assert layer_of("jit(train_step)/jvp()/concatenate") == "concatenate"
    assert layer_of("jit(step)/jvp(jit(log_sigmoid))/jit(softplus)/exp") == "log_sigmoid"
    assert layer_of("") == "(unnamed)"


def test_operation_origins_reads_every_instruction_with_metadata():
    assert operation_origins(HLO) == {
        "tanh.1": "jit(train_step)/jvp(lstm)/tanh",
        "loop_tanh_fusion.3": "jit(train_step)/jvp(lstm)/tanh",
        "custom-call.7": "jit(train_step)/transpose(jvp(attention))/query/dot_general",
    }


def _event(name, dur, pid, **args):
    return {"ph": "X", "name": name, "dur": dur, "pid": pid, "args": args}


def test_time_by_layer_adds_device_kernels_per_step():
    origins = operation_origins(HLO)
    events = [
        # Device kernels of 2 runs: named like the instruction (separators differ) ...
        ("/device:GPU:0", _event("loop_tanh_fusion_3", 300.0, 1)),
        ("/device:GPU:0", _event("loop_tanh_fusion_3", 500.0, 1)),
        # ... or by a library's kernel name, with the instruction in an argument.
        ("/device:GPU:0", _event("sm90_xmma_gemm_bf16", 1000.0, 1, hlo_op="custom-call.7")),
        ("/device:GPU:0", _event("sm90_xmma_gemm_bf16", 1000.0, 1, hlo_op="custom-call.7")),
        ("/device:GPU:0", _event("memcpy", 7000.0, 1)),  # no instruction: not counted
        # The host's launch annotation of the same instruction is not counted.
        ("/host:CPU", _event("loop_tanh_fusion.3", 9000.0, 2)),
    ]
    profile = time_by_layer(events, origins, steps=2)
    assert profile["layers"] == {"attention (backward)": 1.0, "lstm": 0.4}
    assert list(profile["layers"]) == ["attention (backward)", "lstm"]  # largest first
    assert profile["attributed_ms"] == pytest.approx(1.4)
    # Without device processes (a CPU), the XLA threads' events count.
    host = [("/host:CPU", _event("loop_tanh_fusion.3", 9000.0, 2))]
    assert time_by_layer(host, origins, steps=3)["layers"] == {"lstm": 3.0}


def test_profile_step_names_the_layers_of_a_keras_model(tmp_path):
    """A real trace on this machine (JAX): a two-layer model's gradient step, layer by layer."""
    script = textwrap.dedent(
        f"""
        import json, jax, keras, numpy as np
        from keras_mlrnn.benchmarking.profiling import profile_step
        model = keras.Sequential([
            keras.Input((64,)),
            keras.layers.Dense(256, activation="tanh", name="alpha"),
            keras.layers.Dense(8, name="beta"),
        ])
        def loss(weights, x):
            out, _ = model.stateless_call(weights, [], x)
            return (out ** 2).mean()
        weights = [v.value for v in model.trainable_variables]
        x = np.random.default_rng(0).normal(size=(512, 64)).astype("float32")
        profile = profile_step(jax.grad(loss), (weights, x), {str(tmp_path / "trace")!r}, steps=2)
        print(json.dumps(profile))
        """
    )
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    profile = json.loads(result.stdout.strip().splitlines()[-1])
    layers = profile["layers"]
    assert {"alpha", "alpha (backward)", "beta (backward)"} <= set(layers), layers
    assert all(ms >= 0 for ms in layers.values()) and profile["step_ms"] > 0
    assert profile["attributed_ms"] == pytest.approx(sum(layers.values()))
