"""Helper run by test_multi_worker.py: a loss curve under MultiWorkerMirroredStrategy.

With `TF_CONFIG` set, this process is one worker of `--distribute
multi-worker` (each worker one CPU); without it, the one-process run of the
same model, weights and global batch. Prints one JSON line: the per-epoch
training losses of `distributed_losses.METHODS`' model.
"""

import contextlib
import json
import os
import sys

from keras_mlrnn.distribute import data_parallel, start_multi_worker

if "TF_CONFIG" in os.environ:
    start_multi_worker()  # before any TensorFlow op

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
    multi = "TF_CONFIG" in os.environ
    scope = data_parallel("multi-worker") if multi else contextlib.nullcontext()
    print(json.dumps(losses(make, weights, images, labels, scope)))


if __name__ == "__main__":
    main()
