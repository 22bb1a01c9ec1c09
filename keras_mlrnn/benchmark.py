"""Training and inference throughput of every method next to BinaryRelevance.

For each method and batch size, in a fresh subprocess (so peak memory is the
method's own): build the model on the backbone with the dtype policy, run
`fit` on synthetic uint8 images (warm-up, then timed steps: images/s),
`predict_sets` (decoding included, beam size `--beam-size` where the method
beams: images/s), read the peak device memory (host peak RSS on CPU) and,
on JAX, count XLA compilations during the timed steps (should be 0). Prints a table with the
ratios method / BinaryRelevance and writes JSON.

The synthetic labels give each image 1 to `--max-labels` labels, so `adapt`
sets the recurrent methods' `max_length` (their number of steps) to it.

`--cost-analysis` (JAX only) runs nothing: it compiles one training step
and one `predict_sets` step per method at the real sizes and reports XLA's
own estimates (FLOPs, bytes accessed, memory of the compiled step), which
hold on any machine: a ResNet-50 table at batch 64 takes a minute on a CPU.

    # the GPU measurement of issue 12 (JAX, bf16, ResNet-50, 224 px):
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
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BEAMING = {"cnn-rnn", "order-free-rnn"}


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
    if method in BEAMING:
        kwargs["beam_size"] = args.beam_size
    model = MODELS[method](**kwargs)
    model.compile(optimizer=keras.optimizers.SGD(1e-3), metrics=[], jit_compile=True)
    labels = synthetic_labels(num_images, args.num_classes, args.max_labels)
    model.adapt(labels)
    return model, labels


def measure(method, batch, args):
    """Measures one method at one batch size in this process; returns a dict."""
    import keras
    import numpy as np

    model, labels = _build(method, batch * args.steps, args)
    rng = np.random.default_rng(0)
    shape = (batch * args.steps, args.image_size, args.image_size, 3)
    images = rng.integers(0, 256, shape, dtype=np.uint8)
    warm = batch * args.warmup
    compiles = _CompileCounter()
    model.fit(images[:warm], labels[:warm], batch_size=batch, epochs=1, verbose=0)
    model.predict_sets(images[:warm], batch_size=batch)
    warm_compiles = compiles.count
    start = time.perf_counter()
    model.fit(images, labels, batch_size=batch, epochs=1, verbose=0)
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    model.predict_sets(images, batch_size=batch)
    infer_seconds = time.perf_counter() - start
    return {
        "method": method,
        "batch": batch,
        "train_images_per_s": len(images) / train_seconds,
        "infer_images_per_s": len(images) / infer_seconds,
        "peak_memory_bytes": _peak_memory_bytes(),
        "backend": keras.backend.backend(),
        "parameters": int(model.count_params()),
        # XLA compilations during the timed steps (JAX only; None elsewhere).
        "compiles_after_warmup": None if compiles.count is None else compiles.count - warm_compiles,
    }


def _values(variables):
    """The arrays behind Keras variables: the state a jitted Keras step takes."""
    return [v.value for v in variables]


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
    }


def cost_analysis(method, batch, args):
    """XLA's FLOPs, bytes and memory for one train step and one predict_sets step (JAX only)."""
    import jax
    import keras

    from keras_mlrnn.models.base import _BatchedMethod

    if keras.backend.backend() != "jax":
        raise SystemExit("--cost-analysis needs the JAX backend (KERAS_BACKEND=jax).")
    model, _ = _build(method, batch, args)
    model.optimizer.build(model.trainable_variables)
    images = jax.ShapeDtypeStruct((batch, args.image_size, args.image_size, 3), "uint8")
    labels = jax.ShapeDtypeStruct((batch, args.num_classes), "float32")
    train_state = (
        _values(model.trainable_variables),
        _values(model.non_trainable_variables),
        _values(model.optimizer.variables),
        _values(model.metrics_variables),
    )
    train = _compiled_cost(model.train_step, train_state, (images, labels))
    decoder = _BatchedMethod(model, "decode_sets")  # what predict_sets runs
    decoder.build()
    infer_state = (_values(decoder.trainable_variables), _values(decoder.non_trainable_variables))
    infer = _compiled_cost(decoder.predict_step, infer_state, (images,))
    result = {"method": method, "batch": batch, "parameters": int(model.count_params())}
    result.update({f"train_{k}": v for k, v in train.items()})
    result.update({f"infer_{k}": v for k, v in infer.items()})
    result["steps"] = recurrent_steps(model)
    return result


def recurrent_steps(model):
    """The number of recurrent steps of a model (None for BinaryRelevance)."""
    for name in ("decode_length", "steps", "num_regions"):
        if hasattr(model, name):
            return int(getattr(model, name))
    return None


RATIO_KEYS = ("train_images_per_s", "infer_images_per_s", "peak_memory_bytes")
COST_KEYS = (
    "train_flops",
    "train_bytes_accessed",
    "train_temp_bytes",
    "infer_flops",
    "infer_bytes_accessed",
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
        "| train temp MiB | x BR | infer GFLOP/img | x BR | infer GB moved | x BR |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['method']} | {r['batch']} | {r['steps'] or '-'} | "
            f"{r['train_flops'] / r['batch'] / 1e9:.2f} | {_ratio(r, 'train_flops')} | "
            f"{r['train_bytes_accessed'] / 1e9:.1f} | {_ratio(r, 'train_bytes_accessed')} | "
            f"{r['train_temp_bytes'] / 2**20:.0f} | {_ratio(r, 'train_temp_bytes')} | "
            f"{r['infer_flops'] / r['batch'] / 1e9:.2f} | {_ratio(r, 'infer_flops')} | "
            f"{r['infer_bytes_accessed'] / 1e9:.1f} | {_ratio(r, 'infer_bytes_accessed')} |"
        )
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
    from keras_mlrnn.models import MODELS

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
    parser.add_argument("--steps", type=int, default=20, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up (compile) steps")
    parser.add_argument("--backend", default=None, help="sets KERAS_BACKEND for the runs")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--single", nargs=2, metavar=("METHOD", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.single:  # the child: one measurement, one JSON line
        run = cost_analysis if args.cost_analysis else measure
        print(json.dumps(run(args.single[0], int(args.single[1]), args)))
        return 0

    methods = ["binary-relevance"] + [m for m in args.methods if m != "binary-relevance"]
    env = dict(os.environ)
    if args.backend:
        env["KERAS_BACKEND"] = args.backend
    passed = [a for a in (argv if argv is not None else sys.argv[1:])]
    results = []
    for batch in args.batch_sizes:
        for method in methods:
            command = [sys.executable, "-m", "keras_mlrnn.benchmark", *passed, "--single", method]
            result = subprocess.run([*command, str(batch)], env=env, capture_output=True, text=True)
            if result.returncode != 0:
                raise SystemExit(f"{method} at batch {batch} failed:\n{result.stderr[-3000:]}")
            results.append(json.loads(result.stdout.strip().splitlines()[-1]))
            done = results[-1]
            if args.cost_analysis:
                print(f"{method} batch {batch}: {done['train_flops']:.3e} train FLOPs")
            else:
                print(f"{method} batch {batch}: {done['train_images_per_s']:.1f} img/s train")
    if args.cost_analysis:
        _add_ratios(results, COST_KEYS)
        table = _cost_table(results)
    else:
        _add_ratios(results)
        table = _table(results)
    print(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"arguments": vars(args), "results": results}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
