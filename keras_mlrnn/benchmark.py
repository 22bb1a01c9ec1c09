"""Training and inference throughput of every method next to BinaryRelevance.

For each method and batch size, in a fresh subprocess (so peak memory is the
method's own): build the model on the backbone with the dtype policy, run
`fit` on synthetic uint8 images (warm-up, then `--repeats` timed runs of
`--steps` batches; the median run counts: images/s), `predict_sets` likewise
(decoding included, beam size `--beam-size` where the method beams:
images/s), read the peak device memory (host peak RSS on CPU) and, on JAX,
count XLA compilations during the timed steps (should be 0). Prints a table
with the ratios method / BinaryRelevance and writes JSON.

The JSON is rewritten after every measurement, so a killed run keeps what
finished; `--resume` measures only what is missing from it, and
`--time-limit` stops cleanly (exit status 3) before a measurement would
run past the limit (a lent GPU machine's 10-minute calls).

The synthetic labels give each image 1 to `--max-labels` labels, so `adapt`
sets the recurrent methods' `max_length` (their number of steps) to it.

`--cost-analysis` (JAX only) runs nothing: it compiles one training step
and one `predict_sets` step per method at the real sizes and reports XLA's
own estimates (FLOPs, bytes accessed, memory of the compiled step) and the
number of operations (kernels or library calls) each step launches, which
hold on any machine: a ResNet-50 table at batch 64 takes minutes on a CPU.

`--profile DIR` (JAX only) traces one training step and one `predict_sets`
step per method (`keras_mlrnn.profiling`) and lists the layers whose
operations take the most time: where the recurrent head's time goes on
the machine at hand.

    # the GPU measurement (JAX, bf16, ResNet-50, 224 px; benchmarks/gpu_run.sh):
    KERAS_BACKEND=jax keras-mlrnn benchmark --backbone resnet50 \\
        --image-size 224 --batch-sizes 64 128 256 --precision mixed_bfloat16 --json out.json
    # XLA's FLOP and memory estimates for the same sizes, on any machine:
    KERAS_BACKEND=jax keras-mlrnn benchmark --cost-analysis --backbone resnet50 \\
        --image-size 224 --batch-sizes 64 --precision mixed_bfloat16
    # a CPU smoke run (part of the test suite):
    keras-mlrnn benchmark --backbone tiny --image-size 32 --batch-sizes 4 \\
        --steps 2 --warmup 1 --precision float32 --methods binary-relevance cnn-rnn

(`python benchmarks/throughput.py ...` is the same program.)
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _peak_memory_bytes():
    """Peak device memory of this process, or host peak RSS on CPU."""
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            device = jax.devices()[0]
            if device.platform != "cpu":
                return int(device.memory_stats()["peak_bytes_in_use"])
        elif backend == "tensorflow":
            import tensorflow as tf

            if tf.config.list_logical_devices("GPU"):
                return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                return int(torch.cuda.max_memory_allocated())
    except (KeyError, RuntimeError, ValueError):
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


class _CompileCounter:
    """Counts XLA backend compilations on JAX (None elsewhere): 0 after warm-up is the goal."""

    def __init__(self):
        import keras

        self.count = None
        if keras.backend.backend() == "jax":
            import jax.monitoring

            self.count = 0
            jax.monitoring.register_event_duration_secs_listener(self._listen)

    def _listen(self, event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            self.count += 1


def synthetic_labels(num_images, num_classes, max_labels, seed=0):
    """Multi-hot `(num_images, num_classes)`: each image gets 1..max_labels distinct labels,
    and at least one image gets `max_labels` (so `adapt` sets `max_length = max_labels`)."""
    import numpy as np

    if not 1 <= max_labels <= num_classes:
        raise ValueError(f"max_labels must lie in [1, {num_classes}]; got {max_labels}.")
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, max_labels + 1, num_images)
    counts[0] = max_labels
    labels = np.zeros((num_images, num_classes), dtype="float32")
    for row, count in zip(labels, counts):
        row[rng.choice(num_classes, count, replace=False)] = 1.0
    return labels


def _build(method, num_images, args):
    """The compiled model of `method` for these arguments, adapted to synthetic labels."""
    import keras

    from keras_mlrnn.models import MODELS

    keras.config.set_dtype_policy(args.precision)
    kwargs = dict(num_classes=args.num_classes, backbone=args.backbone, image_size=args.image_size)
    if MODELS[method].uses_beam_search:
        kwargs["beam_size"] = args.beam_size
    model = MODELS[method](**kwargs)
    model.compile(optimizer=keras.optimizers.SGD(1e-3), metrics=[], jit_compile=True)
    labels = synthetic_labels(num_images, args.num_classes, args.max_labels)
    model.adapt(labels)
    return model, labels


def _timed(run):
    """Seconds `run()` takes; `run` must wait for the device (read its results back)."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def measure(method, batch, args):
    """Measures one method at one batch size in this process; returns a dict.

    `fit` and `predict_sets` each run `args.repeats` times over the same
    `args.steps` batches (in order: no shuffling gather on the host); the
    median run counts.
    """
    import keras
    import numpy as np

    model, labels = _build(method, batch * args.steps, args)
    rng = np.random.default_rng(0)
    shape = (batch * args.steps, args.image_size, args.image_size, 3)
    images = rng.integers(0, 256, shape, dtype=np.uint8)
    warm = batch * args.warmup
    compiles = _CompileCounter()
    model.fit(images[:warm], labels[:warm], batch_size=batch, epochs=1, verbose=0, shuffle=False)
    model.predict_sets(images[:warm], batch_size=batch)
    warm_compiles = compiles.count

    def train():
        model.fit(images, labels, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        # Reading a weight back waits for the last step, whatever fit returned.
        keras.ops.convert_to_numpy(model.trainable_variables[-1])

    def infer():
        model.predict_sets(images, batch_size=batch)

    train_seconds = [_timed(train) for _ in range(args.repeats)]
    infer_seconds = [_timed(infer) for _ in range(args.repeats)]
    return {
        "method": method,
        "batch": batch,
        "train_images_per_s": len(images) / statistics.median(train_seconds),
        "infer_images_per_s": len(images) / statistics.median(infer_seconds),
        "train_seconds": train_seconds,
        "infer_seconds": infer_seconds,
        "peak_memory_bytes": _peak_memory_bytes(),
        "backend": keras.backend.backend(),
        "parameters": int(model.count_params()),
        # XLA compilations during the timed steps (JAX only; None elsewhere).
        "compiles_after_warmup": None if compiles.count is None else compiles.count - warm_compiles,
    }


def _values(variables):
    """The arrays behind Keras variables: the state a jitted Keras step takes."""
    return [v.value for v in variables]


# Instructions of a compiled program that launch nothing: they name or regroup buffers.
_NO_KERNEL = {"parameter", "constant", "tuple", "get-tuple-element", "bitcast"}
_INSTRUCTION = re.compile(r"^\s*(?:ROOT\s+)?%?[\w.\-]+\s*=\s*.*?\s([a-z][a-z0-9\-]*)\(")


def count_operations(hlo_text):
    """Operations in the entry computation of optimised HLO text (`compiled.as_text()`).

    Each counted instruction (a fusion, a library call such as a matmul or
    a convolution, a copy, ...) runs as one kernel or call per execution;
    parameters, constants, tuples and bitcasts launch nothing and are not
    counted. A recurrent head made of many small steps shows up here as
    many extra operations: the launch latency that FLOPs and bytes miss.
    (Computations called from the entry, such as fusion bodies, are not
    counted; XLA's GPU compiler may also group operations into CUDA
    graphs, which this count does not see.)
    """
    lines = hlo_text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("ENTRY")), None)
    if start is None:
        raise ValueError("no ENTRY computation in the HLO text.")
    count = 0
    for line in lines[start + 1 :]:
        if line.startswith("}"):
            break
        match = _INSTRUCTION.match(line)
        if match and match.group(1) not in _NO_KERNEL:
            count += 1
    return count


def _compiled_cost(function, *args):
    """XLA's estimates for `jax.jit(function)` compiled on `args` (never run)."""
    import jax

    compiled = jax.jit(function).lower(*args).compile()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost  # older JAX: one dict per device
    memory = compiled.memory_analysis()
    return {
        "flops": float(cost["flops"]),
        "bytes_accessed": float(cost["bytes accessed"]),
        # Buffers the step allocates besides its inputs and outputs (activations).
        "temp_bytes": int(memory.temp_size_in_bytes),
        "argument_bytes": int(memory.argument_size_in_bytes),
        "operations": count_operations(compiled.as_text()),
    }


def _compiled_steps(model, images, labels):
    """`{"train": (function, arguments), "infer": (...)}`: the pure JAX functions of one
    training step and one `predict_sets` step, with their state, for `jax.jit`.

    `images` and `labels` may be arrays or `jax.ShapeDtypeStruct`s.
    """
    from keras_mlrnn.models.batched_method import BatchedMethod

    model.optimizer.build(model.trainable_variables)
    train_state = (
        _values(model.trainable_variables),
        _values(model.non_trainable_variables),
        _values(model.optimizer.variables),
        _values(model.metrics_variables),
    )
    decoder = BatchedMethod(model, "decode_sets")  # what predict_sets runs
    decoder.build()
    infer_state = (_values(decoder.trainable_variables), _values(decoder.non_trainable_variables))
    return {
        "train": (model.train_step, (train_state, (images, labels))),
        "infer": (decoder.predict_step, (infer_state, (images,))),
    }


def _require_jax(flag):
    import keras

    if keras.backend.backend() != "jax":
        raise SystemExit(f"{flag} needs the JAX backend (KERAS_BACKEND=jax).")


def cost_analysis(method, batch, args):
    """XLA's FLOPs, bytes and memory for one train step and one predict_sets step (JAX only)."""
    import jax

    _require_jax("--cost-analysis")
    model, _ = _build(method, batch, args)
    images = jax.ShapeDtypeStruct((batch, args.image_size, args.image_size, 3), "uint8")
    labels = jax.ShapeDtypeStruct((batch, args.num_classes), "float32")
    result = {"method": method, "batch": batch, "parameters": int(model.count_params())}
    for part, (function, arguments) in _compiled_steps(model, images, labels).items():
        cost = _compiled_cost(function, *arguments)
        result.update({f"{part}_{k}": v for k, v in cost.items()})
    result["steps"] = model.num_steps
    return result


def profile(method, batch, args):
    """Times one train step and one predict_sets step and splits them by layer (JAX only)."""
    import numpy as np

    from keras_mlrnn.profiling import profile_step

    _require_jax("--profile")
    model, labels = _build(method, batch, args)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (batch, args.image_size, args.image_size, 3), dtype=np.uint8)
    result = {"method": method, "batch": batch, "steps": model.num_steps}
    for part, (function, arguments) in _compiled_steps(model, images, labels).items():
        trace_dir = os.path.join(args.profile, f"{method}-{batch}-{part}")
        result[part] = profile_step(function, arguments, trace_dir, steps=args.repeats)
    return result


RATIO_KEYS = ("train_images_per_s", "infer_images_per_s", "peak_memory_bytes")
COST_KEYS = (
    "train_flops",
    "train_bytes_accessed",
    "train_temp_bytes",
    "train_operations",
    "infer_flops",
    "infer_bytes_accessed",
    "infer_operations",
)


def _add_ratios(results, keys=RATIO_KEYS):
    """Adds `<key>_ratio` = value / BinaryRelevance's at the same batch (None without one)."""
    base = {r["batch"]: r for r in results if r["method"] == "binary-relevance"}
    for r in results:
        b = base.get(r["batch"])
        for key in keys:
            r[f"{key}_ratio"] = r[key] / b[key] if b else None


def _ratio(r, key):
    return "-" if r[f"{key}_ratio"] is None else f"{r[f'{key}_ratio']:.3f}"


def _cost_table(results):
    """Markdown table of cost analyses that went through `_add_ratios(results, COST_KEYS)`."""
    lines = [
        "| method | batch | steps | train GFLOP/img | x BR | train GB moved | x BR "
        "| train temp MiB | x BR | train ops | x BR | infer GFLOP/img | x BR | infer GB moved "
        "| x BR | infer ops | x BR |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['method']} | {r['batch']} | {r['steps'] or '-'} | "
            f"{r['train_flops'] / r['batch'] / 1e9:.2f} | {_ratio(r, 'train_flops')} | "
            f"{r['train_bytes_accessed'] / 1e9:.1f} | {_ratio(r, 'train_bytes_accessed')} | "
            f"{r['train_temp_bytes'] / 2**20:.0f} | {_ratio(r, 'train_temp_bytes')} | "
            f"{r['train_operations']} | {_ratio(r, 'train_operations')} | "
            f"{r['infer_flops'] / r['batch'] / 1e9:.2f} | {_ratio(r, 'infer_flops')} | "
            f"{r['infer_bytes_accessed'] / 1e9:.1f} | {_ratio(r, 'infer_bytes_accessed')} | "
            f"{r['infer_operations']} | {_ratio(r, 'infer_operations')} |"
        )
    return "\n".join(lines)


def _profile_table(results, top=12):
    """Markdown: per method, its step times and the layers that cost the most."""
    base = {r["batch"]: r for r in results if r["method"] == "binary-relevance"}
    lines = []
    for r in results:
        train, infer = r["train"], r["infer"]
        line = (
            f"{r['method']}, batch {r['batch']}: train step {train['step_ms']:.2f} ms, "
            f"predict_sets step {infer['step_ms']:.2f} ms"
        )
        if r["batch"] in base:
            b = base[r["batch"]]
            line += (
                f" (x BR: {train['step_ms'] / b['train']['step_ms']:.3f} and "
                f"{infer['step_ms'] / b['infer']['step_ms']:.3f})"
            )
        lines += [line, "", "| layer | train ms/step | predict_sets ms/step |", "|---|---|---|"]
        both = set(train["layers"]) | set(infer["layers"])
        cost = {k: train["layers"].get(k, 0.0) + infer["layers"].get(k, 0.0) for k in both}
        for layer in sorted(both, key=lambda k: -cost[k])[:top]:
            lines.append(
                f"| {layer} | {train['layers'].get(layer, 0.0):.3f} | "
                f"{infer['layers'].get(layer, 0.0):.3f} |"
            )
        lines.append(
            f"| all operations | {train['attributed_ms']:.3f} | {infer['attributed_ms']:.3f} |"
        )
        lines.append("")
    return "\n".join(lines)


def _table(results):
    """Markdown table of results that went through `_add_ratios`."""
    lines = [
        "| method | batch | train img/s | x BR | infer img/s | x BR | peak MiB | x BR | compiles |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = {k: _ratio(r, k) for k in RATIO_KEYS}
        lines.append(
            f"| {r['method']} | {r['batch']} | {r['train_images_per_s']:.1f} | "
            f"{ratio['train_images_per_s']} | {r['infer_images_per_s']:.1f} | "
            f"{ratio['infer_images_per_s']} | {r['peak_memory_bytes'] / 2**20:.0f} | "
            f"{ratio['peak_memory_bytes']} | {r['compiles_after_warmup']} |"
        )
    return "\n".join(lines)


def main(argv=None):
    from keras_mlrnn.catalog import METHODS as MODELS  # names only: --help needs no Keras

    parser = argparse.ArgumentParser(
        prog="keras-mlrnn benchmark", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--backbone", default="resnet50")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--precision", default="mixed_bfloat16")
    parser.add_argument("--methods", nargs="+", default=sorted(MODELS), choices=sorted(MODELS))
    parser.add_argument("--num-classes", type=int, default=80)
    parser.add_argument("--beam-size", type=int, default=3)
    parser.add_argument(
        "--max-labels",
        type=int,
        default=6,
        help="most labels per synthetic image: the recurrent methods' number of steps",
    )
    parser.add_argument(
        "--cost-analysis",
        action="store_true",
        help="XLA's FLOP, byte and memory estimates instead of timings (JAX; runs nothing)",
    )
    parser.add_argument(
        "--profile",
        default=None,
        metavar="DIR",
        help="instead of timings: profile one train step and one predict_sets step per method "
        "(--repeats traced runs, traces in DIR) and list the layers that cost the most (JAX)",
    )
    parser.add_argument("--steps", type=int, default=50, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up (compile) steps")
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="timed runs of fit and of predict_sets; the median counts",
    )
    parser.add_argument("--backend", default=None, help="sets KERAS_BACKEND for the runs")
    parser.add_argument(
        "--json", default=None, help="write the results here (after each measurement)"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the measurements already in --json and run only the missing ones",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop a measurement that would run past this and exit with status 3; "
        "--json keeps what finished and --resume continues",
    )
    parser.add_argument("--single", nargs=2, metavar=("METHOD", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.single:  # the child: one measurement, one JSON line
        run = profile if args.profile else cost_analysis if args.cost_analysis else measure
        print(json.dumps(run(args.single[0], int(args.single[1]), args)))
        return 0

    if args.resume and not args.json:
        raise SystemExit("--resume continues a --json file: name it with --json.")
    finished = {}
    if args.json and os.path.exists(args.json):
        if not args.resume:
            raise SystemExit(
                f"{args.json} exists: pass --resume to continue it, or choose another --json path."
            )
        finished = load_finished(args.json, args)
    methods = ["binary-relevance"] + [m for m in args.methods if m != "binary-relevance"]
    env = dict(os.environ)
    if args.backend:
        env["KERAS_BACKEND"] = args.backend
    passed = list(argv if argv is not None else sys.argv[1:])
    start = time.monotonic()
    results, left = [], []
    for batch in args.batch_sizes:
        for method in methods:
            if (method, batch) in finished:
                results.append(finished[(method, batch)])
                continue
            remaining = None
            if args.time_limit is not None:
                remaining = args.time_limit - (time.monotonic() - start)
            if left or (remaining is not None and remaining <= 0):
                left.append((method, batch))
                continue
            try:
                done = _measure_in_subprocess(passed, method, batch, env, remaining)
            except subprocess.TimeoutExpired:
                left.append((method, batch))
                continue
            except RuntimeError as error:
                _save(args, results, complete=False)
                raise SystemExit(str(error))
            results.append(done)
            _save(args, results, complete=False)
            if args.profile:
                what = f"{done['train']['step_ms']:.2f} ms per train step"
            elif args.cost_analysis:
                what = f"{done['train_flops']:.3e} train FLOPs"
            else:
                what = f"{done['train_images_per_s']:.1f} img/s train"
            print(f"{method} batch {batch}: {what} ({done['seconds']:.0f} s)", flush=True)
    print(_add_ratios_and_table(args, results))
    _save(args, results, complete=not left)
    if left:
        names = ", ".join(f"{m} at batch {b}" for m, b in left)
        print(
            f"Stopped at --time-limit {args.time_limit:g} s; not measured: {names}. "
            "Run the same command with --resume to measure them.",
            file=sys.stderr,
        )
        return 3
    return 0


def _measure_in_subprocess(passed, method, batch, env, timeout):
    """One measurement in a fresh process (so peak memory is its own): the child's result.

    Raises `subprocess.TimeoutExpired` past `timeout` seconds (the child is
    killed) and RuntimeError, with the child's error output, if it fails.
    """
    command = [sys.executable, "-m", "keras_mlrnn.benchmark", *passed]
    command += ["--single", method, str(batch)]
    began = time.monotonic()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{method} at batch {batch} failed:\n{result.stderr[-3000:]}")
    done = json.loads(result.stdout.strip().splitlines()[-1])
    done["seconds"] = time.monotonic() - began  # start, compiles and timed runs
    return done


# The arguments that change what a measurement means: a --resume must repeat them.
MEASUREMENT_ARGUMENTS = (
    "backbone",
    "image_size",
    "precision",
    "num_classes",
    "beam_size",
    "max_labels",
    "cost_analysis",
    "profile",
    "steps",
    "warmup",
    "repeats",
)


def load_finished(path, args):
    """The measurements in an earlier `--json` file, keyed by (method, batch).

    Raises SystemExit if the file was written with other measurement arguments.
    """
    with open(path) as f:
        saved = json.load(f)
    for key in MEASUREMENT_ARGUMENTS:
        if saved["arguments"].get(key) != getattr(args, key):
            raise SystemExit(
                f"{path} was measured with --{key.replace('_', '-')} "
                f"{saved['arguments'].get(key)!r}, not {getattr(args, key)!r}: "
                "resume with the same arguments or choose another --json path."
            )
    return {(r["method"], r["batch"]): r for r in saved["results"]}


def _add_ratios_and_table(args, results):
    """Adds the ratios to BinaryRelevance to `results` and returns the markdown table."""
    if args.profile:
        return _profile_table(results)
    if args.cost_analysis:
        _add_ratios(results, COST_KEYS)
        return _cost_table(results)
    _add_ratios(results)
    return _table(results)


def _save(args, results, complete):
    """Writes the results so far to `args.json` (if given), replacing it atomically."""
    if not args.json:
        return
    _add_ratios_and_table(args, results)
    arguments = {k: v for k, v in vars(args).items() if k != "single"}
    temporary = f"{args.json}.partial"
    with open(temporary, "w") as f:
        json.dump({"arguments": arguments, "complete": complete, "results": results}, f, indent=2)
    os.replace(temporary, args.json)


if __name__ == "__main__":
    sys.exit(main())
