import numpy as np
import pytest
from keras import ops

import keras_mlrnn as km
from keras_mlrnn.models.cnn_rnn import label_rank
from tests.models.tiny import TINY

KWARGS = TINY[km.CNNRNN]


def _adapted(images, targets, **extra):
    model = km.CNNRNN(**{**KWARGS, **extra})
    model.adapt(targets)
    return model


def test_label_orders():
    freqs = [0.1, 0.5, 0.3, 0.5]
    np.testing.assert_array_equal(label_rank("frequency_first", 4, freqs), [3, 0, 2, 1])
    np.testing.assert_array_equal(label_rank("rare_first", 4, freqs), [0, 2, 1, 3])
    names = ["dog", "cat", "zebra", "ant"]
    np.testing.assert_array_equal(label_rank("alphabetical", 4, class_names=names), [2, 1, 3, 0])
    with pytest.raises(ValueError, match="adapt"):
        label_rank("frequency_first", 4)


def test_teacher_forcing_sequences():
    model = km.CNNRNN(
        num_classes=4,
        backbone="tiny",
        image_size=32,
        max_length=2,
        label_frequencies=[0.1, 0.5, 0.3, 0.2],
    )
    # order by frequency: 1, 2, 3, 0
    y = np.array([[1, 0, 1, 0], [0, 0, 0, 0], [1, 1, 1, 0]], np.float32)
    sequences = model._sequences(ops.convert_to_tensor(y))
    inputs, targets, mask = (ops.convert_to_numpy(t) for t in sequences)
    START, END = 5, 4
    np.testing.assert_array_equal(inputs[:, 0], [START] * 3)
    np.testing.assert_array_equal(targets[0], [2, 0, END])  # two labels, then END
    np.testing.assert_array_equal(mask[0], [1, 1, 1])
    np.testing.assert_array_equal(inputs[0, 1:], [2, 0])
    np.testing.assert_array_equal(targets[1, :1], [END])  # no label: END at once
    np.testing.assert_array_equal(mask[1], [1, 0, 0])
    np.testing.assert_array_equal(targets[2, :2], [1, 2])  # 3 labels > max_length 2
    np.testing.assert_array_equal(mask[2], [1, 1, 0])  # truncated: no END target


def test_loss_is_masked_softmax_cross_entropy(tiny_batch):
    images, targets = tiny_batch
    model = _adapted(images, targets)
    out = model.compute_outputs(images, targets)
    logits = ops.convert_to_numpy(out["step_logits"]).astype(np.float64)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    tgt, mask = ops.convert_to_numpy(out["step_targets"]), ops.convert_to_numpy(out["mask"])
    ce = -np.take_along_axis(log_p, tgt[..., None], axis=-1)[..., 0]
    expected = np.mean((ce * mask).sum(1) / mask.sum(1))
    assert float(model.compute_method_loss(targets, out)) == pytest.approx(expected, rel=1e-5)


def test_predict_sets_is_the_beam_path_and_scores_cover_it(tiny_batch):
    images, targets = tiny_batch
    model = _adapted(images, targets)
    model.compile(optimizer="adam")
    model.fit(images, targets, epochs=3, verbose=0)
    out = model.compute_outputs(images)
    sets = model.predict_sets(images)
    tokens, length = ops.convert_to_numpy(out["tokens"]), ops.convert_to_numpy(out["length"])
    for b in range(len(images)):
        path = tokens[b, : length[b]]
        assert len(set(path)) == len(path) and np.all(path < 20)
        np.testing.assert_array_equal(np.flatnonzero(sets[b]), np.sort(path))
    scores = model.predict(images, verbose=0)
    assert scores.shape == (6, 20) and np.all((scores > 0) & (scores <= 1))


def test_fit_adapts_from_array_labels_and_names_adapt_for_datasets(tiny_batch, capsys):
    from keras_mlrnn.data import NumpyBatches

    images, targets = tiny_batch
    model = km.CNNRNN(**KWARGS)
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="adapt"):  # labels not in memory
        model.fit(NumpyBatches(images, targets, batch_size=3), verbose=0)
    model.fit(images, targets, verbose=0)  # arrays: adapted from them, and said so
    assert "CNNRNN: adapting to the 6 training labels" in capsys.readouterr().out
    np.testing.assert_allclose(model.label_frequencies, targets.mean(axis=0))
    assert model.max_length == int(targets.sum(axis=1).max())
    model.fit(images, targets, verbose=0)  # adapted once, not again
    assert "adapting" not in capsys.readouterr().out


def test_adapt_sets_max_length(tiny_batch):
    _, targets = tiny_batch
    model = km.CNNRNN(num_classes=20, backbone="tiny", image_size=32)
    model.adapt(targets)
    assert model.max_length == int(targets.sum(1).max())
    assert km.CNNRNN.from_config(model.get_config()).max_length == model.max_length
