"""PASCAL VOC 2007 from the VOCdevkit: 20 classes, "difficult"-only labels masked.

Layout: `VOCdevkit/VOC2007/ImageSets/Main/{train,val,trainval,test}.txt`
(image lists), `ImageSets/Main/<class>_<split>.txt` (the devkit's
classification ground truth: `<id> 1` present, `0` present only through
"difficult" objects, `-1` absent), `Annotations/<id>.xml` (objects) and
`JPEGImages/<id>.jpg`.

Labels come from the per-class files where they exist for the split, and
from `Annotations/*.xml` otherwise; a real devkit gives the same labels
either way. A class present only through "difficult" objects (class-file
value 0) is masked for that image (`mask = 0`), which excludes it from that
image's counts and the class's AP, as the VOC devkit does. Pass the mask to
`multilabel_report(..., mask=...)`.

`trainval` is read from its list file, or is `train` followed by `val`
where the devkit has no `trainval.txt`.

Example:
```python
from keras_mlrnn.data.voc import load_voc2007
test = load_voc2007("/data/VOCdevkit", "test")
test.labels.shape, test.mask.shape   # (N, 20), (N, 20)
```
"""

import os
import xml.etree.ElementTree as ET

import numpy as np

from keras_mlrnn.data.labeled_files import LabeledFiles

VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)  # fmt: skip
VOC_SPLITS = ("train", "val", "trainval", "test")


def _voc_root(data_dir):
    for candidate in (data_dir, os.path.join(data_dir, "VOC2007"),
                      os.path.join(data_dir, "VOCdevkit", "VOC2007")):  # fmt: skip
        if os.path.isdir(os.path.join(candidate, "ImageSets", "Main")):
            return candidate
    raise FileNotFoundError(f"No VOC2007 folder (with ImageSets/Main) under {data_dir}.")


def has_val_list(data_dir):
    """Whether the devkit under `data_dir` has the `val.txt` list (its own train/val split)."""
    return os.path.isfile(os.path.join(_voc_root(data_dir), "ImageSets", "Main", "val.txt"))


def _read_ids(list_file):
    with open(list_file) as f:
        return [line.split()[0] for line in f if line.strip()]


def _split_ids(main, split):
    """Image ids of a split from its list file (`trainval` = train + val if it has none)."""
    list_file = os.path.join(main, f"{split}.txt")
    if os.path.isfile(list_file):
        return _read_ids(list_file), list_file
    parts = [os.path.join(main, f"{part}.txt") for part in ("train", "val")]
    if split == "trainval" and all(os.path.isfile(p) for p in parts):
        return _read_ids(parts[0]) + _read_ids(parts[1]), " + ".join(parts)
    raise FileNotFoundError(f"VOC image list not found: {list_file}")


def _labels_from_class_files(main, split, ids):
    """`(labels, difficult_only)` from `<class>_<split>.txt`, or None if any file is absent."""
    parts = ("train", "val") if split == "trainval" else (split,)
    paths = {}
    for name in VOC_CLASSES:
        files = [os.path.join(main, f"{name}_{part}.txt") for part in parts]
        whole = os.path.join(main, f"{name}_{split}.txt")
        if os.path.isfile(whole):
            files = [whole]
        if not all(os.path.isfile(f) for f in files):
            return None
        paths[name] = files
    row_of = {image_id: row for row, image_id in enumerate(ids)}
    labels = np.zeros((len(ids), len(VOC_CLASSES)), dtype=np.float32)
    difficult_only = np.zeros_like(labels)
    seen = np.zeros_like(labels, dtype=bool)
    for c, name in enumerate(VOC_CLASSES):
        for path in paths[name]:
            with open(path) as f:
                for number, line in enumerate(f, 1):
                    fields = line.split()
                    if not fields:
                        continue
                    if len(fields) != 2 or fields[1] not in ("1", "0", "-1"):
                        raise ValueError(
                            f"{path}, line {number}: expected '<image id> 1|0|-1', got "
                            f"{line.strip()!r}."
                        )
                    row = row_of.get(fields[0])
                    if row is None:
                        continue  # an image of another list
                    labels[row, c] = fields[1] == "1"
                    difficult_only[row, c] = fields[1] == "0"
                    seen[row, c] = True
        missing = np.flatnonzero(~seen[:, c])
        if missing.size:
            raise ValueError(
                f"{paths[name][0]}: {missing.size} images of the {split} list have no line, "
                f"e.g. {ids[missing[0]]}."
            )
    return labels, difficult_only


def _labels_from_xml(root, ids):
    """`(labels, difficult_only)` from `Annotations/<id>.xml`."""
    index = {name: c for c, name in enumerate(VOC_CLASSES)}
    labels = np.zeros((len(ids), len(VOC_CLASSES)), dtype=np.float32)
    difficult_only = np.zeros_like(labels)
    for row, image_id in enumerate(ids):
        xml_path = os.path.join(root, "Annotations", f"{image_id}.xml")
        try:
            tree = ET.parse(xml_path)
        except (OSError, ET.ParseError) as e:
            raise ValueError(f"Cannot read VOC annotation {xml_path}: {e}") from e
        for obj in tree.findall("object"):
            name = obj.findtext("name", "").strip()
            if name not in index:
                raise ValueError(f"{xml_path}: unknown VOC class {name!r}.")
            if obj.findtext("difficult", "0").strip() == "1":
                difficult_only[row, index[name]] = 1.0
            else:
                labels[row, index[name]] = 1.0
    return labels, difficult_only * (1.0 - labels)


def load_voc2007(data_dir, split="trainval", check_files=True, labels_from="auto"):
    """Loads a VOC 2007 split as `LabeledFiles` with a "difficult" mask.

    Args:
        data_dir: str. `VOCdevkit`, `VOCdevkit/VOC2007` or their parent.
        split: str. "train", "val", "trainval" or "test". Defaults to "trainval".
        check_files: bool. Fail if image files are missing. Defaults to True.
        labels_from: str. "auto" (the per-class files where the split has
            them, else the XML annotations), "class_files" or "xml".
            Defaults to "auto".
    """
    if split not in VOC_SPLITS:
        raise ValueError(f"Unknown VOC split {split!r}; expected one of {VOC_SPLITS}.")
    if labels_from not in ("auto", "class_files", "xml"):
        raise ValueError(
            f"labels_from must be 'auto', 'class_files' or 'xml'; got {labels_from!r}."
        )
    root = _voc_root(data_dir)
    main = os.path.join(root, "ImageSets", "Main")
    ids, source = _split_ids(main, split)
    found = None if labels_from == "xml" else _labels_from_class_files(main, split, ids)
    if found is None and labels_from == "class_files":
        raise FileNotFoundError(f"{main}: no per-class files <class>_{split}.txt for every class.")
    labels, difficult_only = found if found is not None else _labels_from_xml(root, ids)
    paths = [os.path.join(root, "JPEGImages", f"{i}.jpg") for i in ids]
    files = LabeledFiles(paths, labels, list(VOC_CLASSES), mask=1.0 - difficult_only, source=source)
    return files.check_files() if check_files else files
