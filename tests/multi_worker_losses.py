"""Helper run by test_multi_worker.py: a loss curve of `--distribute multi-worker`.

With `TF_CONFIG` (TensorFlow) or `KERAS_DISTRIBUTION_PROCESS_ID` (JAX) set,
this process is one worker of a multi-worker run (each worker one CPU);
without them, the one-process run of the same model, weights and global
batch of 16. Prints one JSON line: the per-epoch training losses of
`distributed_losses.METHODS`' model.
"""

import contextlib
import json
import os
import sys

from keras_mlrnn.training.distribute import (
    data_parallel,
    process_index_and_count,
    start_multi_worker,
)

MULTI = "TF_CONFIG" in os.environ or "KERAS_DISTRIBUTION_PROCESS_ID" in os.environ
if MULTI:
    start_multi_worker()  # before any TensorFlow op or JAX computation

import keras  # noqa: E402

from keras_mlrnn.data import load_scenes  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from distributed_losses import METHODS, losses  # noqa: E402


def main():
    images, labels = load_scenes("train", num_images=64, image_size=32)
    (make,) = METHODS.values()
    keras.utils.set_random_seed(0)
    reference = make()
    reference.build()
    weights = reference.get_weights()
    batch_size = 16
    if process_index_and_count() is not None:  # JAX: each process feeds its share
        index, count = process_index_and_count()
        images, labels, batch_size = images[index::count], labels[index::count], 16 // count
    scope = data_parallel("multi-worker") if MULTI else contextlib.nullcontext()
    print(json.dumps(losses(make, weights, images, labels, scope, batch_size)))


if __name__ == "__main__":
    main()
