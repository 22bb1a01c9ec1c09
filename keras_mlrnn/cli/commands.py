"""The `keras-mlrnn` command: train, evaluate, predict, compare, benchmark, data stats, export.

Examples:
    keras-mlrnn train                      # scenes data, tiny backbone, default method
    keras-mlrnn train --model binary-relevance --epochs 5 --run-dir runs/br
    keras-mlrnn train --model multi-order-rnn --dataset coco --data-dir /data/coco \
        --backbone resnet101 --backbone-weights imagenet --image-size 224
    keras-mlrnn train --resume runs/br     # continue a killed run
    keras-mlrnn evaluate runs/br           # or a .keras file
    keras-mlrnn predict --preset scenes --method order-free-rnn photo.jpg --save-attention out/
    keras-mlrnn compare --seeds 0 1 2 --ablations --out runs/compare
    keras-mlrnn benchmark --backbone resnet50 --batch-sizes 64 128   # images/s vs BR
    keras-mlrnn data stats --dataset voc2007 --data-dir /data/VOCdevkit
    keras-mlrnn export voc2007 --method binary-relevance --format onnx --out br.onnx

One function per command (`predict` in `keras_mlrnn.cli.predict`); the
parser is in `keras_mlrnn.cli.parser`, the messages in `keras_mlrnn.cli.messages`.
"""

import os
import sys
import time

# Set before anything imports TensorFlow (this module imports neither it nor
# Keras at the top, so `--help` and argument errors come back at once).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's C++ logs quiet

from keras_mlrnn.cli import parser as cli_parser  # noqa: E402
from keras_mlrnn.cli import predict as cli_predict  # noqa: E402
from keras_mlrnn.cli.messages import one_line_warnings, os_error_line  # noqa: E402
from keras_mlrnn.training.trained_models import load_trained_model  # noqa: E402


def _training_options(args):
    """The `keras_mlrnn.training.runs.train` options on the command line (unset ones left out)."""
    from keras_mlrnn.training.run_config import DEFAULTS, parse_model_args

    options = {key: getattr(args, key) for key in DEFAULTS if getattr(args, key, None) is not None}
    if args.model_arg:
        options["model_args"] = parse_model_args(args.model_arg)
    return options


def _train(args):
    from keras_mlrnn.catalog import DEFAULT_METHOD
    from keras_mlrnn.metrics.multilabel import format_report
    from keras_mlrnn.training import runs

    run_dir = args.resume or args.run_dir
    if run_dir is None:
        model = args.model or DEFAULT_METHOD
        run_dir = os.path.join("runs", f"{model}-{time.strftime('%Y%m%d-%H%M%S')}")
    options = _training_options(args)
    print(f"Run directory: {run_dir}")
    result = runs.train(
        run_dir,
        overwrite=args.overwrite,
        resume=bool(args.resume),
        # A live progress bar on a terminal, one line per epoch in logs.
        verbose=1 if sys.stdout.isatty() else 2,
        command=args.command_line,
        **options,
    )
    print(format_report(result["reports"], title=result["model"]))
    print(
        f"Test images: {result['num_test_images']}; label-frequency (constant) predictor "
        f"mAP: {100 * result['label_frequency_mAP']:.2f}; training time: "
        f"{result['train_seconds']:.0f} s."
    )
    return 0


def _evaluation_model(args):
    """The model `evaluate` scores: a run's, a .keras file, a preset directory or name."""
    from keras_mlrnn.presets.files import is_preset_dir

    target = args.target
    if is_preset_dir(target):
        return load_trained_model(preset=target)
    if os.path.exists(target):  # a run directory or a .keras file
        return load_trained_model(model_path=target)
    if args.method is not None:
        return load_trained_model(preset=target, method=args.method)
    raise FileNotFoundError(
        f"no model at {target}: give a run directory, a .keras file, a preset "
        "directory, or a built-in preset name with --method"
    )


def _evaluation_data(args):
    """`load_split` arguments: the data set given on the command line, else the run's own."""
    from keras_mlrnn.training.run_dir import RUN_CONFIG, RunDirectory

    if args.dataset is not None:
        source, seed, sizes = vars(args), 0, {}
    else:
        target = args.target
        folder = target if os.path.isdir(target) else os.path.dirname(target) or "."
        source = RunDirectory(folder).read_config()
        if source is None:
            raise ValueError(
                f"{target} has no run beside it (no {RUN_CONFIG}): say what to score it on "
                "with --dataset (and --data-dir or --csv)."
            )
        seed = source["seed"]
        sizes = {s: source.get(f"{s}_size") for s in ("train", "val", "test")}
    if args.test_size is not None:
        sizes["test"] = args.test_size
    data = {key: source.get(key) for key in ("dataset", "data_dir", "csv", "csv_delimiter")}
    return {**data, "seed": seed, "sizes": sizes}


def _evaluate(args):
    from keras_mlrnn.data.splits import load_split
    from keras_mlrnn.evaluation.scoring import evaluate_model
    from keras_mlrnn.metrics.multilabel import format_report

    data = _evaluation_data(args)  # first: a missing data set is named before loading
    model = _evaluation_model(args)
    dataset = data.pop("dataset")
    split = load_split(
        dataset, args.split, class_names=model.class_names, image_size=model.image_size, **data
    )
    if split.labels.shape[1] != model.num_classes:
        raise ValueError(
            f"the data have {split.labels.shape[1]} classes but the model has "
            f"{model.num_classes} (and no class names to match them by)."
        )
    names = model.class_names or [f"class_{c}" for c in range(model.num_classes)]
    absent = [name for name, count in zip(names, split.labels.sum(axis=0)) if count == 0]
    if absent:
        print(
            f"note: no image of the data has '{', '.join(absent)}' ({len(absent)} of the "
            f"model's {model.num_classes} classes): left out of the per-class means.",
            file=sys.stderr,
        )
    reports = evaluate_model(model, split, top_k=args.top_k, ten_crop=args.ten_crop)
    print(format_report(reports, title=f"{type(model).__name__} ({dataset}, {args.split})"))
    return 0


def _compare(args):
    from keras_mlrnn.training import compare

    models = list(args.models) + (list(compare.ABLATIONS) if args.ablations else [])
    options = _training_options(args)
    summary = compare.compare(
        args.out, models, seeds=args.seeds, command=args.command_line, **options
    )
    print(compare.format_comparison(summary))
    return 0


def _data_stats(args):
    from keras_mlrnn.data.labeled_files import label_statistics
    from keras_mlrnn.data.splits import load_splits

    splits = load_splits(
        args.dataset,
        args.data_dir,
        args.csv,
        image_size=args.image_size,
        csv_delimiter=args.csv_delimiter,
    )
    for name, split in splits.items():
        stats = label_statistics(split.labels, split.class_names, top_pairs=args.top_pairs)
        print(
            f"{name}: {stats['num_images']} images, {stats['num_classes']} classes, "
            f"{stats['label_cardinality']:.2f} labels per image (max {stats['max_labels']}), "
            f"{stats['images_without_labels']} without labels"
        )
        pairs = ", ".join(f"{a}+{b} ({n})" for a, b, n in stats["top_pairs"])
        print(f"  most co-occurring pairs: {pairs}")
    return 0


def _export(args):
    import numpy as np

    from keras_mlrnn.export.formats import check_format_available, format_name
    from keras_mlrnn.export.serving import compare_with_model, load_artifact

    check_format_available(format_name(args.format))  # before loading the model
    model = _evaluation_model(args)
    size = model.image_size
    if args.check_images:
        from keras_mlrnn.data.images import read_image

        images = np.stack([read_image(path, size) for path in args.check_images])
    else:
        from keras_mlrnn.data import load_scenes

        images, _ = load_scenes("test", num_images=4, image_size=size)
    written = model.export(args.out, format=args.format)
    print(f"Wrote {written['path']} ({written['bytes'] / 2**20:.1f} MiB, {args.format}) and "
          f"{written['serving_file']} (class names, decision rule, input).")  # fmt: skip
    check = compare_with_model(model, load_artifact(written["path"]), images)
    same = "the same decisions" if check["sets_equal"] else "DIFFERENT decisions"
    print(f"Checked against Keras on {check['images']} images: scores differ by at most "
          f"{check['max_score_difference']:.2g}, {same}.")  # fmt: skip
    return 0 if check["sets_equal"] else 1


def build_parser():
    """The argument parser of `keras-mlrnn` (see `keras_mlrnn.cli.parser`)."""
    commands = {
        "train": _train,
        "evaluate": _evaluate,
        "predict": cli_predict.predict,
        "compare": _compare,
        "data stats": _data_stats,
        "export": _export,
    }
    return cli_parser.build_parser(commands, description=__doc__.splitlines()[0])


def main(argv=None):
    """Entry point of the `keras-mlrnn` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["benchmark"]:  # its own parser: argparse drops "--flags" after a REMAINDER
        from keras_mlrnn.benchmarking.benchmark import main as benchmark_main

        return benchmark_main(argv[1:])
    args = build_parser().parse_args(argv)
    args.command_line = " ".join(["keras-mlrnn"] + argv)
    from keras_mlrnn.cli.quiet_import import import_tensorflow_quietly, keras_backend_name

    if args.uses_keras and keras_backend_name() == "tensorflow":
        import_tensorflow_quietly()  # before Keras imports it, printing start-up notices
    try:
        with one_line_warnings():
            return args.func(args)
    except ConnectionError as e:  # e.g. distribute.LostWorkerError: a worker of the run died
        from keras_mlrnn.training.distribute import exit_after_lost_worker

        print(f"error: {os_error_line(e)}", file=sys.stderr)
        return exit_after_lost_worker(2)
    except (FileExistsError, FileNotFoundError, ValueError, FloatingPointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a read-only folder, a full disk: one line naming the path
        print(f"error: {os_error_line(e)}", file=sys.stderr)
        return 2
