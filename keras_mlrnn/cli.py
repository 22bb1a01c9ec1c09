"""The `keras-mlrnn` command: `train` and `evaluate`.

Examples:
    keras-mlrnn train                      # scenes data, tiny backbone, default method
    keras-mlrnn train --model binary-relevance --epochs 5 --run-dir runs/br
    keras-mlrnn train --resume runs/br     # continue a killed run
    keras-mlrnn evaluate runs/br           # or a .keras file
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ logs quiet


def _train(args):
    from keras_mlrnn import runs
    from keras_mlrnn.metrics import format_report

    run_dir = args.resume or args.run_dir
    if run_dir is None:
        run_dir = os.path.join("runs", f"{args.model}-{time.strftime('%Y%m%d-%H%M%S')}")
    options = {
        key: getattr(args, key) for key in runs.DEFAULTS if getattr(args, key, None) is not None
    }
    print(f"Run directory: {run_dir}")
    result = runs.train(
        run_dir,
        overwrite=args.overwrite,
        resume=bool(args.resume),
        # A live progress bar on a terminal, one line per epoch in logs.
        verbose=1 if sys.stdout.isatty() else 2,
        **options,
    )
    print(format_report(result["reports"], title=result["model"]))
    print(
        f"Test images: {result['num_test_images']}; label-frequency (constant) predictor "
        f"mAP: {100 * result['label_frequency_mAP']:.2f}; training time: "
        f"{result['train_seconds']:.0f} s."
    )
    return 0


def _evaluate(args):
    import keras

    from keras_mlrnn import runs
    from keras_mlrnn.metrics import format_report

    target = args.target
    config = dict(runs.DEFAULTS)
    if os.path.isdir(target):
        config_path = os.path.join(target, runs.RUN_CONFIG)
        if os.path.isfile(config_path):
            with open(config_path) as f:
                config.update(json.load(f))
        target = os.path.join(target, "model.keras")
    if not os.path.isfile(target):
        print(f"error: no model file at {target}", file=sys.stderr)
        return 2
    model = keras.saving.load_model(target)
    config["image_size"] = model.image_size
    if args.test_size is not None:
        config["test_size"] = args.test_size
    images, labels, _ = runs.load_split(config, args.split)
    reports = runs.evaluate_model(model, images, labels, top_k=args.top_k)
    print(format_report(reports, title=f"{type(model).__name__} ({args.split})"))
    return 0


def build_parser():
    """The argument parser of `keras-mlrnn`."""
    from keras_mlrnn.models import DEFAULT_MODEL, MODELS

    parser = argparse.ArgumentParser(prog="keras-mlrnn", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a model into a run directory")
    train.add_argument("--model", choices=sorted(MODELS), default=DEFAULT_MODEL)
    train.add_argument("--dataset", choices=["scenes"], default=None)
    train.add_argument("--backbone", default=None, help="tiny (default), resnet50, ...")
    train.add_argument("--image-size", type=int, default=None)
    train.add_argument("--epochs", type=int, default=None)
    train.add_argument("--batch-size", type=int, default=None)
    train.add_argument("--learning-rate", type=float, default=None)
    train.add_argument("--seed", type=int, default=None)
    train.add_argument("--train-size", type=int, default=None, help="images in the train split")
    train.add_argument("--val-size", type=int, default=None)
    train.add_argument("--test-size", type=int, default=None)
    train.add_argument("--top-k", type=int, default=None, help="k of the top-k table row")
    train.add_argument("--run-dir", default=None, help="default: runs/<model>-<time>")
    train.add_argument("--overwrite", action="store_true", help="replace an existing run")
    train.add_argument("--resume", metavar="RUN_DIR", default=None, help="continue a run")
    train.set_defaults(func=_train)

    evaluate = sub.add_parser("evaluate", help="print the metric table of a run or .keras file")
    evaluate.add_argument("target", help="a run directory or a .keras file")
    evaluate.add_argument("--split", default="test", choices=["train", "val", "test"])
    evaluate.add_argument("--test-size", type=int, default=None, help="images to evaluate")
    evaluate.add_argument("--top-k", type=int, default=3)
    evaluate.set_defaults(func=_evaluate)
    return parser


def main(argv=None):
    """Entry point of the `keras-mlrnn` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileExistsError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
