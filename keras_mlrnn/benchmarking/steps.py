"""What one benchmark measurement runs, in its own process: timings, XLA cost, a profile.

`keras_mlrnn.benchmarking.benchmark` starts a fresh process per method and batch size
and calls one of `measure`, `cost_analysis` or `profile` there.
"""

import os
import statistics
import time


def _peak_memory_bytes():
    """Peak device memory of this process, or host peak RSS on CPU."""
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            device = jax.devices()[0]
            if device.platform != "cpu":
                return int(device.memory_stats()["peak_bytes_in_use"])
        elif backend == "tensorflow":
            import tensorflow as tf

            if tf.config.list_logical_devices("GPU"):
                return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                return int(torch.cuda.max_memory_allocated())
    except (KeyError, RuntimeError, ValueError):
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


class _CompileCounter:
    """Counts XLA backend compilations on JAX (None elsewhere): 0 after warm-up is the goal."""

    def __init__(self):
        import keras

        self.count = None
        if keras.backend.backend() == "jax":
            import jax.monitoring

            self.count = 0
            jax.monitoring.register_event_duration_secs_listener(self._listen)

    def _listen(self, event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            self.count += 1


def synthetic_labels(num_images, num_classes, max_labels, seed=0):
    """Multi-hot `(num_images, num_classes)`: each image gets 1..max_labels distinct labels,
    and at least one image gets `max_labels` (so `adapt` sets `max_length = max_labels`)."""
    import numpy as np

    if not 1 <= max_labels <= num_classes:
        raise ValueError(f"max_labels must lie in [1, {num_classes}]; got {max_labels}.")
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, max_labels + 1, num_images)
    counts[0] = max_labels
    labels = np.zeros((num_images, num_classes), dtype="float32")
    for row, count in zip(labels, counts):
        row[rng.choice(num_classes, count, replace=False)] = 1.0
    return labels


def _build(method, num_images, args):
    """The compiled model of `method` for these arguments, adapted to synthetic labels."""
    import keras

    from keras_mlrnn.models import MODELS

    keras.config.set_dtype_policy(args.precision)
    kwargs = dict(num_classes=args.num_classes, backbone=args.backbone, image_size=args.image_size)
    if MODELS[method].uses_beam_search:
        kwargs["beam_size"] = args.beam_size
    model = MODELS[method](**kwargs)
    labels = synthetic_labels(num_images, args.num_classes, args.max_labels)
    model.adapt(labels)  # first: `compile` builds the model, tracing as many steps as it has
    # "auto" (the default) is what `fit` runs with (keras_mlrnn.training.runs): XLA on JAX, and on
    # TensorFlow with a GPU; not on a CPU-only TensorFlow machine (8x slower there for
    # MobileNetV2), nor on PyTorch (eager). The result says which (`xla`).
    jit = {"auto": "auto", "true": True, "false": False}[getattr(args, "jit_compile", "auto")]
    model.compile(optimizer=keras.optimizers.SGD(1e-3), metrics=[], jit_compile=jit)
    return model, labels


def _timed(run):
    """Seconds `run()` takes; `run` must wait for the device (read its results back)."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def measure(method, batch, args):
    """Measures one method at one batch size in this process; returns a dict.

    `fit` and `predict_sets` each run `args.repeats` times over the same
    `args.steps` batches (in order: no shuffling gather on the host); the
    median run counts.
    """
    import keras
    import numpy as np

    model, labels = _build(method, batch * args.steps, args)
    rng = np.random.default_rng(0)
    shape = (batch * args.steps, args.image_size, args.image_size, 3)
    images = rng.integers(0, 256, shape, dtype=np.uint8)
    warm = batch * args.warmup
    compiles = _CompileCounter()
    model.fit(images[:warm], labels[:warm], batch_size=batch, epochs=1, verbose=0, shuffle=False)
    model.predict_sets(images[:warm], batch_size=batch)
    warm_compiles = compiles.count

    def train():
        model.fit(images, labels, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        # Reading a weight back waits for the last step, whatever fit returned.
        keras.ops.convert_to_numpy(model.trainable_variables[-1])

    def infer():
        model.predict_sets(images, batch_size=batch)

    train_seconds = [_timed(train) for _ in range(args.repeats)]
    infer_seconds = [_timed(infer) for _ in range(args.repeats)]
    return {
        "method": method,
        "batch": batch,
        "train_images_per_s": len(images) / statistics.median(train_seconds),
        "infer_images_per_s": len(images) / statistics.median(infer_seconds),
        "train_seconds": train_seconds,
        "infer_seconds": infer_seconds,
        "peak_memory_bytes": _peak_memory_bytes(),
        "backend": keras.backend.backend(),
        "xla": bool(model.jit_compile),  # as Keras chose for this machine and backend
        "parameters": int(model.count_params()),
        # XLA compilations during the timed steps (JAX only; None elsewhere).
        "compiles_after_warmup": None if compiles.count is None else compiles.count - warm_compiles,
    }


def _values(variables):
    """The arrays behind Keras variables: the state a jitted Keras step takes."""
    return [v.value for v in variables]


# Instructions of a compiled program that launch nothing: they name or regroup buffers.
_NO_KERNEL = {"parameter", "constant", "tuple", "get-tuple-element", "bitcast"}


def count_operations(hlo_text):
    """Operations in the entry computation of optimised HLO text (`compiled.as_text()`).

    Each counted instruction (a fusion, a library call such as a matmul or
    a convolution, a copy, ...) runs as one kernel or call per execution;
    parameters, constants, tuples and bitcasts launch nothing and are not
    counted. A recurrent head made of many small steps shows up here as
    many extra operations: the launch latency that FLOPs and bytes miss.
    (Computations called from the entry, such as fusion bodies, are not
    counted; XLA's GPU compiler may also group operations into CUDA
    graphs, which this count does not see.)
    """
    from keras_mlrnn.benchmarking.hlo import instructions

    if not any(line.startswith("ENTRY") for line in hlo_text.splitlines()):
        raise ValueError("no ENTRY computation in the HLO text.")
    return sum(i.entry and i.opcode not in _NO_KERNEL for i in instructions(hlo_text))


def _compiled_cost(function, *args):
    """XLA's estimates for `jax.jit(function)` compiled on `args` (never run)."""
    import jax

    compiled = jax.jit(function).lower(*args).compile()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost  # older JAX: one dict per device
    memory = compiled.memory_analysis()
    return {
        "flops": float(cost["flops"]),
        "bytes_accessed": float(cost["bytes accessed"]),
        # Buffers the step allocates besides its inputs and outputs (activations).
        "temp_bytes": int(memory.temp_size_in_bytes),
        "argument_bytes": int(memory.argument_size_in_bytes),
        "operations": count_operations(compiled.as_text()),
    }


def _compiled_steps(model, images, labels):
    """`{"train": (function, arguments), "infer": (...)}`: the pure JAX functions of one
    training step and one `predict_sets` step, with their state, for `jax.jit`.

    `images` and `labels` may be arrays or `jax.ShapeDtypeStruct`s.
    """
    from keras_mlrnn.models.batched_method import BatchedMethod

    model.optimizer.build(model.trainable_variables)
    train_state = (
        _values(model.trainable_variables),
        _values(model.non_trainable_variables),
        _values(model.optimizer.variables),
        _values(model.metrics_variables),
    )
    decoder = BatchedMethod(model, "decode_sets")  # what predict_sets runs
    decoder.build()
    infer_state = (_values(decoder.trainable_variables), _values(decoder.non_trainable_variables))
    return {
        "train": (model.train_step, (train_state, (images, labels))),
        "infer": (decoder.predict_step, (infer_state, (images,))),
    }


def _require_jax(flag):
    import keras

    if keras.backend.backend() != "jax":
        raise SystemExit(f"{flag} needs the JAX backend (KERAS_BACKEND=jax).")


def cost_analysis(method, batch, args):
    """XLA's FLOPs, bytes and memory for one train step and one predict_sets step (JAX only)."""
    import jax

    _require_jax("--cost-analysis")
    model, _ = _build(method, batch, args)
    images = jax.ShapeDtypeStruct((batch, args.image_size, args.image_size, 3), "uint8")
    labels = jax.ShapeDtypeStruct((batch, args.num_classes), "float32")
    result = {"method": method, "batch": batch, "parameters": int(model.count_params())}
    for part, (function, arguments) in _compiled_steps(model, images, labels).items():
        cost = _compiled_cost(function, *arguments)
        result.update({f"{part}_{k}": v for k, v in cost.items()})
    result["steps"] = model.num_steps
    return result


def profile(method, batch, args):
    """Times one train step and one predict_sets step and splits them by layer (JAX only)."""
    import numpy as np

    from keras_mlrnn.benchmarking.profiling import profile_step

    _require_jax("--profile")
    model, labels = _build(method, batch, args)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (batch, args.image_size, args.image_size, 3), dtype=np.uint8)
    result = {"method": method, "batch": batch, "steps": model.num_steps}
    for part, (function, arguments) in _compiled_steps(model, images, labels).items():
        trace_dir = os.path.join(args.profile, f"{method}-{batch}-{part}")
        result[part] = profile_step(function, arguments, trace_dir, steps=args.repeats)
    return result
