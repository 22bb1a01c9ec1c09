"""Labelling a collection (issue 36): inputs, streaming to a file, resume after a kill, shards."""

import csv
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from keras_mlrnn.data.image_inputs import csv_images, find_images, parse_shard, shard


def _photos(folder, count, size=64, start=0):
    """`count` generated scenes photos as PNG files under `folder` (half in a subfolder)."""
    from keras_mlrnn.data import load_scenes

    images, _ = load_scenes("test", num_images=start + count, image_size=size)
    paths = []
    for i in range(start, start + count):
        sub = os.path.join(folder, "sub") if i % 2 else folder
        os.makedirs(sub, exist_ok=True)
        paths.append(os.path.join(sub, f"{i:04d}.png"))
        Image.fromarray(images[i]).save(paths[-1])
    return paths


def test_inputs_from_folders_patterns_lists_and_a_csv(tmp_path):
    photos = _photos(str(tmp_path / "photos"), 4, size=16)
    (tmp_path / "photos" / "notes.md").write_text("not an image")
    listed = tmp_path / "list.txt"
    listed.write_text("# two of them\nphotos/0000.png\n\nphotos/sub/0001.png\n")
    table = tmp_path / "table.csv"
    table.write_text("image,labels\nphotos/0002.png,a\nphotos/0002.png,b\n")
    folder = sorted(find_images([str(tmp_path / "photos")]))
    assert folder == sorted(photos)  # recursive, images only
    pattern = find_images([str(tmp_path / "photos" / "**" / "*.png")])
    assert sorted(pattern) == sorted(photos)
    assert find_images([str(listed)]) == [str(tmp_path / "photos/0000.png"),
                                          str(tmp_path / "photos/sub/0001.png")]  # fmt: skip
    assert csv_images(str(table), "image") == [str(tmp_path / "photos/0002.png")]
    both = find_images([str(listed), str(tmp_path / "photos")])
    assert len(both) == 4 and len(set(both)) == 4  # each once, first-seen order
    assert find_images(["missing.jpg"]) == ["missing.jpg"]  # named later as missing
    with pytest.raises(FileNotFoundError, match="matches no file"):
        find_images([str(tmp_path / "*.jpeg")])
    with pytest.raises(ValueError, match="no column 'name'"):
        csv_images(str(table), "name")


def test_shards_are_disjoint_and_make_the_whole():
    paths = [f"/photos/{i}.jpg" for i in range(1000)]
    parts = [shard(paths, k, 4) for k in range(1, 5)]
    assert sorted(sum(parts, [])) == sorted(paths)
    assert all(150 < len(part) < 350 for part in parts)  # about a quarter each
    assert shard(list(reversed(paths)), 2, 4) == list(reversed(parts[1]))  # order-free
    assert parse_shard("3/8") == (3, 8)
    for bad in ("0/4", "5/4", "2", "a/b"):
        with pytest.raises(ValueError, match="K/N"):
            parse_shard(bad)


def _predict(args, cwd):
    command = [sys.executable, "-m", "keras_mlrnn.cli", "predict", "--preset", "scenes",
               "--method", "binary-relevance", *args]  # fmt: skip
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


@pytest.mark.large
def test_streamed_file_matches_keras_and_names_bad_files(tmp_path):
    import keras_mlrnn as km
    from keras_mlrnn.data.images import read_images

    photos = _photos(str(tmp_path / "photos"), 10)
    (tmp_path / "photos" / "cut.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a whole jpeg")
    done = _predict(["photos", "--out", "out.jsonl", "--batch-size", "4"], tmp_path)
    assert done.returncode == 2, done.stderr  # one file failed: said by the exit status
    assert "Labelled 10 of 11 images" in done.stderr and "1 failed" in done.stderr
    errors = _rows(tmp_path / "out.jsonl.errors.csv")
    assert errors[0] == ["path", "reason"] and errors[1][0] == os.path.join("photos", "cut.jpg")
    with open(tmp_path / "out.jsonl") as f:
        lines = [json.loads(line) for line in f]
    model = km.BinaryRelevance.from_preset("scenes")
    order = [os.path.relpath(p, tmp_path) for p in photos]
    by_path = {line["path"]: line for line in lines}
    assert sorted(by_path) == sorted(order)
    scores, sets = model.predict_scores_and_sets(read_images(photos, 64))
    for path, score, chosen in zip(order, scores, sets):
        expected = {model.class_names[c] for c in np.flatnonzero(chosen)}
        assert set(by_path[path]["labels"]) == expected
        best = int(np.argmax(score))
        # PIL's and tf.data's resize differ slightly; the best score agrees closely
        assert abs(by_path[path]["scores"][model.class_names[best]] - score[best]) < 0.05


@pytest.mark.large
def test_a_killed_run_resumes_without_losing_or_repeating_a_photo(tmp_path):
    _photos(str(tmp_path / "photos"), 600, size=64)
    whole = _predict(["photos", "--out", "whole.csv", "--batch-size", "4"], tmp_path)
    assert whole.returncode == 0, whole.stderr
    command = [sys.executable, "-m", "keras_mlrnn.cli", "predict", "--preset", "scenes",
               "--method", "binary-relevance", "photos", "--out", "cut.csv", "--batch-size",
               "4"]  # fmt: skip
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    out = tmp_path / "cut.csv"
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        if out.exists() and len(out.read_bytes().splitlines()) > 40:
            process.kill()  # SIGKILL: no handler, no clean-up
            break
        time.sleep(0.02)
    process.wait()
    assert process.returncode == -9, "the run finished before it could be killed"
    written = len(_rows(out)) - 1
    assert 0 < written < 600
    again = _predict(["photos", "--out", "cut.csv", "--resume", "--batch-size", "4"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"{written} done before" in again.stderr or f"{written - 1} done before" in again.stderr
    rows, reference = _rows(out), _rows(tmp_path / "whole.csv")
    assert rows[0] == reference[0]
    assert len(rows) == len(reference)  # no photo lost, none written twice
    assert sorted(rows[1:]) == sorted(reference[1:])


@pytest.mark.large
def test_two_shards_label_the_collection_together(tmp_path):
    _photos(str(tmp_path / "photos"), 12)
    whole = _predict(["photos", "--out", "whole.csv"], tmp_path)
    assert whole.returncode == 0, whole.stderr
    parts = []
    for k in (1, 2):
        run = _predict(["photos", "--out", f"part{k}.csv", "--shard", f"{k}/2"], tmp_path)
        assert run.returncode == 0, run.stderr
        parts.append(_rows(tmp_path / f"part{k}.csv")[1:])
    assert parts[0] and parts[1]
    assert sorted(parts[0] + parts[1]) == sorted(_rows(tmp_path / "whole.csv")[1:])


def test_an_existing_out_file_is_never_replaced(tmp_path):
    _photos(str(tmp_path / "photos"), 2, size=16)
    (tmp_path / "out.csv").write_text("my own notes\n")
    run = _predict(["photos", "--out", "out.csv"], tmp_path)
    assert run.returncode == 2
    assert "out.csv exists: add --resume to continue it" in run.stderr
    assert (tmp_path / "out.csv").read_text() == "my own notes\n"
