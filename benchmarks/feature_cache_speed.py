"""Seconds per training epoch of a head on a frozen backbone: images vs. the feature cache.

Side by side in one process, on the same images, model and batch size:
1. uncached: `fit` on the image pipeline (decode, random-resized crop, flip)
   through the frozen backbone, as `keras-mlrnn train` without
   `--cache-features`;
2. cached: `fit` on `FeatureCache.batches` (image or mirror map per sample).
Each path runs one warm-up epoch (tracing, compiling) and then `--epochs`
timed epochs; the cache's one-off build is timed on its own.

    python benchmarks/feature_cache_speed.py --methods binary-relevance order-free-rnn \
        --images 512
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared")


def _epoch_seconds(model, data, epochs):
    model.fit(data, epochs=1, verbose=0)  # warm-up: tracing and compiling
    start = time.perf_counter()
    model.fit(data, epochs=epochs, verbose=0)
    return (time.perf_counter() - start) / epochs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["binary-relevance", "order-free-rnn"])
    parser.add_argument("--images", type=int, default=512, help="VOC 2007 train images used")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per path")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--data-dir", default=os.path.join(SHARED, "data", "voc2007"))
    parser.add_argument(
        "--backbone-weights",
        default=os.path.join(SHARED, "weights", "mobilenet_v2_1.0_224_imagenet_notop.weights.h5"),
    )
    args = parser.parse_args()

    import keras
    import numpy as np

    from keras_mlrnn.data.splits import _from_files, load_splits
    from keras_mlrnn.models import get_model_class
    from keras_mlrnn.training.feature_cache import FeatureCache

    train = load_splits("voc2007", data_dir=args.data_dir)["train"]
    split = _from_files(train.files, np.arange(min(args.images, len(train.labels))))
    print(f"{len(split.labels)} VOC 2007 train photos, MobileNetV2 at 224 px, frozen")
    rows = []
    with tempfile.TemporaryDirectory() as cache_dir:
        for method in args.methods:
            model = get_model_class(method)(
                num_classes=20,
                backbone="mobilenet_v2",
                backbone_weights=args.backbone_weights,
                image_size=224,
                backbone_trainable=False,
            )
            model.adapt(split.labels)
            model.compile(optimizer=keras.optimizers.Adam(1e-3), metrics=[])
            images = split.dataset(224, args.batch_size, shuffle=True, augment=True, seed=0)
            uncached = _epoch_seconds(model, images, args.epochs)
            cache = FeatureCache(cache_dir, model, batch_size=args.batch_size, verbose=False)
            start = time.perf_counter()
            for view in ("image", "mirror"):
                cache.view(split, "train", view)
            build = time.perf_counter() - start
            batches = cache.batches(split, "train", args.batch_size, shuffle=True, seed=0)
            cached = _epoch_seconds(model, batches, args.epochs)
            rows.append((method, uncached, cached, build))
            print(f"{method}: uncached {uncached:.2f} s/epoch, cached {cached:.2f} s/epoch")
    print()
    print("| method | uncached s/epoch | cached s/epoch | ratio | cache build s (2 views) |")
    print("|---|---|---|---|---|")
    for method, uncached, cached, build in rows:
        print(
            f"| {method} | {uncached:.2f} | {cached:.2f} | {uncached / cached:.1f}x | {build:.1f} |"
        )


if __name__ == "__main__":
    main()
