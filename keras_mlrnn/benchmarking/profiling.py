"""Where a compiled step spends its time, layer by layer (JAX).

`profile_step(function, args, trace_dir)` compiles `jax.jit(function)`, runs
it under `jax.profiler.trace` and adds up the time of each operation of the
compiled program, attributed to the Keras layer it came from. XLA keeps the
origin of every operation in its metadata: an operation named
`jit(train_step)/transpose(jvp(attention))/query/dot_general` is the
backward pass of the layer `attention`, reported as "attention (backward)".
On a GPU the times are the kernels' own (device streams); on a CPU, the
XLA threads' time per operation. A fusion counts for the layer of the
operation at its root (XLA fuses across layer boundaries).

Where a method is slower than it should be, this says which layer of the
recurrent head costs what, next to the backbone.

Example:
```python
import os
os.environ["KERAS_BACKEND"] = "jax"
import jax.numpy as jnp
from keras_mlrnn.benchmarking.profiling import profile_step
profile = profile_step(lambda x: jnp.tanh(x @ x).sum(), (jnp.ones((64, 64)),), "/tmp/trace")
profile["step_ms"], profile["layers"]
```
"""

import glob
import gzip
import json
import os
import re
import statistics
import time

_WRAPPER = re.compile(r"^(?:[\w\-]+\()+")


def _key(name):
    """Instruction and kernel names compared without their separators (`fusion.3` = `fusion_3`)."""
    return re.sub(r"[._\-]", "", name)


def operation_origins(hlo_text):
    """`{instruction name: op_name}` for every instruction of HLO text that has an origin."""
    from keras_mlrnn.benchmarking.hlo import instructions

    return {i.name: i.op_name for i in instructions(hlo_text) if i.op_name}


def layer_of(op_name):
    """The layer an operation came from, from its XLA `op_name`.

    `jit(step)/jvp(attention)/query/dot_general` -> "attention";
    `jit(step)/transpose(jvp(lstm))/dot_general` -> "lstm (backward)";
    an operation of no layer is named by its first path element
    (`jit(step)/sgd/sub` -> "sgd", `jit(step)/jvp()/concatenate` -> "concatenate").
    """
    path = [part for part in op_name.split("/") if part]
    if path and path[0].startswith("jit("):
        path = path[1:]
    if not path:
        return "(unnamed)"
    first = path[0]
    backward = first.startswith("transpose(")
    name = _WRAPPER.sub("", first).rstrip(")")
    if not name:  # `jvp()`: an operation of the model itself, not of a layer
        name = _WRAPPER.sub("", path[1]).rstrip(")") if len(path) > 1 else "(unnamed)"
    return f"{name} (backward)" if backward else name


def _events(trace_dir):
    """`(process name, event)` of each complete ("X") event of the newest trace in `trace_dir`."""
    paths = glob.glob(os.path.join(trace_dir, "**", "perfetto_trace.json.gz"), recursive=True)
    if not paths:
        raise FileNotFoundError(f"no perfetto_trace.json.gz under {trace_dir}.")
    with gzip.open(max(paths, key=os.path.getmtime), "rt") as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    processes = {
        e["pid"]: e.get("args", {}).get("name", "")
        for e in events
        if e.get("ph") == "M" and e.get("name") == "process_name"
    }
    return [(processes.get(e.get("pid"), ""), e) for e in events if e.get("ph") == "X"]


def time_by_layer(events, origins, steps):
    """Milliseconds per step of each layer, from trace `events` of `steps` runs.

    Args:
        events: list of `(process name, trace event)`; an event counts when
            its name, or one of its string arguments, names an instruction
            of `origins`. Where the trace has device processes (a GPU's
            streams), only their events count, so a kernel's host-side
            launch is not counted next to the kernel itself.
        origins: `operation_origins` of the program that ran.
        steps: int. Runs the trace holds.

    Returns:
        dict: "layers" `{layer: ms per step}` (largest first) and
        "attributed_ms" (their sum).
    """
    by_key = {_key(name): origin for name, origin in origins.items()}
    if any("/device:" in process for process, _ in events):
        events = [(p, e) for p, e in events if "/device:" in p]
    totals = {}
    for _, event in events:
        names = [event.get("name", "")]
        names += [v for v in event.get("args", {}).values() if isinstance(v, str)]
        origin = next((by_key[_key(n)] for n in names if _key(n) in by_key), None)
        if origin is not None:
            layer = layer_of(origin)
            totals[layer] = totals.get(layer, 0.0) + float(event.get("dur", 0.0))
    layers = {k: v / 1e3 / steps for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}
    return {"layers": layers, "attributed_ms": sum(layers.values())}


def profile_step(function, args, trace_dir, steps=5):
    """Times `jax.jit(function)(*args)` and profiles it layer by layer.

    Args:
        function: a JAX-traceable function (e.g. a Keras model's `train_step`).
        args: its arguments (arrays).
        trace_dir: str. Where the trace is written.
        steps: int. Timed runs, then as many traced runs. Defaults to 5.

    Returns:
        dict: "step_ms" (median wall time of a run), "layers"
        `{layer: ms per run}` and "attributed_ms" (see `time_by_layer`).
    """
    import jax

    compiled = jax.jit(function).lower(*args).compile()
    jax.block_until_ready(compiled(*args))  # warm-up
    seconds = []
    for _ in range(steps):
        start = time.perf_counter()
        jax.block_until_ready(compiled(*args))
        seconds.append(time.perf_counter() - start)
    with jax.profiler.trace(trace_dir, create_perfetto_trace=True):
        for _ in range(steps):
            jax.block_until_ready(compiled(*args))
    profile = time_by_layer(_events(trace_dir), operation_origins(compiled.as_text()), steps)
    return {"step_ms": statistics.median(seconds) * 1e3, **profile}
