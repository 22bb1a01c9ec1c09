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
Being static, these run one after another in this process (no fresh
process each; `--time-limit` is then checked between measurements).

`--profile DIR` (JAX only) traces one training step and one `predict_sets`
step per method (`keras_mlrnn.benchmarking.profiling`) and lists the layers whose
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
import subprocess
import sys
import time
from collections.abc import Callable
from typing import NamedTuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_mlrnn.benchmarking.steps import (  # noqa: F401 (count_operations, synthetic_labels re-exported)
    cost_analysis,
    count_operations,
    measure,
    profile,
    synthetic_labels,
)
from keras_mlrnn.benchmarking.tables import (
    COST_KEYS,
    RATIO_KEYS,
    add_ratios,
    cost_table,
    profile_table,
    timings_table,
)


class Mode(NamedTuple):
    """What a benchmark run measures: the child's function, the ratio keys, the table, a summary."""

    run: Callable  # (method, batch, args) -> result dict
    ratio_keys: tuple | None  # keys divided by BinaryRelevance's (None: no ratios)
    table: Callable  # results -> markdown
    summary: Callable  # one result -> a short line for the progress log
    # Each measurement in a fresh process (its peak memory and compile
    # counts its own); XLA's estimates are static and run in this one.
    isolated: bool = True


MODES = {
    "timings": Mode(
        measure,
        RATIO_KEYS,
        timings_table,
        lambda d: f"{d['train_images_per_s']:.1f} img/s train",
    ),
    "cost_analysis": Mode(
        cost_analysis,
        COST_KEYS,
        cost_table,
        lambda d: f"{d['train_flops']:.3e} train FLOPs",
        isolated=False,
    ),
    "profile": Mode(
        profile,
        None,
        profile_table,
        lambda d: f"{d['train']['step_ms']:.2f} ms per train step",
    ),
}


def _mode(args):
    """The `Mode` the arguments ask for (--profile, --cost-analysis, else timings)."""
    return MODES[
        "profile" if args.profile else "cost_analysis" if args.cost_analysis else "timings"
    ]


def build_parser():
    """The argument parser of `keras-mlrnn benchmark`."""
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
    parser.add_argument(
        "--jit-compile",
        choices=["auto", "true", "false"],
        default="auto",
        help="XLA for the timed steps: auto (default) is what `fit` runs, Keras' own choice "
        "(XLA on JAX and on TensorFlow with a GPU; not on a CPU-only TensorFlow machine, nor "
        "on PyTorch); true / false force it, to compare",
    )
    parser.add_argument("--steps", type=int, default=50, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up (compile) steps")
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="timed runs of fit and of predict_sets; the median counts",
    )
    _add_run_arguments(parser)
    return parser


def _add_run_arguments(parser):
    """The options of the run around the measurements: backend, JSON, resume, time limit."""
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


def main(argv=None):
    """`keras-mlrnn benchmark`: every (batch size, method) measured in its own process."""
    args = build_parser().parse_args(argv)
    if args.single:  # the child: one measurement, one JSON line
        print(json.dumps(_mode(args).run(args.single[0], int(args.single[1]), args)))
        return 0
    finished = _finished_before(args)
    env = dict(os.environ)
    if args.backend:  # for the fresh processes, and this one if Keras is not imported yet
        env["KERAS_BACKEND"] = os.environ["KERAS_BACKEND"] = args.backend
    passed = list(argv if argv is not None else sys.argv[1:])
    results, left = _measure_all(args, finished, passed, env)
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


def _finished_before(args):
    """The measurements a `--resume` keeps (an empty dict for a new run)."""
    if args.resume and not args.json:
        raise SystemExit("--resume continues a --json file: name it with --json.")
    if not (args.json and os.path.exists(args.json)):
        return {}
    if not args.resume:
        raise SystemExit(
            f"{args.json} exists: pass --resume to continue it, or choose another --json path."
        )
    return load_finished(args.json, args)


def _measure_all(args, finished, passed, env):
    """Runs the missing measurements (BinaryRelevance first in each batch size).

    Returns:
        (results, left): the results in order, and the (method, batch)
        pairs that `--time-limit` left unmeasured.
    """
    methods = ["binary-relevance"] + [m for m in args.methods if m != "binary-relevance"]
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
                done = _measure_one(args, passed, method, batch, env, remaining)
            except subprocess.TimeoutExpired:
                left.append((method, batch))
                continue
            except RuntimeError as error:
                _save(args, results, complete=False)
                raise SystemExit(str(error))
            results.append(done)
            _save(args, results, complete=False)
            what = _mode(args).summary(done)
            print(f"{method} batch {batch}: {what} ({done['seconds']:.0f} s)", flush=True)
    return results, left


def _measure_one(args, passed, method, batch, env, timeout):
    """One measurement: in a fresh process if the mode is `isolated`, else in this one."""
    mode = _mode(args)
    if mode.isolated:
        return _measure_in_subprocess(passed, method, batch, env, timeout)
    import keras

    began = time.monotonic()
    done = mode.run(method, batch, args)
    done["seconds"] = time.monotonic() - began
    keras.backend.clear_session()  # the next model starts from nothing
    return done


def _measure_in_subprocess(passed, method, batch, env, timeout):
    """One measurement in a fresh process (so peak memory is its own): the child's result.

    Raises `subprocess.TimeoutExpired` past `timeout` seconds (the child is
    killed) and RuntimeError, with the child's error output, if it fails.
    """
    command = [sys.executable, "-m", "keras_mlrnn.benchmarking.benchmark", *passed]
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
    mode = _mode(args)
    if mode.ratio_keys:
        add_ratios(results, mode.ratio_keys)
    return mode.table(results)


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
