"""PASCAL VOC 2007 from the VOCdevkit: 20 classes, "difficult"-only labels masked.

Layout: `VOCdevkit/VOC2007/ImageSets/Main/{trainval,test}.txt`,
`Annotations/<id>.xml`, `JPEGImages/<id>.jpg`. A class is positive for an
image when it has a non-difficult object of that class; a class present only
through "difficult" objects is masked for that image (`mask = 0`), which
excludes it from that image's counts and the class's AP, as the VOC devkit
does. Pass the mask to `multilabel_report(..., mask=...)`.

Example:
```python
from keras_mlrnn.data.voc import load_voc2007
test = load_voc2007("/data/VOCdevkit", "test")
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


def _voc_root(data_dir):
    for candidate in (data_dir, os.path.join(data_dir, "VOC2007"),
                      os.path.join(data_dir, "VOCdevkit", "VOC2007")):  # fmt: skip
        if os.path.isdir(os.path.join(candidate, "ImageSets", "Main")):
            return candidate
    raise FileNotFoundError(f"No VOC2007 folder (with ImageSets/Main) under {data_dir}.")


def load_voc2007(data_dir, split="trainval", check_files=True):
    """Loads a VOC 2007 split as `LabeledFiles` with a "difficult" mask.

    Args:
        data_dir: str. `VOCdevkit`, `VOCdevkit/VOC2007` or their parent.
        split: str. "train", "val", "trainval" or "test". Defaults to "trainval".
        check_files: bool. Fail if image files are missing. Defaults to True.
    """
    root = _voc_root(data_dir)
    list_file = os.path.join(root, "ImageSets", "Main", f"{split}.txt")
    if not os.path.isfile(list_file):
        raise FileNotFoundError(f"VOC image list not found: {list_file}")
    with open(list_file) as f:
        ids = [line.split()[0] for line in f if line.strip()]
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
    mask = 1.0 - difficult_only * (1.0 - labels)  # 0 where only difficult objects
    paths = [os.path.join(root, "JPEGImages", f"{i}.jpg") for i in ids]
    files = LabeledFiles(paths, labels, list(VOC_CLASSES), mask=mask, source=list_file)
    return files.check_files() if check_files else files
