"""The argument parser of the `keras-mlrnn` command (no Keras: `--help` returns at once).

The commands themselves are in `keras_mlrnn.cli.commands`; this module only says
which options each takes: one short function per command, most of each its
help texts. The option groups that train and compare share are in
`keras_mlrnn.cli.training_options`, the argument types in
`keras_mlrnn.cli.argument_types`.
"""

import argparse

from keras_mlrnn.cli.argument_types import (  # noqa: F401 (optional_path: the 0.1 path keras_mlrnn.cli_parser)
    optional_path,
    positive_float,
    positive_int,
)
from keras_mlrnn.cli.training_options import add_data_arguments, add_training_options


def build_parser(commands, description=None):
    """The argument parser of `keras-mlrnn`.

    Args:
        commands: dict, command name ("train", "evaluate", "predict",
            "compare", "data stats", "export") -> the function that runs it (`args.func`).
        description: str or None. The parser's description.
    """
    parser = argparse.ArgumentParser(prog="keras-mlrnn", description=description)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub, commands["train"])
    _add_evaluate(sub, commands["evaluate"])
    _add_predict(sub, commands["predict"])
    sub.add_parser(
        "benchmark",
        help="train / inference images/s and memory of each method vs BinaryRelevance",
        add_help=False,
    ).add_argument("arguments", nargs="*", help="see keras-mlrnn benchmark --help")
    _add_compare(sub, commands["compare"])
    _add_data(sub, commands["data stats"])
    _add_export(sub, commands["export"])
    return parser


def _add_train(sub, func):
    from keras_mlrnn.catalog import DEFAULT_METHOD, METHODS

    train = sub.add_parser("train", help="train a model into a run directory")
    train.add_argument(
        "--model",
        choices=sorted(METHODS),
        default=None,
        help=f"the method (default {DEFAULT_METHOD})",
    )
    add_training_options(train)
    train.add_argument("--seed", type=int, default=None)
    train.add_argument(
        "--checkpoint-steps",
        type=positive_int,
        default=None,
        metavar="N",
        help="also checkpoint every N steps (long epochs); default: each epoch",
    )
    train.add_argument(
        "--distribute",
        choices=["data-parallel", "multi-worker"],
        default=None,
        help="data-parallel over all local devices (JAX DataParallel / TF MirroredStrategy), "
        "or multi-worker: several processes or hosts, each started with its TF_CONFIG "
        "(TF MultiWorkerMirroredStrategy) or KERAS_DISTRIBUTION_* variables (JAX); "
        "--batch-size is the global batch",
    )
    train.add_argument("--save-preset", default=None, metavar="DIR", help="also write a preset")
    train.add_argument(
        "--save-preset-dtype",
        choices=["float32", "float16"],
        default=None,
        help="the preset's weights precision (float16: half the size)",
    )
    train.add_argument(
        "--save-preset-backbone",
        default=None,
        metavar="FILE",
        help="refer to this backbone weights file (the frozen backbone's own) instead of "
        "copying the backbone into the preset",
    )
    train.add_argument("--run-dir", default=None, help="default: runs/<model>-<time>")
    train.add_argument("--overwrite", action="store_true", help="replace an existing run")
    train.add_argument(
        "--resume",
        metavar="RUN_DIR",
        default=None,
        help="continue a run from its last checkpoint with the options saved in its "
        "run_config.json; --epochs may raise the epoch count (a finished run trains on), any "
        "other option that differs is refused",
    )
    train.set_defaults(func=func, uses_keras=True)


def _add_model_target(parser):
    """The model a command reads: TARGET, and --method for a built-in preset name."""
    parser.add_argument(
        "target", help="a run directory, a .keras file, a preset directory or a built-in preset"
    )
    parser.add_argument("--method", default=None, help="method of a built-in preset target")


def _add_evaluate(sub, func):
    evaluate = sub.add_parser(
        "evaluate", help="print the metric table of a run, .keras file or preset on any data set"
    )
    _add_model_target(evaluate)
    add_data_arguments(evaluate)
    evaluate.add_argument(
        "--split",
        default="test",
        choices=["train", "val", "test", "all"],
        help="which split to score (all: every image; for a CSV, the whole file)",
    )
    evaluate.add_argument("--test-size", type=positive_int, default=None, help="images to evaluate")
    evaluate.add_argument("--top-k", type=positive_int, default=3)
    evaluate.add_argument(
        "--ten-crop",
        type=positive_int,
        nargs="+",
        metavar="SIDE",
        help="also score 10 crops (corners, centre, mirrored) of each image decoded at SIDE "
        "px (several sides: averaged), as the papers' multi-crop rows; image-file data sets",
    )
    evaluate.set_defaults(func=func, uses_keras=True)


def _add_predict(sub, func):
    pred = sub.add_parser(
        "predict", help="label photos: printed, or streamed to a CSV / JSON-lines file (--out)"
    )
    pred.add_argument(
        "images",
        nargs="*",
        metavar="INPUT",
        help="image files, folders (recursive), glob patterns ('photos/**/*.jpg'), or .txt "
        "files listing one path a line",
    )
    pred.add_argument("--csv", default=None, metavar="FILE", help="also the paths of a CSV")
    pred.add_argument(
        "--csv-column", default=None, metavar="NAME", help="its filename column (default: first)"
    )
    pred.add_argument(
        "--out",
        default=None,
        metavar="FILE",
        help="stream the results to FILE (.csv or .jsonl) batch by batch, with a progress bar",
    )
    pred.add_argument("--resume", action="store_true", help="continue --out: skip what it has")
    pred.add_argument(
        "--shard",
        default=None,
        metavar="K/N",
        help="label only shard K of N (disjoint, by path): N processes share one collection",
    )
    pred.add_argument(
        "--all-scores", action="store_true", help="with --out: every class's score, a column each"
    )
    pred.add_argument(
        "--errors", default=None, metavar="FILE", help="with --out: default OUT.errors.csv"
    )
    pred.add_argument("--batch-size", type=positive_int, default=32, help="with --out")
    pred.add_argument("--preset", default=None, help="preset directory or built-in name")
    pred.add_argument("--method", default=None, help="method of a built-in --preset")
    pred.add_argument("--model", default=None, help="a .keras file or a run directory")
    pred.add_argument("--json", action="store_true", help="print JSON instead of a table")
    pred.add_argument(
        "--top",
        type=positive_int,
        default=None,
        metavar="K",
        help="print the K highest-scoring classes instead of the method's decision; with "
        "--out, the number of scores written per image (default 5)",
    )
    pred.add_argument(
        "--save-attention", default=None, metavar="DIR", help="write attention PNGs there"
    )
    pred.set_defaults(func=func, uses_keras=True)


def _add_export(sub, func):
    exp = sub.add_parser(
        "export", help="write a model as SavedModel, ONNX, LiteRT or OpenVINO, and check it"
    )
    _add_model_target(exp)
    exp.add_argument(
        "--format",
        required=True,
        choices=["saved_model", "onnx", "litert", "openvino"],
        help="saved_model: a folder; onnx: .onnx; litert: .tflite; openvino: .xml (+ .bin)",
    )
    exp.add_argument("--out", required=True, metavar="PATH", help="where to write (never replaced)")
    exp.add_argument(
        "--check-images",
        nargs="+",
        default=None,
        metavar="IMAGE",
        help="image files to compare the artifact with Keras on (default: 4 generated scenes)",
    )
    exp.set_defaults(func=func, uses_keras=True)


def _add_compare(sub, func):
    from keras_mlrnn.catalog import METHODS

    comp = sub.add_parser("compare", help="train several methods over seeds, one table")
    comp.add_argument("--models", nargs="+", default=sorted(METHODS), help="specs, name[:k=v,...]")
    comp.add_argument("--ablations", action="store_true", help="add the papers' ablations")
    comp.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    comp.add_argument("--out", default="runs/compare", help="runs and tables (resumable)")
    add_training_options(comp)
    comp.set_defaults(func=func, uses_keras=True)


def _add_data(sub, func):
    data = sub.add_parser("data", help="inspect a data set")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    stats = data_sub.add_parser("stats", help="counts, label cardinality, co-occurring pairs")
    add_data_arguments(stats, default_dataset="scenes")
    stats.add_argument("--image-size", type=positive_int, default=64)
    stats.add_argument("--top-pairs", type=positive_int, default=5)
    # It reads labels only, but keras_mlrnn.data imports Keras (its tf.data pipeline), so
    # TensorFlow is imported, quietly.
    stats.set_defaults(func=func, uses_keras=True)
