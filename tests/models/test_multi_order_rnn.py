import keras
import numpy as np
from keras import ops

import keras_mlrnn as km
from tests.helpers import check_stages_train_different_parts
from tests.models.tiny import TINY

KWARGS = TINY[km.MultiOrderRNN]


def test_scores_are_label_wise_max_of_step_probabilities(tiny_batch):
    images, _ = tiny_batch
    model = km.MultiOrderRNN(**KWARGS)
    steps = model.step_scores(images)
    assert steps.shape == (6, 3, 20)
    np.testing.assert_allclose(model.predict(images, verbose=0), steps.max(axis=1), atol=1e-6)
    np.testing.assert_array_equal(
        model.predict_sets(images), (steps.max(axis=1) >= 0.5).astype(np.float32)
    )


def test_step_two_reads_the_embedding_of_step_one_argmax(tiny_batch):
    images, _ = tiny_batch
    model = km.MultiOrderRNN(**KWARGS)
    step_logits = ops.convert_to_numpy(model.compute_outputs(images)["step_logits"])
    # Rebuild steps 1 and 2 by hand from the model's layers.
    soft = ops.sigmoid(model.confidence(model.pool(model.image_features(images))))
    state = [model.init_h(soft), model.init_c(soft)]
    start = model.embedding(np.full((6,), 20))
    out1, state1 = model.cell(start, state)
    logits1 = ops.convert_to_numpy(model.classifier(out1))
    np.testing.assert_allclose(step_logits[:, 0], logits1, atol=1e-5)
    first = logits1.argmax(axis=1)
    out2, _ = model.cell(model.embedding(first), state1)
    np.testing.assert_allclose(
        step_logits[:, 1], ops.convert_to_numpy(model.classifier(out2)), atol=1e-5
    )
    other, _ = model.cell(model.embedding((first + 1) % 20), state1)
    assert not np.allclose(step_logits[:, 1], ops.convert_to_numpy(model.classifier(other)))


def test_stages_train_different_parts(tiny_batch):
    images, targets = tiny_batch
    model = km.MultiOrderRNN(**KWARGS, stage="features")
    model.build()
    check_stages_train_different_parts(
        model, images, targets, head=model.confidence.kernel, lstm=model.cell.weights[0]
    )


def test_stage_losses_are_their_parts(tiny_batch):
    """joint = MultiOrderLoss + weight * BCE(s^); each stage keeps its own part."""
    images, targets = tiny_batch
    model = km.MultiOrderRNN(**KWARGS, confidence_loss_weight=0.5)
    outputs = model.compute_outputs(images, targets)
    step_logits = ops.convert_to_numpy(outputs["step_logits"]).astype(np.float64)
    confidence = ops.convert_to_numpy(outputs["confidence_logits"]).astype(np.float64)

    def bce(y, z):  # mean over classes of the logit BCE, per image
        return np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))), axis=-1)

    # MultiOrderLoss by hand: step t > 1 drops the previous step's argmax from y.
    multi_order = np.zeros(len(targets))
    for t in range(step_logits.shape[1]):
        y = targets.copy()
        if t > 0:
            y[np.arange(len(y)), step_logits[:, t - 1].argmax(axis=1)] = 0.0
        multi_order += bce(y, step_logits[:, t])
    expected = {
        "features": bce(targets, confidence).mean(),
        "recurrent": multi_order.mean(),
        "joint": multi_order.mean() + 0.5 * bce(targets, confidence).mean(),
    }
    for stage, value in expected.items():
        model.set_stage(stage)
        loss = model.compute_method_loss(targets, outputs)
        np.testing.assert_allclose(float(ops.convert_to_numpy(loss)), value, rtol=1e-4)
    with np.testing.assert_raises(ValueError):
        model.set_stage("confidence")


def test_dropout_reaches_the_confidence_head_and_the_step_classifier(tiny_batch):
    """At a rate of almost 1 every input of both heads is dropped: each scores its bias only."""
    images, _ = tiny_batch
    keras.utils.set_random_seed(3)
    model = km.MultiOrderRNN(**KWARGS, dropout=0.999999)
    model.build()
    model.confidence.bias.assign(np.linspace(-1.0, 1.0, 20))
    model.classifier.bias.assign(np.linspace(2.0, -2.0, 20))
    trained = model.compute_outputs(images, training=True)
    confidence = ops.convert_to_numpy(trained["confidence_logits"])
    steps = ops.convert_to_numpy(trained["step_logits"])
    np.testing.assert_allclose(confidence, np.tile(np.linspace(-1.0, 1.0, 20), (6, 1)), atol=1e-6)
    np.testing.assert_allclose(steps, np.tile(np.linspace(2.0, -2.0, 20), (6, 3, 1)), atol=1e-6)
    inferred = ops.convert_to_numpy(model.compute_outputs(images)["step_logits"])
    assert not np.allclose(inferred, steps, atol=1e-3)  # no dropout at inference
    assert km.MultiOrderRNN.from_config(model.get_config()).dropout_rate == 0.999999
