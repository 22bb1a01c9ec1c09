"""Training and inference throughput of every method next to BinaryRelevance.

For each method and batch size, in a fresh subprocess (so peak memory is the
method's own): build the model on the backbone with the dtype policy, run
`fit` on synthetic uint8 images (warm-up, then timed steps: images/s),
`predict_sets` (decoding included, beam size `--beam-size` where the method
beams: images/s), read the peak device memory (host peak RSS on CPU) and,
on JAX, count XLA compilations during the timed steps (should be 0). Prints a table with the
ratios method / BinaryRelevance and writes JSON.

    # the GPU measurement of issue 12 (JAX, bf16, ResNet-50, 224 px):
    KERAS_BACKEND=jax keras-mlrnn benchmark --backbone resnet50 \\
        --image-size 224 --batch-sizes 64 128 256 --precision mixed_bfloat16 --json out.json
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


def measure(method, batch, args):
    """Measures one method at one batch size in this process; returns a dict."""
    import keras
    import numpy as np

    from keras_mlrnn.models import MODELS

    keras.config.set_dtype_policy(args.precision)
    kwargs = dict(num_classes=args.num_classes, backbone=args.backbone, image_size=args.image_size)
    if method in BEAMING:
        kwargs["beam_size"] = args.beam_size
    model = MODELS[method](**kwargs)
    model.compile(optimizer=keras.optimizers.SGD(1e-3), metrics=[], jit_compile=True)
    rng = np.random.default_rng(0)
    shape = (batch * args.steps, args.image_size, args.image_size, 3)
    images = rng.integers(0, 256, shape, dtype=np.uint8)
    labels = (rng.random((len(images), args.num_classes)) < 3 / args.num_classes).astype("float32")
    model.adapt(labels)
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


RATIO_KEYS = ("train_images_per_s", "infer_images_per_s", "peak_memory_bytes")


def _add_ratios(results):
    """Adds `<key>_ratio` = value / BinaryRelevance's at the same batch (None without one)."""
    base = {r["batch"]: r for r in results if r["method"] == "binary-relevance"}
    for r in results:
        b = base.get(r["batch"])
        for key in RATIO_KEYS:
            r[f"{key}_ratio"] = r[key] / b[key] if b else None


def _table(results):
    """Markdown table of results that went through `_add_ratios`."""
    lines = [
        "| method | batch | train img/s | x BR | infer img/s | x BR | peak MiB | x BR | compiles |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = {
            k: "-" if r[f"{k}_ratio"] is None else f"{r[f'{k}_ratio']:.3f}" for k in RATIO_KEYS
        }
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
    parser.add_argument("--steps", type=int, default=20, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up (compile) steps")
    parser.add_argument("--backend", default=None, help="sets KERAS_BACKEND for the runs")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--single", nargs=2, metavar=("METHOD", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.single:  # the child: one measurement, one JSON line
        print(json.dumps(measure(args.single[0], int(args.single[1]), args)))
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
            print(f"{method} batch {batch}: {results[-1]['train_images_per_s']:.1f} img/s train")
    _add_ratios(results)
    table = _table(results)
    print(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"arguments": vars(args), "results": results}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
