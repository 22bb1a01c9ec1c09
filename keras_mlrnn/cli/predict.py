"""`keras-mlrnn predict`: label photos, printed (a few) or streamed to a file (a collection).

Inputs are image files, folders (searched recursively), glob patterns, text
files listing paths (`keras_mlrnn.data.image_inputs`) or a CSV's filename
column (`--csv`). Without `--out` the labels are printed (and attention
pictures drawn with `--save-attention`); with `--out FILE.csv|.jsonl` the
photos stream through the model in batches and the results are written as
they come (`keras_mlrnn.evaluation.labelling`): resumable (`--resume`), shardable over
processes (`--shard K/N`), unreadable files named in an errors file.
"""

import json
import os
import sys


def predict_inputs(args, shard_of=None):
    """The image paths of a `predict` command line: its inputs and CSV, then `shard_of`
    (`(K, N)` from `--shard`, or None for all)."""
    from keras_mlrnn.data.image_inputs import csv_images, find_images, shard

    paths = find_images(args.images)
    if args.csv:
        paths = list(dict.fromkeys(paths + csv_images(args.csv, args.csv_column)))
    if not paths:
        raise ValueError("predict: no image given (files, folders, patterns, a list or --csv).")
    if shard_of is not None:
        paths = shard(paths, *shard_of)
    return paths


def predict(args):
    """Runs `keras-mlrnn predict`: print mode, or the streaming mode with `--out`."""
    from keras_mlrnn.data.image_inputs import parse_shard
    from keras_mlrnn.training.trained_models import load_trained_model

    shard_of = parse_shard(args.shard) if args.shard else None  # named before the model loads
    if args.resume and not args.out:
        raise ValueError("--resume continues an --out file: give --out too.")
    model = load_trained_model(args.preset, args.method, args.model)
    paths = predict_inputs(args, shard_of)
    if args.out:
        return _stream_mode(args, model, paths)
    return _print_mode(args, model, paths)


def _stream_mode(args, model, paths):
    from keras_mlrnn.evaluation.labelling import label_collection

    if args.save_attention:
        raise ValueError("--save-attention draws printed predictions: leave out --out.")
    summary = label_collection(
        model, paths, args.out, batch_size=args.batch_size, top=args.top or 5,
        all_scores=args.all_scores, resume=args.resume, errors=args.errors,
    )  # fmt: skip
    rate = summary["images_per_second"]  # None when one batch held them all
    print(
        f"Labelled {summary['labelled']} of {summary['total']} images into {args.out}"
        + (f" ({rate:.1f} images/s after the first batch)" if rate else "")
        + f"; {summary['skipped']} done before, {summary['failed']} failed"
        + (f" (named in {summary['errors']})." if summary["failed"] else "."),
        file=sys.stderr,
    )
    return 2 if summary["failed"] else 0


def _print_mode(args, model, inputs):
    import numpy as np

    from keras_mlrnn.data.images import read_image
    from keras_mlrnn.visualization import visualize

    if args.save_attention:
        from keras_mlrnn.training.run_dir import check_writable

        check_writable(args.save_attention, "--save-attention")  # before any prediction
    if args.save_attention and not visualize.has_attention(model):
        raise ValueError(
            f"--save-attention: {type(model).__name__} has no steps to draw; pictures "
            f"exist for {', '.join(visualize.explainable_methods())}."
        )
    paths, images, failed = [], [], []
    for path in inputs:  # predict what can be read, then name what could not
        try:
            images.append(read_image(path, model.image_size))
            paths.append(path)
        except (FileNotFoundError, ValueError) as e:
            failed.append(str(e))
    if paths:
        images = np.stack(images)
        predicted = model.predict_labels(images, top=args.top)
        _print_predictions(paths, predicted, args.json)
        if args.save_attention:
            stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
            written = visualize.save_explanations(
                model, images, args.save_attention, names=stems, predicted=predicted
            )
            print(f"Attention pictures: {', '.join(written)}", file=sys.stderr)
    for message in failed:
        print(f"error: {message}", file=sys.stderr)
    if failed:
        print(
            f"error: {len(failed)} of {len(inputs)} images could not be read "
            f"({len(paths)} predicted).",
            file=sys.stderr,
        )
        return 2
    return 0


def _print_predictions(paths, predicted, as_json):
    """Prints each image's labels: a table, or JSON with `as_json`."""
    if as_json:
        rows = [
            {"image": path, "labels": [{"name": n, "score": s} for n, s in labels]}
            for path, labels in zip(paths, predicted)
        ]
        print(json.dumps(rows, indent=2))
        return
    width = max(len(p) for p in paths)
    for path, labels in zip(paths, predicted):
        text = ", ".join(f"{n} ({s:.2f})" for n, s in labels) or "(no label)"
        print(f"{path:<{width}}  {text}")
