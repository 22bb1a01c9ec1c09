"""Bad labels and images are named on every path into fit / evaluate / predict."""

import warnings

import keras
import numpy as np
import pytest

import keras_mlrnn as km
from keras_mlrnn.data.checks import image_problem, label_problem
from keras_mlrnn.data.pipeline import NumpyBatches


def test_label_and_image_problems_by_hand():
    assert label_problem(np.array([[0.0, 1.0], [0.5, 0.0]])) is None
    assert "NaN or Inf (first at image 1, class 0)" in label_problem([[0, 1], [np.inf, 0]])
    assert "image 0 class 1 has 2" in label_problem([[0, 2]])
    assert "has -0.5" in label_problem([[0, 0], [0, -0.5]])
    assert image_problem(np.full((1, 2, 2, 3), 255, np.uint8)) is None
    assert image_problem(np.full((1, 2, 2, 3), 255.0)) is None
    assert "[-500.0, 1000.0]" in image_problem(np.array([-500.0, 1000.0]))
    assert "nan" in image_problem(np.array([0.0, np.nan]))


@pytest.fixture(scope="module")
def model():
    model = km.BinaryRelevance(num_classes=3, backbone="tiny", image_size=16)
    model.compile(optimizer="adam")
    return model


def _data(bad=None):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (8, 16, 16, 3)).astype("uint8")
    y = (rng.random((8, 3)) < 0.5).astype("float32")
    if bad is not None:
        y[5, 2] = bad
    return x, y


class _Batches(keras.utils.PyDataset):
    def __init__(self, x, y):
        super().__init__()
        self.x, self.y = x, y

    def __len__(self):
        return 2

    def __getitem__(self, i):
        return self.x[4 * i : 4 * i + 4], self.y[4 * i : 4 * i + 4]


@pytest.mark.parametrize("bad, named", [(np.nan, "NaN or Inf"), (2.0, "must lie in [0, 1]")])
@pytest.mark.parametrize("path", ["arrays", "tf.data", "PyDataset", "generator"])
def test_bad_labels_fail_fit_on_every_path(model, path, bad, named):
    import tensorflow as tf

    x, y = _data(bad)
    source = {
        "arrays": lambda: (x, y),
        "tf.data": lambda: (tf.data.Dataset.from_tensor_slices((x, y)).batch(4), None),
        "PyDataset": lambda: (_Batches(x, y), None),
        "generator": lambda: (((x[i : i + 4], y[i : i + 4]) for i in (0, 4)), None),
    }[path]
    before = [w.numpy() if hasattr(w, "numpy") else np.array(w) for w in model.get_weights()]
    with pytest.raises(ValueError, match=r"BinaryRelevance\.fit: labels") as error:
        model.fit(*source(), epochs=1, verbose=0)
    assert named in str(error.value)
    with pytest.raises(ValueError, match="BinaryRelevance.evaluate: labels"):
        model.evaluate(*source(), verbose=0)
    if path == "arrays":  # checked before the first step: nothing trained
        for a, b in zip(before, model.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_good_labels_train_on_every_path(model):
    import tensorflow as tf

    x, y = _data()
    model.fit(x, y, epochs=1, verbose=0)
    model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(4), epochs=1, verbose=0)
    model.fit(_Batches(x, y), epochs=1, verbose=0)
    model.fit(NumpyBatches(x, y, batch_size=4), validation_data=(x, y), epochs=1, verbose=0)


def test_image_ranges(model):
    import tensorflow as tf

    x, y = _data()
    wild = x.astype("float32") * 6 - 500  # [-500, 1030]
    with pytest.raises(ValueError, match=r"images must be uint8, or float in \[0, 255\]"):
        model.fit(wild, y, verbose=0)
    with pytest.raises(ValueError, match="images must be uint8"):
        model.fit(tf.data.Dataset.from_tensor_slices((wild, y)).batch(4), verbose=0)
    with pytest.raises(ValueError, match="BinaryRelevance.predict: images must be uint8"):
        model.predict(wild, verbose=0)
    unit = x.astype("float32") / 255.0
    with pytest.warns(UserWarning, match=r"maximum of at most 1.*Multiply them by 255") as caught:
        model.fit(_Batches(unit, y), epochs=2, verbose=0)
    assert len([w for w in caught if "at most 1" in str(w.message)]) == 1  # once per input
    with pytest.warns(UserWarning, match="at most 1"):
        model.predict(unit, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(x.astype("float32"), verbose=0)  # [0, 255] floats are fine


def test_one_image_a_grayscale_batch_and_an_empty_batch_are_named(model):
    x, _ = _data()
    size = model.image_size
    with pytest.raises(ValueError, match=rf"predict: got one image of shape \({size}, {size}, 3\)"):
        model.predict(x[0], verbose=0)
    gray = x[..., 0]
    with pytest.raises(ValueError, match="a batch of grayscale images; pass RGB"):
        model.predict(gray, verbose=0)
    with pytest.raises(ValueError, match="got no images"):
        model.predict(x[:0], verbose=0)
    with pytest.raises(ValueError, match=r"\.decode_sets: got no images"):
        model.predict_sets(x[:0])
    assert model.predict(x[:1], verbose=0).shape == (1, model.num_classes)


def test_a_class_named_twice_is_refused():
    with pytest.raises(ValueError, match=r"class_names names \['dog'\] more than once"):
        km.BinaryRelevance(num_classes=3, backbone="tiny", image_size=32,
                           class_names=["dog", "cat", "dog"])  # fmt: skip
