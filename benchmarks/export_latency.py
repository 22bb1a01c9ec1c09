"""Exported presets in their runtimes: artifact size and latency beside Keras' own predict.

For each preset folder under `--presets` (default the six
`weights/voc2007_mobilenet_v2`), writes each format into `--out` (skipping
artifacts already there, so the export and the timing can run apart:
`--export-only`, then the timing with the cores idle), checks it against the
Keras model on the images, and times one image and a batch of 32 (after one
warm-up): the Keras model's `predict_scores_and_sets` and each runtime
(`keras_mlrnn.export.serving`), median of `--repeats` (one image) and
`--batch-repeats` (32) runs. Prints a markdown table.

    python benchmarks/export_latency.py --out runs/export --export-only
    python benchmarks/export_latency.py --out runs/export > runs/export/table.md
"""

import argparse
import glob
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = os.path.dirname(os.path.abspath(__file__))


def _median_seconds(run, repeats):
    run()  # warm-up: graph building, allocation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _images(size, count):
    """`count` VOC test photos at `size` px where ../shared has them, else generated scenes."""
    import numpy as np

    from keras_mlrnn.data.images import read_images

    folder = os.path.join(HERE, "..", "..", "shared", "data", "voc2007", "VOCdevkit", "VOC2007")
    photos = sorted(glob.glob(os.path.join(folder, "JPEGImages", "*.jpg")))[:count]
    if len(photos) == count:
        return read_images(photos, size)
    from keras_mlrnn.data import load_scenes

    return np.asarray(load_scenes("test", num_images=count, image_size=size)[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--presets", default=os.path.join(HERE, "..", "weights", "voc2007_mobilenet_v2")
    )
    parser.add_argument("--out", default="runs/export")
    parser.add_argument(
        "--formats", nargs="+", default=["saved_model", "onnx", "litert", "openvino"]
    )
    parser.add_argument("--repeats", type=int, default=10, help="timed runs of one image")
    parser.add_argument("--batch-repeats", type=int, default=3, help="timed runs of 32 images")
    parser.add_argument("--export-only", action="store_true")
    args = parser.parse_args()

    import keras_mlrnn.models  # noqa: F401 (registers the model classes the presets name)
    from keras_mlrnn.export.formats import SUFFIXES, artifact_bytes
    from keras_mlrnn.export.serving import compare_with_model, load_artifact
    from keras_mlrnn.presets.loading import load_preset

    print("| method | side | runtime | size MiB | 1 image ms | batch 32 ms | "
          "images/s (32) | max score diff | same sets |")  # fmt: skip
    print("|---" * 9 + "|")
    for preset in sorted(glob.glob(os.path.join(args.presets, "*", "config.json"))):
        preset = os.path.dirname(preset)
        method = os.path.basename(preset)
        model = load_preset(preset)
        size = model.image_size
        batch = _images(size, 32)
        one = batch[:1]
        rows = []
        if not args.export_only:
            keras_one = _median_seconds(lambda: model.predict_scores_and_sets(one), args.repeats)
            keras_32 = _median_seconds(
                lambda: model.predict_scores_and_sets(batch), args.batch_repeats
            )
            rows.append(("Keras predict", None, keras_one, keras_32, None))
        for format in args.formats:
            path = os.path.join(args.out, f"{method}{SUFFIXES[format]}")
            if not os.path.exists(path):
                os.makedirs(args.out, exist_ok=True)
                model.export(path, format=format)
            if args.export_only:
                continue
            artifact = load_artifact(path)
            check = compare_with_model(model, artifact, batch)
            t_one = _median_seconds(lambda: artifact(one), args.repeats)
            t_32 = _median_seconds(lambda: artifact(batch), args.batch_repeats)
            mib = artifact_bytes(path) / 2**20
            rows.append((format, mib, t_one, t_32, check))
        for name, mib, t_one, t_32, check in rows:
            size_cell = "-" if mib is None else f"{mib:.1f}"
            diff = "-" if check is None else f"{check['max_score_difference']:.1g}"
            same = "-" if check is None else ("yes" if check["sets_equal"] else "NO")
            print(f"| {method} | {size} | {name} | {size_cell} | {1000 * t_one:.1f} | "
                  f"{1000 * t_32:.0f} | {32 / t_32:.1f} | {diff} | {same} |")  # fmt: skip


if __name__ == "__main__":
    main()
