"""TFDS sources, offline: `tfds.testing.mock_data` serving hand-made examples of the real specs."""

import contextlib

import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets")

from keras_mlrnn.data.splits import load_splits  # noqa: E402
from keras_mlrnn.data.tfds import load_tfds  # noqa: E402
from keras_mlrnn.data.voc import VOC_CLASSES  # noqa: E402

# (labels, labels_no_difficult) per VOC example; COCO examples: objects/label
VOC_EXAMPLES = [([14, 14, 11], [14, 11]), ([6, 3], [6]), ([], []), ([8], [8]), ([19, 0], [0, 19])]
COCO_EXAMPLES = [[0, 0, 56], [], [79, 3, 0]]


def _examples(name):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    records = VOC_EXAMPLES if name.startswith("voc") else COCO_EXAMPLES

    def generate():
        for i, record in enumerate(records):
            image = rng.integers(0, 256, size=(20 + i, 30, 3), dtype=np.uint8)
            if name.startswith("voc"):
                every, plain = record
                yield {
                    "image": image,
                    "labels": np.array(every, np.int64),
                    "labels_no_difficult": np.array(plain, np.int64),
                }
            else:
                yield {"image": image, "objects": {"label": np.array(record, np.int64)}}

    labels = tf.TensorSpec((None,), tf.int64)
    signature = {"image": tf.TensorSpec((None, None, 3), tf.uint8)}
    if name.startswith("voc"):
        signature.update(labels=labels, labels_no_difficult=labels)
    else:
        signature["objects"] = {"label": labels}
    return tf.data.Dataset.from_generator(generate, output_signature=signature)


@contextlib.contextmanager
def _mock():
    def as_dataset(self, *args, **kwargs):
        return _examples(self.name)

    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        yield


def test_voc2007_labels_mask_and_pipeline():
    with _mock():
        train = load_tfds("voc/2007", "train")
        batches = list(train.dataset(image_size=32, batch_size=2).as_numpy_iterator())
        augmented = next(
            train.dataset(32, 4, shuffle=True, augment=True, seed=0).as_numpy_iterator()
        )
    assert train.class_names == list(VOC_CLASSES)
    expected = np.zeros((5, 20), np.float32)
    for row, (c, d, e) in enumerate([(14, 11, 11), (6, 6, 6), (None,) * 3, (8, 8, 8), (0, 19, 19)]):
        if c is not None:
            expected[row, [c, d, e]] = 1
    np.testing.assert_array_equal(train.labels, expected)
    mask = np.ones((5, 20), np.float32)
    mask[1, 3] = 0  # class 3 only in `labels` (a difficult object): masked
    np.testing.assert_array_equal(train.mask, mask)
    images = np.concatenate([b[0] for b in batches])
    assert images.dtype == np.uint8 and images.shape == (5, 32, 32, 3)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), expected)
    assert augmented[0].shape == (4, 32, 32, 3) and augmented[0].dtype == np.uint8


def test_coco2017_multi_hot_from_object_labels():
    with _mock():
        data = load_tfds("coco/2017", "validation")
    assert len(data.class_names) == 80 and data.class_names[0] == "person" and data.mask is None
    expected = np.zeros((3, 80), np.float32)
    expected[0, [0, 56]] = 1
    expected[2, [79, 3, 0]] = 1
    np.testing.assert_array_equal(data.labels, expected)


def test_unsupported_name_is_refused():
    with pytest.raises(ValueError, match="Unsupported TFDS data set 'mnist'"):
        load_tfds("mnist", "train")


def test_tfds_dataset_trains_end_to_end(tmp_path):
    from keras_mlrnn.training.runs import train

    with _mock():
        splits = load_splits("tfds:voc/2007")
        assert [len(splits[s].labels) for s in ("train", "val", "test")] == [5, 5, 5]
        result = train(
            str(tmp_path / "run"),
            model="binary-relevance",
            dataset="tfds:voc/2007",
            image_size=32,
            epochs=1,
            batch_size=4,
            verbose=0,
        )
    assert result["finished"] and result["num_test_images"] == 5
    assert 0.0 <= result["reports"]["threshold 0.5"]["mAP"] <= 1.0
