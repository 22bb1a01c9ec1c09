import json

import numpy as np
import pytest
from PIL import Image

import keras_mlrnn as km
from keras_mlrnn.cli.commands import main
from keras_mlrnn.data import SCENE_CLASS_NAMES, load_scenes
from keras_mlrnn.visualization import visualize

TINY = dict(num_classes=20, backbone="tiny", image_size=32, class_names=list(SCENE_CLASS_NAMES))
SMALL_HEADS = {
    km.OrderFreeRNN: dict(attention_units=16, lstm_units=16, hidden_units=16, max_length=3),
    km.CoarseToFineRNN: dict(),
    km.RegionAttentionRNN: dict(hidden_units=16, lstm_units=16),
}


def _photos(tmp_path):
    images, _ = load_scenes("test", num_images=2, image_size=48)
    Image.fromarray(images[0]).save(tmp_path / "one.png")
    Image.fromarray(images[1]).save(tmp_path / "two.jpg")
    return [str(tmp_path / "one.png"), str(tmp_path / "two.jpg")]


@pytest.mark.parametrize("cls", list(SMALL_HEADS), ids=lambda c: c.__name__)
def test_predict_prints_labels_and_draws_attention(cls, tmp_path, capsys):
    preset = str(tmp_path / "preset")
    cls(**TINY, **SMALL_HEADS[cls]).save_to_preset(preset)
    photos = _photos(tmp_path)
    out = tmp_path / "attention"
    args = ["predict", "--preset", preset, *photos, "--json", "--save-attention", str(out)]
    assert main(args) == 0
    parsed = json.loads(capsys.readouterr().out)
    assert [p["image"] for p in parsed] == photos
    for entry in parsed:
        for label in entry["labels"]:
            assert label["name"] in SCENE_CLASS_NAMES and 0.0 <= label["score"] <= 1.0
    written = sorted(out.iterdir())
    assert [p.name for p in written] == ["one_attention.png", "two_attention.png"]
    for path in written:
        picture = np.asarray(Image.open(path).convert("RGB")).astype(np.float32)
        height, width, _ = picture.shape
        assert height >= 200 and width > 3 * height  # one panel per step, side by side
        assert picture.std() > 10  # drawn content, not a blank canvas
        assert len(np.unique(picture.reshape(-1, 3), axis=0)) > 100


def test_explanations_are_distributions_and_boxes(tiny_batch, tmp_path):
    images, _ = tiny_batch
    ofr = km.OrderFreeRNN(**TINY, **SMALL_HEADS[km.OrderFreeRNN])
    out = visualize.explain(ofr, images)
    assert out["attention"].shape == (6, ofr.decode_length, 4, 4)
    np.testing.assert_allclose(out["attention"].sum(axis=(2, 3)), 1.0, atol=1e-5)
    labels = out["labels"]  # greedy steps never pick a label twice
    assert all(len(set(row)) == len(row) for row in labels.tolist())

    ctf = km.CoarseToFineRNN(**TINY, steps=3)
    out = visualize.explain(ctf, images)
    assert out["attention"].shape == (6, 4, 4, 4)
    np.testing.assert_allclose(out["attention"].sum(axis=(2, 3)), 1.0, atol=1e-5)
    assert (out["labels"][:, 0] == -1).all() and (out["labels"][:, 1:] >= 0).all()

    ra = km.RegionAttentionRNN(**TINY, **SMALL_HEADS[km.RegionAttentionRNN], num_regions=2)
    out = visualize.explain(ra, images)
    # The localisation layer starts at the identity transform: every box is the whole image.
    np.testing.assert_allclose(out["boxes"], np.tile([0, 0, 31, 31], (6, 2, 1)), atol=1e-4)

    mo = km.MultiOrderRNN(**TINY, steps=3, lstm_units=16, embedding_dim=8)
    out = visualize.explain(mo, images)
    assert sorted(out) == ["labels", "scores", "step_scores"]  # steps, no places
    assert out["step_scores"].shape == (6, 3, 20)
    # each step: its surest label and that label's probability; the scores the max over steps
    np.testing.assert_array_equal(out["labels"], out["step_scores"].argmax(-1))
    np.testing.assert_allclose(out["scores"], out["step_scores"].max(-1), atol=1e-7)
    np.testing.assert_allclose(mo.predict(images, verbose=0), out["step_scores"].max(1), atol=1e-6)
    (path,) = visualize.save_explanations(mo, images[:1], str(tmp_path), names=["mo"])
    assert path.endswith("mo_attention.png")

    with pytest.raises(ValueError, match="BinaryRelevance has no steps to draw"):
        visualize.explain(km.BinaryRelevance(**TINY), images)


def test_predict_errors(tmp_path, capsys):
    preset = str(tmp_path / "br")
    km.BinaryRelevance(**TINY).save_to_preset(preset)
    photos = _photos(tmp_path)
    assert main(["predict", "--preset", preset, *photos]) == 0  # the table: path, labels
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == photos
    assert main(["predict", "--preset", preset, *photos, "--top", "2", "--json"]) == 0
    for entry in json.loads(capsys.readouterr().out):
        scores = [label["score"] for label in entry["labels"]]
        assert len(scores) == 2 and scores[0] >= scores[1]
    assert main(["predict", "--preset", preset, photos[0], "--save-attention", "x"]) == 2
    assert "BinaryRelevance has no steps to draw" in capsys.readouterr().err
    assert main(["predict", "--preset", "scenes", photos[0]]) == 2
    assert "also give --method" in capsys.readouterr().err
    assert main(["predict", "--preset", preset, str(tmp_path / "nope.png")]) == 2
    assert "nope.png" in capsys.readouterr().err
    assert main(["predict", photos[0]]) == 2
    assert "exactly one of --preset and --model" in capsys.readouterr().err


def test_predict_reports_every_unreadable_file_after_the_readable_ones(tmp_path, capsys):
    preset = str(tmp_path / "br")
    km.BinaryRelevance(**TINY).save_to_preset(preset)
    photos = _photos(tmp_path)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    missing = str(tmp_path / "missing.png")
    args = ["predict", "--preset", preset, photos[0], str(broken), missing, photos[1]]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert [line.split()[0] for line in captured.out.strip().splitlines()] == photos[:2]
    assert "broken.jpg" in captured.err and "missing.png" in captured.err
    assert "2 of 4 images could not be read (2 predicted)" in captured.err


def test_predict_labels_by_name(tiny_batch):
    images, _ = tiny_batch
    model = km.BinaryRelevance(**TINY)
    scores = model.predict(images, verbose=0)
    labels = model.predict_labels(images)
    for row, named in zip(scores, labels):
        expected = sorted(np.flatnonzero(row >= 0.5), key=lambda i: -row[i])
        assert [name for name, _ in named] == [SCENE_CLASS_NAMES[i] for i in expected]
        np.testing.assert_allclose([s for _, s in named], row[expected], rtol=1e-6)


def test_predict_labels_takes_paths_and_a_single_image(tiny_batch, tmp_path):
    images, _ = tiny_batch
    model = km.BinaryRelevance(**TINY)
    paths = []
    for i, image in enumerate(images[:2]):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(image).save(paths[-1])  # PNG: lossless, the same pixels back
    expected = model.predict_labels(images[:2], top=3)
    assert model.predict_labels(paths, top=3) == expected
    assert model.predict_labels(paths[0], top=3) == expected[:1]
    assert model.predict_labels(images[1], top=3) == expected[1:]
