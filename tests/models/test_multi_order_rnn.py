import numpy as np
from keras import ops

import keras_mlrnn as km
from tests.helpers import run_model_test

KWARGS = dict(
    num_classes=20, backbone="tiny", image_size=32, steps=3, lstm_units=16, embedding_dim=8
)


def test_multi_order_rnn_generic(tiny_batch, tmp_path):
    images, targets = tiny_batch
    run_model_test(km.MultiOrderRNN, KWARGS, images, targets, tmp_path)


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
    step_logits = ops.convert_to_numpy(model.forward(images)["step_logits"])
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
