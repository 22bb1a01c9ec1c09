import numpy as np

from keras_mlrnn.data import (
    LOOKALIKE_PAIRS,
    SCENE_CLASS_NAMES,
    generate_scenes,
    load_scenes,
    scenes,
)


def test_deterministic_and_shapes():
    a_images, a_labels = load_scenes("train", num_images=50, seed=3)
    b_images, b_labels = load_scenes("train", num_images=50, seed=3)
    np.testing.assert_array_equal(a_images, b_images)
    np.testing.assert_array_equal(a_labels, b_labels)
    assert a_images.shape == (50, 64, 64, 3) and a_images.dtype == np.uint8
    assert a_labels.shape == (50, len(SCENE_CLASS_NAMES)) and a_labels.dtype == np.float32
    other, _ = load_scenes("train", num_images=50, seed=4)
    assert not np.array_equal(a_images, other)


def test_splits_are_disjoint_streams():
    train, _ = load_scenes("train", num_images=20)
    test, _ = load_scenes("test", num_images=20)
    assert not any(np.array_equal(t, s) for t in train for s in test)


def test_label_statistics():
    _, labels = generate_scenes(3000, seed=1)
    counts = labels.sum(1)
    assert len(SCENE_CLASS_NAMES) >= 16
    assert counts.min() == 1 and counts.max() == 5
    assert 2.0 <= counts.mean() <= 3.0
    assert labels.mean(0).min() > 0.05  # every class is common enough to learn


def test_lookalikes_are_drawn_alike_and_separated_by_context():
    table = {c[0]: c for c in scenes._CLASSES}
    _, labels = generate_scenes(4000, seed=2)
    index = {name: i for i, name in enumerate(SCENE_CLASS_NAMES)}
    for a, b in LOOKALIKE_PAIRS:
        assert table[a][1:3] == table[b][1:3], "same shape and colour"
        assert table[a][3] != table[b][3], "different scenes"
        # each co-occurs with its own scene's classes far more than the other's
        mates_a = [index[c[0]] for c in scenes._CLASSES if c[3] == table[a][3] and c[0] != a]
        mates_b = [index[c[0]] for c in scenes._CLASSES if c[3] == table[b][3] and c[0] != b]
        with_a = labels[labels[:, index[a]] == 1]
        assert with_a[:, mates_a].mean() > 3 * with_a[:, mates_b].mean()


def test_lookalike_pixels_are_identical():
    # Same shape, colour and position give the same pixels: only labels differ.
    yy, xx = np.mgrid[0:30, 0:30].astype(np.float32) - 15
    for a, b in LOOKALIKE_PAIRS:
        sa = dict((c[0], c[1]) for c in scenes._CLASSES)
        np.testing.assert_array_equal(
            scenes._shape_mask(sa[a], yy, xx, 9.0), scenes._shape_mask(sa[b], yy, xx, 9.0)
        )


def test_objects_span_large_to_small():
    images, labels = generate_scenes(200, seed=5)
    # an image is not just background: objects change pixels strongly
    assert images.std() > 30
