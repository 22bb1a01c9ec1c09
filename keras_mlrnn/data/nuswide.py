"""NUS-WIDE from the official lists: 81 concepts, optional dropping of unlabelled images.

Layout under `DATA_DIR`: `Concepts81.txt` (one concept per line),
`ImageList/{Train,Test}Imagelist.txt` (relative paths with `\\` separators),
`Groundtruth/TrainTestLabels/Labels_<concept>_{Train,Test}.txt` (one 0/1
per image, in list order) and the images under `Flickr/`.

Example:
```python
from keras_mlrnn.data.nuswide import load_nuswide
train = load_nuswide("/data/nuswide", "train", drop_empty=True)
```
"""

import os

import numpy as np

from keras_mlrnn.data.labeled_files import LabeledFiles

# The 81 concepts in the order of Concepts81.txt (what a preset names without the data).
NUSWIDE_CONCEPTS = (
    "airport", "animal", "beach", "bear", "birds", "boats", "book", "bridge", "buildings", "cars",
    "castle", "cat", "cityscape", "clouds", "computer", "coral", "cow", "dancing", "dog",
    "earthquake", "elk", "fire", "fish", "flags", "flowers", "food", "fox", "frost", "garden",
    "glacier", "grass", "harbor", "horses", "house", "lake", "leaf", "map", "military", "moon",
    "mountain", "nighttime", "ocean", "person", "plane", "plants", "police", "protest",
    "railroad", "rainbow", "reflection", "road", "rocks", "running", "sand", "sign", "sky",
    "snow", "soccer", "sports", "statue", "street", "sun", "sunset", "surf", "swimmers",
    "tattoo", "temple", "tiger", "tower", "town", "toy", "train", "tree", "valley", "vehicle",
    "water", "waterfall", "wedding", "whales", "window", "zebra",
)  # fmt: skip


def _read_lines(path):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"NUS-WIDE file not found: {path}")
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def load_nuswide(data_dir, split="train", drop_empty=True, check_files=True):
    """Loads a NUS-WIDE split as `LabeledFiles`.

    Args:
        data_dir: str. The NUS-WIDE root.
        split: str. "train" or "test".
        drop_empty: bool. Drop images with none of the 81 concepts (the
            usual protocol). Defaults to True.
        check_files: bool. Fail if image files are missing. Defaults to True.
    """
    if split not in ("train", "test"):
        raise ValueError(f"NUS-WIDE split must be 'train' or 'test', got {split!r}.")
    tag = split.capitalize()
    concepts = _read_lines(os.path.join(data_dir, "Concepts81.txt"))
    images = _read_lines(os.path.join(data_dir, "ImageList", f"{tag}Imagelist.txt"))
    labels = np.zeros((len(images), len(concepts)), dtype=np.float32)
    for c, concept in enumerate(concepts):
        path = os.path.join(
            data_dir, "Groundtruth", "TrainTestLabels", f"Labels_{concept}_{tag}.txt"
        )
        column = _read_lines(path)
        if len(column) != len(images):
            raise ValueError(f"{path} has {len(column)} rows; the image list has {len(images)}.")
        labels[:, c] = np.asarray(column, dtype=np.float32)
    keep = labels.sum(axis=1) > 0 if drop_empty else np.ones(len(images), bool)
    paths = [
        os.path.join(data_dir, "Flickr", *name.split("\\"))
        for name, kept in zip(images, keep)
        if kept
    ]
    files = LabeledFiles(paths, labels[keep], concepts, source=f"NUS-WIDE {split} in {data_dir}")
    return files.check_files() if check_files else files
