"""Data-parallel training on several devices, through each backend's own machinery.

- JAX: `keras.distribution.DataParallel` (the batch is sharded over the
  devices, variables replicated; XLA inserts the gradient all-reduce).
- TensorFlow: `tf.distribute.MirroredStrategy` (one machine, several
  devices) or `MultiWorkerMirroredStrategy` (several machines, configured by
  `TF_CONFIG`).

Build and compile the model inside `data_parallel(...)`, then `fit` as
usual with the *global* batch size. `keras-mlrnn train --distribute` does this.

Example:
```python
import keras_mlrnn as km
from keras_mlrnn.distribute import data_parallel
with data_parallel():                      # all local devices
    model = km.CoarseToFineRNN(num_classes=20, backbone="tiny", image_size=64)
    model.compile(optimizer="adam")
    # model.fit(dataset, epochs=...)       # inside or after the block
```
"""

import contextlib

import keras

KINDS = ("data-parallel", "multi-worker")
# One TensorFlow strategy per (kind, devices) and process: several
# MirroredStrategy objects in one process can collide in their collective
# instance keys ("Shape mismatch in the collective instance ...").
_TF_STRATEGIES = {}


def local_devices():
    """The accelerators Keras sees, else the CPUs (names as the backend writes them)."""
    if keras.backend.backend() == "jax":
        import jax

        if any(d.platform != "cpu" for d in jax.devices()):
            return keras.distribution.list_devices("gpu")
        return keras.distribution.list_devices("cpu")
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_logical_devices("GPU")
        return [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
    return keras.distribution.list_devices()


def start_multi_worker():
    """Creates TensorFlow's `MultiWorkerMirroredStrategy` now, before any TensorFlow op.

    TensorFlow configures its collective operations once, at program start:
    a strategy created after the first op fails ("Collective ops must be
    configured at program startup"). `keras_mlrnn.runs.train` calls this
    first; `data_parallel("multi-worker")` then reuses the strategy.
    """
    import tensorflow as tf

    if "multi-worker" not in _TF_STRATEGIES:  # it takes every local device itself
        _TF_STRATEGIES["multi-worker"] = tf.distribute.MultiWorkerMirroredStrategy()
    return _TF_STRATEGIES["multi-worker"]


@contextlib.contextmanager
def data_parallel(kind="data-parallel", devices=None):
    """Context in which models are built and compiled for data-parallel training.

    Args:
        kind: "data-parallel" (all local devices; JAX or TensorFlow) or
            "multi-worker" (TensorFlow's `MultiWorkerMirroredStrategy`).
        devices: list of device names or None for `local_devices()`.

    Yields:
        The distribution (JAX) or strategy (TensorFlow) in effect.
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown --distribute {kind!r}; expected one of {KINDS}.")
    backend = keras.backend.backend()
    if kind == "multi-worker" and backend == "tensorflow":
        strategy = start_multi_worker()  # before local_devices(), which starts TensorFlow
        with strategy.scope():
            yield strategy
        return
    devices = list(devices) if devices is not None else local_devices()
    if backend == "jax":
        if kind != "data-parallel":
            raise ValueError(
                "On JAX use --distribute data-parallel (multi-worker is TensorFlow's)."
            )
        previous = keras.distribution.distribution()
        distribution = keras.distribution.DataParallel(devices=devices)
        keras.distribution.set_distribution(distribution)
        try:
            yield distribution
        finally:
            keras.distribution.set_distribution(previous)
    elif backend == "tensorflow":
        import tensorflow as tf

        key = (kind, tuple(devices))
        if key not in _TF_STRATEGIES:
            _TF_STRATEGIES[key] = tf.distribute.MirroredStrategy(devices=devices)
        strategy = _TF_STRATEGIES[key]
        with strategy.scope():
            yield strategy
    else:
        raise ValueError(
            f"Data-parallel training is wired for the JAX and TensorFlow backends, not {backend!r}."
        )
