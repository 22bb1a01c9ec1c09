"""Your own images: a CSV of `filename,labels` (labels joined by a delimiter).

```
filename,labels
img/0001.jpg,dog person
img/0002.png,cat
img/0003.jpg,
img/0004.jpg,dining table|person
```
Filenames are relative to `image_dir` (default: the CSV's folder). The
labels of a row are separated by `|`, `;` or spaces: by default the first
of these that occurs in the file's labels column (so class names with
spaces, `dining table`, are written `dining table|person`), or the
`delimiter` given. Class names are inferred (sorted) or given; a label
outside the given names is an error naming the file and row. An empty label
field is a valid all-negative image, but a file in which every row is empty
is an error. A row with more fields than the header (an unquoted comma:
`img.png,cat,dog`) is an error naming the row.

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

AUTO_DELIMITERS = ("|", ";", " ")


def guess_delimiter(fields):
    """The label delimiter of a labels column: the first of `|`, `;`, space that occurs."""
    for delimiter in AUTO_DELIMITERS[:-1]:
        if any(delimiter in field for field in fields):
            return delimiter
    return " "


def load_csv(csv_path, image_dir=None, delimiter=None, class_names=None, check_files=True):
    """Loads a labels CSV as `LabeledFiles`.

    Args:
        csv_path: str. CSV with a header `filename,labels`.
        image_dir: str or None. Folder the filenames are relative to;
            defaults to the CSV's folder.
        delimiter: str or None. Separator between labels in the `labels`
            field; None (default) takes the first of `|`, `;` and space
            that occurs in the column.
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
        rows = []
        for r in reader:
            if r.get(None):  # fields beyond the header
                raise ValueError(
                    f"{csv_path}, row {reader.line_num}: {len(reader.fieldnames) + len(r[None])} "
                    f"fields but the header has {len(reader.fieldnames)} (extra: {r[None]}). "
                    "Quote a labels field that contains commas, or separate labels with "
                    "'|', ';' or spaces."
                )
            rows.append(((r["filename"] or "").strip(), r["labels"] or ""))
    if not rows:
        raise ValueError(f"{csv_path}: no rows below the header (the split is empty).")
    if delimiter is None:
        delimiter = guess_delimiter([labels for _, labels in rows])
    parsed = [[t.strip() for t in labels.split(delimiter) if t.strip()] for _, labels in rows]
    names = list(class_names) if class_names is not None else sorted({t for p in parsed for t in p})
    if not names:
        raise ValueError(
            f"{csv_path}: no row has a label, so there are no classes. Fill the 'labels' column "
            "(or pass class_names for a file of all-negative images)."
        )
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
