import json
import os

import numpy as np
import pytest
from PIL import Image

from keras_mlrnn.data import (
    VOC_CLASSES,
    label_statistics,
    load_coco,
    load_csv,
    load_nuswide,
    load_voc2007,
)


def _jpeg(path, size=(20, 16)):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), 128, np.uint8)).save(path)


def test_coco_format(tmp_path):
    images = [{"id": 7, "file_name": "b.jpg"}, {"id": 3, "file_name": "a.jpg"},
              {"id": 9, "file_name": "c.jpg"}]  # fmt: skip
    categories = [
        {"id": 5, "name": "dog"},
        {"id": 1, "name": "person"},
        {"id": 90, "name": "toothbrush"},
    ]
    annotations = [
        {"id": 1, "image_id": 3, "category_id": 5, "iscrowd": 0, "bbox": [0, 0, 1, 1], "area": 1},
        {"id": 2, "image_id": 3, "category_id": 5, "iscrowd": 0, "bbox": [0, 0, 1, 1], "area": 1},
        {"id": 3, "image_id": 7, "category_id": 90, "iscrowd": 1, "bbox": [0, 0, 1, 1], "area": 1},
        {"id": 4, "image_id": 7, "category_id": 1, "iscrowd": 0, "bbox": [0, 0, 1, 1], "area": 1},
    ]
    os.makedirs(tmp_path / "annotations")
    with open(tmp_path / "annotations" / "instances_val2014.json", "w") as f:
        json.dump({"images": images, "categories": categories, "annotations": annotations}, f)
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        _jpeg(str(tmp_path / "val2014" / name))
    data = load_coco(str(tmp_path), "val2014")
    assert data.class_names == ["person", "dog", "toothbrush"]  # category-id order
    assert [os.path.basename(p) for p in data.paths] == ["a.jpg", "b.jpg", "c.jpg"]
    np.testing.assert_array_equal(data.labels, [[0, 1, 0], [1, 0, 1], [0, 0, 0]])  # crowd counts
    dropped = load_coco(str(tmp_path), "val2014", drop_empty=True)
    assert len(dropped) == 2
    os.remove(tmp_path / "val2014" / "c.jpg")
    with pytest.raises(FileNotFoundError, match="1 of 3 image files are missing"):
        load_coco(str(tmp_path), "val2014")


def test_coco_bad_annotations_are_named(tmp_path):
    os.makedirs(tmp_path / "annotations")
    path = tmp_path / "annotations" / "instances_val2014.json"
    annotation = {"id": 4, "image_id": 1, "category_id": 99, "iscrowd": 0, "bbox": [0, 0, 1, 1]}
    with open(path, "w") as f:
        json.dump(
            {
                "images": [{"id": 1, "file_name": "a.jpg"}],
                "categories": [{"id": 5, "name": "dog"}],
                "annotations": [{**annotation, "area": 1}],
            },
            f,
        )
    with pytest.raises(ValueError, match=r"instances_val2014.json: annotation 4 of image 1 has "
                       r"category_id 99"):  # fmt: skip
        load_coco(str(tmp_path), "val2014")
    path.write_text('{"images": [')
    with pytest.raises(ValueError, match=r"instances_val2014.json is not valid JSON"):
        load_coco(str(tmp_path), "val2014")


def test_coco_splits_read_the_release_the_folder_holds(tmp_path):
    from keras_mlrnn.data.splits import load_splits

    images = [{"id": i, "file_name": f"{i}.jpg"} for i in range(1, 22)]
    annotations = [{"id": i, "image_id": i, "category_id": 1 + i % 2, "iscrowd": 0,
                    "bbox": [0, 0, 1, 1], "area": 1} for i in range(1, 22)]  # fmt: skip
    content = {"images": images, "categories": [{"id": 1, "name": "person"},
               {"id": 2, "name": "bicycle"}], "annotations": annotations}  # fmt: skip
    os.makedirs(tmp_path / "annotations")
    with pytest.raises(FileNotFoundError, match=r"instances_train2014.json, instances_train2017"):
        load_splits("coco", data_dir=str(tmp_path))
    for split in ("train2017", "val2017"):
        with open(tmp_path / "annotations" / f"instances_{split}.json", "w") as f:
            json.dump(content, f)
        for image in images:
            _jpeg(str(tmp_path / split / image["file_name"]))
    splits = load_splits("coco", data_dir=str(tmp_path))  # no year given: 2017, the one there
    assert {k: len(v.labels) for k, v in splits.items()} == {"train": 20, "val": 1, "test": 21}
    assert os.path.basename(splits["val"].files.paths[0]) == "20.jpg"  # every 20th is val
    with pytest.raises(FileNotFoundError, match=r"looked for instances_train2014.json \(the"):
        load_splits("coco", data_dir=str(tmp_path), year=2014)


def test_coco_small_real_splits(shared_dir):
    from keras_mlrnn.data.splits import load_splits

    splits = load_splits("coco", data_dir=os.path.join(shared_dir, "data", "coco_small"))
    sizes = {k: len(v.labels) for k, v in splits.items()}
    assert sizes == {"train": 349, "val": 18, "test": 176}  # the README's 367 + 176 photos
    assert all(len(v.class_names) == 80 for v in splits.values())
    assert all("val2017" in p for p in splits["test"].files.paths)


def _voc_xml(objects):
    body = "".join(
        f"<object><name>{n}</name><difficult>{d}</difficult></object>" for n, d in objects
    )
    return f"<annotation>{body}</annotation>"


def test_voc_format_with_difficult_mask(tmp_path):
    root = tmp_path / "VOCdevkit" / "VOC2007"
    os.makedirs(root / "ImageSets" / "Main")
    os.makedirs(root / "Annotations")
    (root / "ImageSets" / "Main" / "test.txt").write_text("000001\n000002\n")
    (root / "Annotations" / "000001.xml").write_text(
        _voc_xml([("dog", 0), ("person", 1), ("person", 0), ("cat", 1)])
    )
    (root / "Annotations" / "000002.xml").write_text(_voc_xml([("car", 0)]))
    for i in ("000001", "000002"):
        _jpeg(str(root / "JPEGImages" / f"{i}.jpg"))
    data = load_voc2007(str(tmp_path), "test")
    idx = {n: i for i, n in enumerate(VOC_CLASSES)}
    expected = np.zeros((2, 20))
    expected[0, [idx["dog"], idx["person"]]] = 1
    expected[1, idx["car"]] = 1
    np.testing.assert_array_equal(data.labels, expected)
    mask = np.ones((2, 20))
    mask[0, idx["cat"]] = 0  # cat only through a difficult object
    np.testing.assert_array_equal(data.mask, mask)
    (root / "Annotations" / "000002.xml").write_text(_voc_xml([("unicorn", 0)]))
    with pytest.raises(ValueError, match="unknown VOC class 'unicorn'"):
        load_voc2007(str(root), "test")


def _voc_devkit_with_both(tmp_path):
    """A small devkit with XML annotations and the per-class files the devkit derives from them.

    train: 000001 (dog, person + a difficult person, cat only difficult),
    000002 (car); val: 000003 (no object of any class but a difficult cow).
    """
    root = tmp_path / "VOCdevkit" / "VOC2007"
    main = root / "ImageSets" / "Main"
    os.makedirs(main)
    os.makedirs(root / "Annotations")
    objects = {
        "000001": [("dog", 0), ("person", 1), ("person", 0), ("cat", 1)],
        "000002": [("car", 0)],
        "000003": [("cow", 1)],
    }
    splits = {"train": ["000001", "000002"], "val": ["000003"]}
    for image_id, objs in objects.items():
        (root / "Annotations" / f"{image_id}.xml").write_text(_voc_xml(objs))
        _jpeg(str(root / "JPEGImages" / f"{image_id}.jpg"))
    for split, ids in splits.items():
        (main / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))
        for name in VOC_CLASSES:
            lines = []
            for i in ids:  # the devkit's rule: 1 any non-difficult, 0 only difficult, -1 none
                flags = [d for n, d in objects[i] if n == name]
                value = "-1" if not flags else ("1" if 0 in flags else "0")
                lines.append(f"{i} {value:>2}\n")
            (main / f"{name}_{split}.txt").write_text("".join(lines))
    return root


def test_voc_class_files_agree_with_xml(tmp_path):
    root = _voc_devkit_with_both(tmp_path)
    idx = {n: i for i, n in enumerate(VOC_CLASSES)}
    expected = np.zeros((3, 20))
    expected[0, [idx["dog"], idx["person"]]] = 1
    expected[1, idx["car"]] = 1
    mask = np.ones((3, 20))
    mask[0, idx["cat"]] = 0
    mask[2, idx["cow"]] = 0
    # trainval has no list file here: it is train followed by val
    from_files = load_voc2007(str(tmp_path), "trainval", labels_from="class_files")
    from_xml = load_voc2007(str(tmp_path), "trainval", labels_from="xml")
    for data in (from_files, from_xml, load_voc2007(str(tmp_path), "trainval")):
        np.testing.assert_array_equal(data.labels, expected)
        np.testing.assert_array_equal(data.mask, mask)
    assert [os.path.basename(p) for p in from_files.paths] == [
        "000001.jpg",
        "000002.jpg",
        "000003.jpg",
    ]
    val = load_voc2007(str(root), "val")
    np.testing.assert_array_equal(val.labels, expected[2:])
    # auto reads the class files: with the XML gone it still loads
    for xml in (root / "Annotations").iterdir():
        xml.unlink()
    np.testing.assert_array_equal(load_voc2007(str(root), "train").labels, expected[:2])
    with pytest.raises(ValueError, match="Cannot read VOC annotation"):
        load_voc2007(str(root), "train", labels_from="xml")


def test_voc_bad_class_file_is_named(tmp_path):
    root = _voc_devkit_with_both(tmp_path)
    bad = root / "ImageSets" / "Main" / "dog_train.txt"
    bad.write_text("000001 2\n000002 -1\n")
    with pytest.raises(ValueError, match=r"dog_train.txt, line 1: expected"):
        load_voc2007(str(root), "train")
    bad.write_text("000001 1\n")
    with pytest.raises(ValueError, match=r"dog_train.txt: 1 images of the train list have no line"):
        load_voc2007(str(root), "train")
    with pytest.raises(ValueError, match="Unknown VOC split 'minival'"):
        load_voc2007(str(root), "minival")


def test_nuswide_format(tmp_path):
    (tmp_path / "Concepts81.txt").write_text("sky\nwater\n")
    os.makedirs(tmp_path / "ImageList")
    (tmp_path / "ImageList" / "TestImagelist.txt").write_text(
        "actor\\0001_1.jpg\nbeach\\0002_2.jpg\nbeach\\0003_3.jpg\n"
    )
    labels_dir = tmp_path / "Groundtruth" / "TrainTestLabels"
    os.makedirs(labels_dir)
    (labels_dir / "Labels_sky_Test.txt").write_text("1\n0\n0\n")
    (labels_dir / "Labels_water_Test.txt").write_text("1\n0\n1\n")
    for name in ("actor/0001_1.jpg", "beach/0002_2.jpg", "beach/0003_3.jpg"):
        _jpeg(str(tmp_path / "Flickr" / name))
    data = load_nuswide(str(tmp_path), "test")  # drops the unlabelled image by default
    assert data.class_names == ["sky", "water"]
    np.testing.assert_array_equal(data.labels, [[1, 1], [0, 1]])
    assert data.paths[1].endswith(os.path.join("Flickr", "beach", "0003_3.jpg"))
    kept = load_nuswide(str(tmp_path), "test", drop_empty=False)
    np.testing.assert_array_equal(kept.labels, [[1, 1], [0, 0], [0, 1]])


def test_csv_format(tmp_path):
    for name in ("a.jpg", "b.png", "c.jpg"):
        _jpeg(str(tmp_path / "img" / name))
    (tmp_path / "labels.csv").write_text(
        "filename,labels\nimg/a.jpg,dog person\nimg/b.png,cat\nimg/c.jpg,\n"
    )
    data = load_csv(str(tmp_path / "labels.csv"))
    assert data.class_names == ["cat", "dog", "person"]
    np.testing.assert_array_equal(data.labels, [[0, 1, 1], [1, 0, 0], [0, 0, 0]])
    given = load_csv(str(tmp_path / "labels.csv"), class_names=["person", "dog", "cat", "cow"])
    np.testing.assert_array_equal(given.labels[0], [1, 1, 0, 0])
    with pytest.raises(ValueError, match=r"row 2: unknown class 'dog'"):
        load_csv(str(tmp_path / "labels.csv"), class_names=["cat", "person"])
    (tmp_path / "semi.csv").write_text("filename,labels\nimg/a.jpg,dog;person\n")
    assert load_csv(str(tmp_path / "semi.csv"), delimiter=";").class_names == ["dog", "person"]
    x, y = next(iter(data.dataset(image_size=8, batch_size=3)))
    assert tuple(x.shape) == (3, 8, 8, 3) and x.dtype.name == "uint8"


def test_csv_rows_that_would_lose_labels_are_errors(tmp_path):
    for name in ("a.jpg", "b.jpg"):
        _jpeg(str(tmp_path / name))
    csv = tmp_path / "labels.csv"
    csv.write_text("filename,labels\na.jpg,dog\nb.jpg,cat,dog\n")  # unquoted comma
    with pytest.raises(ValueError, match=r"labels.csv, row 3: 3 fields but the header has 2"):
        load_csv(str(csv))
    csv.write_text('filename,labels\na.jpg,dog\nb.jpg,"cat,dog"\n')  # quoted: one field
    assert load_csv(str(csv), delimiter=",").class_names == ["cat", "dog"]
    csv.write_text("filename,labels\na.jpg,\nb.jpg,\n")
    with pytest.raises(ValueError, match=r"labels.csv: no row has a label"):
        load_csv(str(csv))
    assert load_csv(str(csv), class_names=["cat"]).labels.sum() == 0  # named classes: fine
    csv.write_text("filename,labels\n")
    with pytest.raises(ValueError, match="no rows below the header"):
        load_csv(str(csv))


def test_csv_label_delimiters_allow_names_with_spaces(tmp_path):
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        _jpeg(str(tmp_path / name))
    csv = tmp_path / "labels.csv"
    csv.write_text("filename,labels\na.jpg,dining table|person\nb.jpg,person\nc.jpg,\n")
    data = load_csv(str(csv))
    assert data.class_names == ["dining table", "person"]
    np.testing.assert_array_equal(data.labels, [[1, 1], [0, 1], [0, 0]])
    csv.write_text("filename,labels\na.jpg,dining table; person\nb.jpg,person\nc.jpg,\n")
    assert load_csv(str(csv)).class_names == ["dining table", "person"]
    csv.write_text("filename,labels\na.jpg,dog person\nb.jpg,person\nc.jpg,\n")
    assert load_csv(str(csv)).class_names == ["dog", "person"]
    assert load_csv(str(csv), delimiter="|").class_names == ["dog person", "person"]


def test_label_statistics():
    y = np.array([[1, 1, 0], [1, 1, 1], [0, 0, 0], [1, 0, 0]])
    stats = label_statistics(y, ["a", "b", "c"])
    assert stats["max_labels"] == 3 and stats["images_without_labels"] == 1
    assert stats["label_cardinality"] == pytest.approx(1.5)
    assert stats["top_pairs"][0] == ("a", "b", 2)
    np.testing.assert_allclose(stats["frequencies"], [0.75, 0.5, 0.25])


def test_coco128_real_annotations(shared_dir):
    root = os.path.join(shared_dir, "data", "coco128")
    data = load_coco(root, "train2017")
    assert len(data) == 128 and len(data.class_names) == 80
    with open(os.path.join(root, "annotations", "instances_train2017.json")) as f:
        raw = json.load(f)
    cats = sorted(c["id"] for c in raw["categories"])
    assert data.class_names[0] == "person" and data.class_names[-1] == "toothbrush"
    by_file = {im["id"]: im["file_name"] for im in raw["images"]}
    expected = {name: set() for name in by_file.values()}
    for ann in raw["annotations"]:
        expected[by_file[ann["image_id"]]].add(cats.index(ann["category_id"]))
    for path, row in zip(data.paths, data.labels):
        assert set(np.flatnonzero(row)) == expected[os.path.basename(path)]
    assert int((data.labels.sum(1) == 0).sum()) == 2  # the README's 2 images with no label


def test_csv_quoting_duplicates_case_bom_header_spaces_and_encoding(tmp_path):
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        _jpeg(str(tmp_path / name))
    csv = tmp_path / "labels.csv"
    csv.write_text('filename,labels\na.jpg,"dining table,person"\nb.jpg,person\nc.jpg,\n')
    data = load_csv(str(csv))  # the quoted comma separates labels; names keep their spaces
    assert data.class_names == ["dining table", "person"]
    np.testing.assert_array_equal(data.labels, [[1, 1], [0, 1], [0, 0]])
    csv.write_text("filename,labels\na.jpg,dog\nb.jpg,cat\na.jpg,cat\n")
    with pytest.raises(ValueError, match=r"labels.csv: a.jpg is listed twice \(rows 2 and 4\)"):
        load_csv(str(csv))
    csv.write_text("filename,labels\na.jpg,Dog\nb.jpg,dog\n")
    with pytest.raises(ValueError, match=r"labels.csv: the classes 'Dog' and 'dog' differ only"):
        load_csv(str(csv))
    csv.write_bytes("\ufefffilename, labels\na.jpg,dog\nb.jpg,cat\n".encode("utf-8"))
    assert load_csv(str(csv)).class_names == ["cat", "dog"]  # BOM, space after the comma
    csv.write_bytes("filename,labels\na.jpg,caf\xe9\nb.jpg,cat\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"labels.csv is not UTF-8 text .*save it as UTF-8"):
        load_csv(str(csv))


def test_process_share_takes_every_nth_example_in_equal_lengths():
    from keras_mlrnn.data.splits import DataSplit, process_share

    labels = np.eye(5, dtype="float32")[[0, 1, 2, 3, 4, 0, 1]]  # 7 examples, 5 classes
    images = np.arange(7, dtype="uint8").reshape(7, 1, 1, 1) * np.ones((1, 2, 2, 3), "uint8")
    split = DataSplit(labels, list("abcde"), images=images)
    first, second = (process_share(split, k, 2) for k in (0, 1))
    # 7 // 2 * 2 = 6 examples shared: rows 0, 2, 4 and 1, 3, 5; row 6 left out
    assert first.images[:, 0, 0, 0].tolist() == [0, 2, 4]
    assert second.images[:, 0, 0, 0].tolist() == [1, 3, 5]
    np.testing.assert_array_equal(second.labels, labels[[1, 3, 5]])
    from keras_mlrnn.data.labeled_files import LabeledFiles

    files = LabeledFiles([f"{i}.jpg" for i in range(7)], labels, list("abcde"), source="list")
    shared = process_share(DataSplit(labels, list("abcde"), files=files), 1, 2)
    assert shared.files.paths == ["1.jpg", "3.jpg", "5.jpg"]
    np.testing.assert_array_equal(shared.files.labels, labels[[1, 3, 5]])
