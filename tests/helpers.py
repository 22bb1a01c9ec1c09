"""The generic test helpers every layer, loss and model test reuses.

`run_model_test(cls, init_kwargs, images, targets, tmp_path)` checks, for one method:
 1. `get_config` is JSON-serialisable and `from_config` rebuilds the same config;
 2. the model has trainable weights, the backbone's among them, and as
    many trainable parameters as the caller counted (if given);
 3. under a mixed policy (`mixed_float16` on TensorFlow, `mixed_bfloat16`
    on JAX and PyTorch) every sublayer follows the policy and variables
    stay float32;
 4. `fit` (Adam) on one batch lowers the loss by at least 10% and moves
    every trainable weight, leaving it finite (each got a gradient); the
    README's JAX run compiles it with XLA;
 5. output shapes `(B, C)`, float32 scores in [0, 1] and multi-hot sets
    from `predict_scores_and_sets`, and symbolically (the config clone:
    traced, not run);
 6. `predict` on a dataset equals the scores of a call on the arrays;
 7. `.keras` save and reload gives the same class and outputs;
 8. `save_to_preset` then `from_preset` gives identical outputs,
    `load_weights=False` builds the architecture, an unknown preset raises.

One model is built and trained, under the mixed policy (the configuration
of a GPU run; float32 is what every other test trains), plus its config
clone and the reloaded copies, which are compared by calling them (`_scores`).
"""

import json
import os

import keras
import numpy as np

from keras_mlrnn.data import NumpyBatches


def _flat_layers(model):
    return [layer for layer in model._flatten_layers(include_self=False)]


def check_config_round_trip(model):
    config = model.get_config()
    json.dumps(config)  # must be JSON-serialisable
    clone = type(model).from_config(config)
    clone_config = clone.get_config()
    for key, value in config.items():
        if key in ("name", "backbone_weights"):
            continue
        assert clone_config[key] == value, (
            f"config[{key!r}] changed: {value} -> {clone_config[key]}"
        )
    return clone


def check_output_spec(model, images, num_classes):
    """Symbolic outputs (traced, not run): `(B, C)` float32 scores."""
    spec = model.compute_output_spec(keras.KerasTensor(images.shape, dtype="uint8"))
    assert tuple(spec.shape) == (len(images), num_classes)
    assert spec.dtype == "float32", spec.dtype


def check_outputs(model, images, num_classes):
    """Scores and sets of `predict_scores_and_sets` (one compiled pass of both)."""
    scores, sets = model.predict_scores_and_sets(images, batch_size=len(images))
    assert sets.shape == (len(images), num_classes)
    assert set(np.unique(sets)) <= {0.0, 1.0}
    assert scores.shape == (len(images), num_classes)
    assert scores.dtype == np.float32, scores.dtype
    assert np.all((scores >= 0) & (scores <= 1)), "scores must lie in [0, 1]"
    check_output_spec(model, images, num_classes)
    return scores


def check_every_weight_moved(model, before):
    """Each trainable weight differs from `before` and is finite (it got a gradient).

    Adam leaves a weight whose gradient is always exactly zero where it was.
    """
    assert before, "the model has no trainable weights"
    for variable, old in zip(model.trainable_variables, before):
        new = keras.ops.convert_to_numpy(variable)
        assert np.all(np.isfinite(new)), f"{variable.path} is not finite after training"
        assert not np.array_equal(new, old), f"{variable.path} got no gradient"


def check_mixed_precision(model, policy):
    """Every sublayer with weights follows `policy`; every variable stays float32."""
    compute = policy.split("_")[1]
    for layer in _flat_layers(model):
        if isinstance(layer, keras.layers.InputLayer) or not layer.weights:
            continue
        assert layer.dtype_policy.name == policy, (
            f"sublayer {layer.name} runs {layer.dtype_policy.name}, not {policy}"
        )
        assert layer.compute_dtype == compute
    for variable in model.weights:
        assert variable.dtype == "float32", f"{variable.path} is {variable.dtype}"


def check_fit_lowers_loss(model, images, targets, epochs=15):
    """Adam on one batch lowers the loss by 10% and moves every trainable weight.

    Compiled as Keras chooses on this machine: a tf.function graph on
    TensorFlow (XLA only on a GPU), XLA on JAX, eager on PyTorch.
    """
    before = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
    model.compile(optimizer=keras.optimizers.Adam(3e-3), metrics=None)
    history = model.fit(images, targets, batch_size=len(images), epochs=epochs, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.9 * losses[0], f"loss did not go down by 10%: {losses}"
    check_every_weight_moved(model, before)
    return model


def _scores(model, images):
    """Scores of one batch: an eager call, or on JAX the compiled `predict`.

    JAX runs an eager call op by op and compiles each op the first time it
    meets it (10 s for a recurrent head on a CPU); one compiled step is quicker.
    """
    if keras.backend.backend() == "jax":
        return model.predict(images, batch_size=len(images), verbose=0)
    return keras.ops.convert_to_numpy(model(images))


def check_saving(model, images, tmp_path):
    expected = _scores(model, images)
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    np.testing.assert_allclose(_scores(loaded, images), expected, atol=1e-6)


def check_presets(model, images, tmp_path):
    expected = _scores(model, images)
    preset = os.path.join(tmp_path, "preset")
    model.save_to_preset(preset)
    for name in ("config.json", "model.weights.h5", "metadata.json"):
        assert os.path.isfile(os.path.join(preset, name))
    loaded = type(model).from_preset(preset)
    np.testing.assert_allclose(_scores(loaded, images), expected, atol=1e-6)
    fresh = type(model).from_preset(preset, load_weights=False)
    assert fresh.built and type(fresh) is type(model)
    try:
        type(model).from_preset("no-such-preset-anywhere")
    except ValueError as e:
        assert "no-such-preset-anywhere" in str(e)
    else:
        raise AssertionError("an unknown preset must raise")


def run_model_test(cls, init_kwargs, images, targets, tmp_path, trainable_parameters=None):
    """Runs checks 1-8 above for one method. `images` uint8, `targets` multi-hot.

    `trainable_parameters`: the count the caller worked out from the
    architecture (checked if given).
    """
    num_classes = init_kwargs["num_classes"]
    # One mixed policy per backend (the policy plumbing is backend-agnostic
    # model code): float16 with its loss scaling on TensorFlow, bfloat16 on
    # JAX and PyTorch. The README's test command runs all three.
    policy = "mixed_float16" if keras.backend.backend() == "tensorflow" else "mixed_bfloat16"
    keras.utils.set_random_seed(0)  # the same start whatever was built before
    model = cls(**init_kwargs, dtype=policy)
    model.build()
    clone = check_config_round_trip(model)
    check_output_spec(clone, images, num_classes)
    backbone_ids = {id(v) for v in model.backbone.trainable_variables}
    assert backbone_ids and backbone_ids <= {id(v) for v in model.trainable_variables}
    if trainable_parameters is not None:
        counted = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
        assert counted == trainable_parameters, (counted, trainable_parameters)
    check_mixed_precision(model, policy)

    trained = check_fit_lowers_loss(model, images, targets)
    check_outputs(trained, images, num_classes)
    # One batch of the batch's size: on JAX the same compiled program as `_scores`.
    from_dataset = trained.predict(NumpyBatches(images, batch_size=len(images)), verbose=0)
    # the compiled predict against a call: 16-bit arithmetic, fused differently
    np.testing.assert_allclose(from_dataset, _scores(trained, images), atol=2e-3)
    check_saving(trained, images, tmp_path)
    check_presets(trained, images, tmp_path)
    return trained


def check_stages_train_different_parts(model, images, targets, head, lstm):
    """Stage "features" moves `head` (the CNN side) but not `lstm`; "recurrent" the reverse.

    `model` starts in stage "features", built; `head` and `lstm` are variables of it.
    """

    def value(variable):
        return keras.ops.convert_to_numpy(variable)

    model.compile(optimizer=keras.optimizers.SGD(0.5), metrics=None)
    lstm_before, head_before = value(lstm), value(head)
    model.train_on_batch(images, targets)
    np.testing.assert_array_equal(value(lstm), lstm_before)
    assert not np.array_equal(value(head), head_before)
    model.set_stage("recurrent")
    model.compile(optimizer=keras.optimizers.SGD(0.5), metrics=None)
    head_before = value(head)
    model.train_on_batch(images, targets)
    np.testing.assert_array_equal(value(head), head_before)
    assert not np.array_equal(value(lstm), lstm_before)


def train_and_kill_mid_epoch_two(argv, checkpoints, ready=lambda: True, seconds=300):
    """Runs `keras-mlrnn train ARGV` in a subprocess and SIGKILLs it once its checkpoint in
    `checkpoints` says epoch 2 is under way (a mid-epoch save) and `ready()` holds."""
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "keras_mlrnn.cli", "train", *argv]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    metadata = os.path.join(checkpoints, "training_metadata.json")
    deadline = time.time() + seconds
    try:
        while time.time() < deadline and process.poll() is None:
            if os.path.isfile(metadata) and ready():
                with open(metadata) as f:
                    text = f.read()  # may be caught half-written
                if text.endswith("}") and json.loads(text).get("epoch") == 1:
                    break
            time.sleep(0.2)
        assert process.poll() is None, "training finished before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
