"""Helper run in a subprocess by test_distribute.py: one- vs two-device loss curves.

Prints one JSON line {method: {"single": [...], "parallel": [...]}} of
per-epoch training losses. The backend and the device count come from the
environment (KERAS_BACKEND, XLA_FLAGS for JAX; two logical CPUs for TF).
"""

import contextlib
import json
import sys

import keras

import keras_mlrnn as km
from keras_mlrnn.data import load_scenes
from keras_mlrnn.training.distribute import data_parallel, local_devices


def plain_backbone():
    # No BatchNormalization and no dropout: per-replica batch statistics
    # (TF MirroredStrategy) would make one- and two-device runs differ by design.
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv2D(32, 3, strides=4, padding="same", activation="relu")(x)
    return keras.Model(inputs, x)


# One recurrent method: the base class's step (the batch repacked with its
# targets, the replica-scaled loss) and a recurrence with a discrete choice.
METHODS = {
    "CoarseToFineRNN": lambda: km.CoarseToFineRNN(
        20,
        backbone=plain_backbone(),
        image_size=32,
        steps=3,
        lstm_units=32,
        embedding_dim=16,
        attention_units=16,
    ),  # fmt: skip
}


def losses(make, weights, images, labels, scope, batch_size=16):
    with scope:
        model = make()
        model.build()
        model.set_weights(weights)
        model.compile(optimizer=keras.optimizers.SGD(0.01), metrics=[])
        history = model.fit(
            images, labels, batch_size=batch_size, epochs=3, shuffle=False, verbose=0
        )
    return [float(v) for v in history.history["loss"]]


def main():
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        (cpu,) = tf.config.list_physical_devices("CPU")
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
    devices = local_devices()
    assert len(devices) == 2, devices
    images, labels = load_scenes("train", num_images=64, image_size=32)
    result = {"devices": devices}
    for name, make in METHODS.items():
        keras.utils.set_random_seed(0)
        reference = make()
        reference.build()
        weights = reference.get_weights()
        single = losses(make, weights, images, labels, contextlib.nullcontext())
        parallel = losses(make, weights, images, labels, data_parallel("data-parallel", devices))
        result[name] = {"single": single, "parallel": parallel}
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
