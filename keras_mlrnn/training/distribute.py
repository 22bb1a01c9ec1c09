"""Data-parallel training on several devices, through each backend's own machinery.

- JAX: `keras.distribution.DataParallel` (the batch is sharded over the
  devices, variables replicated; XLA inserts the gradient all-reduce); over
  several processes (`multi-worker`) after `keras.distribution.initialize`,
  each process feeding its share of every global batch.
- TensorFlow: `tf.distribute.MirroredStrategy` (one machine, several
  devices) or `MultiWorkerMirroredStrategy` (several processes or machines,
  configured by `TF_CONFIG`). Every worker runs the same `train`; the chief
  (task 0) writes the run directory, the others a scratch folder
  (`worker_scratch_dir`). Keras 3.15 cannot fit under that strategy as it
  ships (keras-team/keras#20585): `start_multi_worker` mends the two steps
  that fail (`_mend_keras_for_multi_worker`).

Build and compile the model inside `data_parallel(...)`, then `fit` as
usual with the *global* batch size. `keras-mlrnn train --distribute` does this.

Example:
```python
import keras_mlrnn as km
from keras_mlrnn.training.distribute import data_parallel
with data_parallel():                      # all local devices
    model = km.CoarseToFineRNN(num_classes=20, backbone="tiny", image_size=64)
    model.compile(optimizer="adam")
    # model.fit(dataset, epochs=...)       # inside or after the block
```
"""

import contextlib
import os
import shutil
import sys
import tempfile

import keras

from keras_mlrnn.training.run_dir import OWNER

KINDS = ("data-parallel", "multi-worker")
# One TensorFlow strategy per (kind, devices) and process: several
# MirroredStrategy objects in one process can collide in their collective
# instance keys ("Shape mismatch in the collective instance ...").
_TF_STRATEGIES = {}
# A JAX multi-worker process's (index, count), once `keras.distribution.initialize` ran.
_JAX_PROCESSES = {}


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
    """Joins this process to the others of a multi-worker run, before anything else runs.

    TensorFlow: creates `MultiWorkerMirroredStrategy` (from `TF_CONFIG`) now:
    TensorFlow configures its collective operations once, at program start,
    and a strategy created after the first op fails ("Collective ops must be
    configured at program startup"). JAX: `keras.distribution.initialize()`
    from `KERAS_DISTRIBUTION_JOB_ADDRESSES` (the coordinator's host:port
    first), `KERAS_DISTRIBUTION_NUM_PROCESSES` and
    `KERAS_DISTRIBUTION_PROCESS_ID`, CPU collectives over Gloo.
    `keras_mlrnn.training.runs.train` calls this first; `data_parallel("multi-worker")`
    then uses it.
    """
    if keras.backend.backend() == "jax":
        return _start_jax_processes()
    import tensorflow as tf

    if "multi-worker" not in _TF_STRATEGIES:  # it takes every local device itself
        _TF_STRATEGIES["multi-worker"] = tf.distribute.MultiWorkerMirroredStrategy()
        _mend_keras_for_multi_worker()
    return _TF_STRATEGIES["multi-worker"]


def _mend_keras_for_multi_worker():
    """Two steps of Keras 3.15's TensorFlow trainer that fail under MultiWorkerMirroredStrategy.

    Measured with two worker processes (keras-team/keras#20585, open):
    - `fit` first builds the model from one batch, averaged over the replicas
      with `strategy.reduce("MEAN", batch)`, which this strategy cannot do
      eagerly ("Attempt to convert a value (PerReplica ...) to a Tensor").
      Building needs shapes only: this worker's first replica's batch serves.
    - each step averages its logs with `strategy.reduce("MEAN", value,
      axis=0)`, which fails on the scalar loss ("Invalid reduction dimension
      0 for input with 0 dimensions"). The mean over the replicas
      (`axis=None`) is what the logs mean.
    """
    import tensorflow as tf
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer

    def local_batch(strategy, value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        if self._distribute_strategy is None:
            return
        strategy = self.distribute_strategy
        if iterator is not None:
            for _, _, batches in iterator:
                first = next(batches)
                data_batch = tree.map_structure(lambda v: local_batch(strategy, v), first)
                break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    keras_reduce = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and trainer._collective_all_reduce_multi_worker(strategy):
            return tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return keras_reduce(values, strategy, reduction)

    trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    trainer.reduce_per_replica = reduce_per_replica


JAX_PROCESS_VARIABLES = (
    "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "KERAS_DISTRIBUTION_PROCESS_ID",
)


def _start_jax_processes():
    """`keras.distribution.initialize()` once per process; returns (process index, count)."""
    import jax

    if "started" not in _JAX_PROCESSES:
        missing = [name for name in JAX_PROCESS_VARIABLES if not os.environ.get(name)]
        if missing:
            raise ValueError(
                "--distribute multi-worker on JAX needs the environment variables "
                f"{', '.join(JAX_PROCESS_VARIABLES)}; not set: {', '.join(missing)}."
            )
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        keras.distribution.initialize()
        _JAX_PROCESSES["started"] = (jax.process_index(), jax.process_count())
    return _JAX_PROCESSES["started"]


def process_index_and_count():
    """(this process's index, the number of processes) of a JAX multi-worker run, else None."""
    return _JAX_PROCESSES.get("started")


def is_chief():
    """False only in a multi-worker run's non-chief workers (task 0, or the "chief" task, leads)."""
    if "started" in _JAX_PROCESSES:
        return _JAX_PROCESSES["started"][0] == 0
    strategy = _TF_STRATEGIES.get("multi-worker")
    if strategy is None:
        return True
    resolver = strategy.cluster_resolver
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


class LostWorkerError(ConnectionError):
    """A multi-worker run stopped because another worker is gone; the message says how to go on."""


@contextlib.contextmanager
def lost_worker_reported(run_dir):
    """Turns the backend's error for a lost worker into a `LostWorkerError` of one line.

    When a worker dies, the others' next collective fails within seconds
    (measured: TensorFlow 10-40 s, its heartbeat check, "Collective ops is
    aborted by: ..."; JAX at once, "Gloo all-reduce failed: ...
    Connection closed by peer", or "Gloo AllGather failed" as a ValueError).
    The error names the cause and the `--resume` that continues from the
    chief's last checkpoint.
    """
    if keras.backend.backend() == "jax":  # jax's multihost_utils re-raises some as ValueError
        import jax

        lost, marker = (jax.errors.JaxRuntimeError, ValueError), "Gloo"
    else:
        import tensorflow as tf

        lost, marker = (tf.errors.UnavailableError, tf.errors.AbortedError), ""
    try:
        yield
    except lost as error:
        if marker not in str(error):
            raise
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        cause = next((line for line in lines if "aborted by" in line), lines[0] if lines else "")
        cause = cause[cause.find("Collective ops") :] if "Collective ops" in cause else cause
        raise LostWorkerError(
            f"multi-worker training stopped: a worker was lost ({cause}). Start every worker "
            f"again with --resume {run_dir} to continue from the last checkpoint."
        ) from error


def exit_after_lost_worker(code):
    """Ends this process at once after a `LostWorkerError` under JAX; else returns `code`.

    JAX's distributed runtime shuts down at exit by waiting for every
    process, then aborts when the lost one's heartbeat times out (measured:
    90 s, then a C++ stack trace and status 134); the error is already said.
    """
    if "started" in _JAX_PROCESSES:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


@contextlib.contextmanager
def worker_scratch_dir(run_dir, resume):
    """A non-chief worker's run directory: a new temporary folder, removed at the end.

    Every worker runs the same steps (their collectives meet at each one), but
    only the chief writes `run_dir`. On resume the worker starts from a copy
    of the chief's `run_dir` (its checkpoints), so `run_dir` must be readable
    on every machine (a shared file system), as the chief's checkpoints must
    outlive a lost machine.
    """
    scratch = tempfile.mkdtemp(prefix="keras-mlrnn-worker-")
    path = os.path.join(scratch, os.path.basename(os.path.abspath(run_dir)))
    try:
        if resume:
            shutil.copytree(run_dir, path, ignore=shutil.ignore_patterns(OWNER))
        yield path
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


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
        previous = keras.distribution.distribution()
        if kind == "multi-worker":  # every process's devices; each feeds its own share
            start_multi_worker()
            devices = keras.distribution.list_devices()
        distribution = keras.distribution.DataParallel(
            devices=devices, auto_shard_dataset=kind != "multi-worker"
        )
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
