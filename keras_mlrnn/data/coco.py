"""MS-COCO: labels from the official `instances_*.json` through pycocotools.

Layout: `DATA_DIR/annotations/instances_{split}.json` and `DATA_DIR/{split}/`
with the images (`split` such as `train2014`, `val2014`, `train2017`,
`val2017`). An image's labels are the categories of its annotations, crowd
annotations included; the 80 classes are in category-id order with COCO's
names. Images without any annotation are kept as all-negative unless
`drop_empty=True` (which the papers do).

Example:
```python
from keras_mlrnn.data.coco import load_coco
train = load_coco("/data/coco", "train2014", drop_empty=True)
ds = train.dataset(image_size=224, batch_size=32, shuffle=True, augment=True)
```
"""

import contextlib
import io
import json
import os

import numpy as np

from keras_mlrnn.data.labeled_files import LabeledFiles

# The 80 COCO classes in category-id order (COCO's names).
COCO_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip


COCO_YEARS = (2014, 2017)  # the releases with instances_train / instances_val files


def coco_year(data_dir, year=None):
    """The COCO release to read in `data_dir`: `year` if given, else the one it holds.

    Where both are there, 2014 (the papers' release). A FileNotFoundError
    names the annotation files looked for when there is none.
    """
    candidates = COCO_YEARS if year is None else (int(year),)
    for candidate in candidates:
        if os.path.isfile(
            os.path.join(data_dir, "annotations", f"instances_train{candidate}.json")
        ):
            return candidate
    looked = ", ".join(f"instances_train{y}.json" for y in candidates)
    raise FileNotFoundError(
        f"COCO annotations not found in {os.path.join(data_dir, 'annotations')}: looked for "
        f"{looked} (the official layout: annotations/ beside train<year>/ and val<year>/)."
    )


def load_coco(data_dir, split="train2017", drop_empty=False, check_files=True):
    """Loads a COCO split as `LabeledFiles`.

    Args:
        data_dir: str. The COCO root (holding `annotations/` and the image folders).
        split: str. E.g. "train2014", "val2014", "train2017", "val2017".
        drop_empty: bool. Drop images with no annotation. Defaults to False.
        check_files: bool. Fail if image files are missing. Defaults to True.

    Returns:
        `LabeledFiles` with 80 classes in category-id order.
    """
    from pycocotools.coco import COCO

    annotation_file = os.path.join(data_dir, "annotations", f"instances_{split}.json")
    if not os.path.isfile(annotation_file):
        raise FileNotFoundError(f"COCO annotations not found: {annotation_file}")
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
            coco = COCO(annotation_file)
    except json.JSONDecodeError as e:
        raise ValueError(f"{annotation_file} is not valid JSON: {e}") from e
    category_ids = sorted(coco.getCatIds())
    column = {cat: c for c, cat in enumerate(category_ids)}
    class_names = [coco.loadCats(cat)[0]["name"] for cat in category_ids]
    image_ids = sorted(coco.getImgIds())
    labels = np.zeros((len(image_ids), len(category_ids)), dtype=np.float32)
    for row, image_id in enumerate(image_ids):
        for annotation in coco.loadAnns(coco.getAnnIds(imgIds=image_id, iscrowd=None)):
            if annotation["category_id"] not in column:
                raise ValueError(
                    f"{annotation_file}: annotation {annotation.get('id')} of image {image_id} "
                    f"has category_id {annotation['category_id']}, which is not among the "
                    f"file's categories {category_ids[:5]}..."
                )
            labels[row, column[annotation["category_id"]]] = 1.0
    keep = labels.sum(axis=1) > 0 if drop_empty else np.ones(len(image_ids), bool)
    image_dir = os.path.join(data_dir, split)
    paths = [
        os.path.join(image_dir, coco.loadImgs(image_id)[0]["file_name"])
        for image_id, kept in zip(image_ids, keep)
        if kept
    ]
    files = LabeledFiles(paths, labels[keep], class_names, source=annotation_file)
    return files.check_files() if check_files else files
