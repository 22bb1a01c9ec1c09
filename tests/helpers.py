"""The generic test helpers every layer, loss and model test reuses.

`run_model_test(cls, init_kwargs, images, targets, tmp_path)` checks, for one method:
 1. `get_config` is JSON-serialisable and `from_config` rebuilds the same config;
 2. output shapes `(B, C)`, float32 scores in [0, 1] and multi-hot sets
    from `predict_scores_and_sets`, and symbolically (the config clone:
    traced, not run);
 3. the model has trainable weights, the backbone's among them, and as
    many trainable parameters as the caller counted (if given);
 4. under a mixed policy (`mixed_float16` on TensorFlow, `mixed_bfloat16`
    on JAX and PyTorch): every sublayer follows the policy, variables stay
    float32, scores come out float32, and an XLA-compiled training step
    (`jit_compile=True` on TensorFlow, what Keras compiles there on a GPU;
    JAX always compiles) gives a finite loss;
 5. `fit` (Adam) on one batch lowers the loss by at least 10% and moves
    every trainable weight, leaving it finite (each got a gradient);
 6. `predict` on a dataset equals the scores of a call on the arrays;
 7. `.keras` save and reload gives the same class and outputs;
 8. `save_to_preset` then `from_preset` gives identical outputs,
    `load_weights=False` builds the architecture, an unknown preset raises.

Models built: the one under test, its config clone, one under the mixed
policy and the one `fit` trains (which the later checks reuse).
Reloaded models are compared by calling them (`_scores`).
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


def check_mixed_precision(cls, init_kwargs, images, targets, policy):
    model = cls(**init_kwargs, dtype=policy)
    compute = policy.split("_")[1]
    model.build()
    for layer in _flat_layers(model):
        if isinstance(layer, keras.layers.InputLayer) or not layer.weights:
            continue
        assert layer.dtype_policy.name == policy, (
            f"sublayer {layer.name} runs {layer.dtype_policy.name}, not {policy}"
        )
        assert layer.compute_dtype == compute
    for variable in model.weights:
        assert variable.dtype == "float32", f"{variable.path} is {variable.dtype}"
    check_output_spec(model, images, init_kwargs["num_classes"])  # float32 scores, traced
    # XLA on TensorFlow too: what Keras compiles there on a GPU. JAX always
    # compiles with XLA; on PyTorch jit_compile=True means torch.compile, whose
    # inductor fails on the tiny CNN's strided convolution backward (torch 2.13:
    # "LoweringException: ValueRangeError: Invalid ranges [0:-1]").
    model.compile(optimizer="adam", metrics=None, jit_compile=keras.backend.backend() != "torch")
    loss = model.train_on_batch(images, targets)
    assert np.isfinite(loss), f"{policy} training gave loss {loss}"


def check_fit_lowers_loss(cls, init_kwargs, images, targets, epochs=15):
    """Adam on one batch lowers the loss by 10% and moves every trainable weight."""
    keras.utils.set_random_seed(0)  # the same start whatever was built before
    model = cls(**init_kwargs)
    model.build()
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
    model = cls(**init_kwargs)
    check_outputs(model, images, num_classes)
    clone = check_config_round_trip(model)
    check_output_spec(clone, images, num_classes)
    backbone_ids = {id(v) for v in model.backbone.trainable_variables}
    assert backbone_ids and backbone_ids <= {id(v) for v in model.trainable_variables}
    if trainable_parameters is not None:
        counted = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
        assert counted == trainable_parameters, (counted, trainable_parameters)

    # One mixed policy per backend (the policy plumbing is backend-agnostic
    # model code): float16 with its loss scaling on TensorFlow, bfloat16 on
    # JAX and PyTorch. The README's test command runs all three.
    policy = "mixed_float16" if keras.backend.backend() == "tensorflow" else "mixed_bfloat16"
    check_mixed_precision(cls, init_kwargs, images, targets, policy)

    trained = check_fit_lowers_loss(cls, init_kwargs, images, targets)
    from_dataset = trained.predict(NumpyBatches(images, batch_size=3), verbose=0)
    np.testing.assert_allclose(from_dataset, _scores(trained, images), atol=1e-5)
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
