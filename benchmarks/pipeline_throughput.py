"""Decode throughput of the file pipeline vs. the training step of a model.

Decodes real JPEGs (default: `../shared/data/coco128`, 128 COCO photos)
through `tf_files_dataset` (parallel decode, resize, random flips) and times
images/s over several passes without caching, then times `fit` steps of a
model on in-memory uint8 batches of the same size, to tell whether the
pipeline keeps up.

    python benchmarks/pipeline_throughput.py --image-size 224 --backbone tiny
"""

import argparse
import glob
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    default_dir = os.path.join(here, "..", "..", "shared", "data", "coco128", "train2017")
    parser.add_argument("--image-dir", default=default_dir)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--passes", type=int, default=4)
    parser.add_argument("--backbone", default="tiny")
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()

    import keras
    import numpy as np

    import keras_mlrnn as km
    from keras_mlrnn.data import tf_files_dataset

    paths = sorted(glob.glob(os.path.join(args.image_dir, "*.jpg")))
    if not paths:
        raise SystemExit(f"no JPEG files in {args.image_dir}")
    labels = np.zeros((len(paths), 20), np.float32)
    ds = tf_files_dataset(
        paths, labels, args.image_size, args.batch_size, shuffle=True, augment=True, seed=0
    )
    for _ in ds.take(1):  # warm up
        pass
    start = time.perf_counter()
    count = 0
    for _ in range(args.passes):
        for x, _ in ds:
            count += int(x.shape[0])
    decode = count / (time.perf_counter() - start)

    model = km.BinaryRelevance(20, backbone=args.backbone, image_size=args.image_size)
    model.compile(optimizer="adam", metrics=None)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (args.batch_size, args.image_size, args.image_size, 3), np.uint8)
    y = (rng.random((args.batch_size, 20)) < 0.2).astype(np.float32)
    model.train_on_batch(x, y)  # compile
    start = time.perf_counter()
    for _ in range(args.steps):
        model.train_on_batch(x, y)
    train = args.steps * args.batch_size / (time.perf_counter() - start)
    print(
        f"backend {keras.backend.backend()}, {len(paths)} JPEGs at {args.image_size} px, "
        f"batch {args.batch_size}: decode+resize+flip {decode:.0f} img/s; "
        f"BinaryRelevance({args.backbone}) training {train:.0f} img/s; "
        f"pipeline {'keeps up' if decode >= train else 'is the bottleneck'}."
    )


if __name__ == "__main__":
    main()
