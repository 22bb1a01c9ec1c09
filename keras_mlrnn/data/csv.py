"""Your own images: a CSV of `filename,labels` (labels joined by a delimiter).

```
filename,labels
img/0001.jpg,dog person
img/0002.png,cat
img/0003.jpg,
```
Filenames are relative to `image_dir` (default: the CSV's folder). Class
names are inferred (sorted) or given; a label outside the given names is an
error naming the file and row. An empty label field is a valid all-negative
image.

Example:
```python
from keras_mlrnn.data.csv import load_csv
data = load_csv("my_photos/labels.csv")
```
"""

import csv
import os

import numpy as np

from keras_mlrnn.data.labeled_files import LabeledFiles


def load_csv(csv_path, image_dir=None, delimiter=" ", class_names=None, check_files=True):
    """Loads a labels CSV as `LabeledFiles`.

    Args:
        csv_path: str. CSV with a header `filename,labels`.
        image_dir: str or None. Folder the filenames are relative to;
            defaults to the CSV's folder.
        delimiter: str. Separator between labels in the `labels` field.
            Defaults to " ".
        class_names: list of str or None. The classes, in column order;
            None infers them (sorted).
        check_files: bool. Fail if image files are missing. Defaults to True.
    """
    if not os.path.isfile(csv_path):
        raise FileNotFoundError(f"CSV not found: {csv_path}")
    image_dir = os.path.dirname(os.path.abspath(csv_path)) if image_dir is None else image_dir
    with open(csv_path, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"filename", "labels"} <= set(reader.fieldnames):
            raise ValueError(f"{csv_path}: the header must name 'filename' and 'labels' columns.")
        rows = [(r["filename"].strip(), r["labels"] or "") for r in reader]
    parsed = [[t.strip() for t in labels.split(delimiter) if t.strip()] for _, labels in rows]
    names = list(class_names) if class_names is not None else sorted({t for p in parsed for t in p})
    index = {name: c for c, name in enumerate(names)}
    labels = np.zeros((len(rows), len(names)), dtype=np.float32)
    for row, tokens in enumerate(parsed):
        for token in tokens:
            if token not in index:
                raise ValueError(
                    f"{csv_path}, row {row + 2}: unknown class {token!r} (known: {names})."
                )
            labels[row, index[token]] = 1.0
    paths = [os.path.join(image_dir, name) for name, _ in rows]
    files = LabeledFiles(paths, labels, names, source=csv_path)
    return files.check_files() if check_files else files
