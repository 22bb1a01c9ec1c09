"""Your own images: a CSV of `filename,labels` (labels joined by a delimiter).

```
filename,labels
img/0001.jpg,dog person
img/0002.png,cat
img/0003.jpg,
img/0004.jpg,dining table|person
```
Filenames are relative to `image_dir` (default: the CSV's folder). The
labels of a row are separated by `|`, `;`, `,` (in a quoted field) or
spaces: by default the first of these that occurs in the file's labels column (so class names with
spaces, `dining table`, are written `dining table|person`), or the
`delimiter` given. Class names are inferred (sorted) or given; a label
outside the given names is an error naming the file and row. An empty label
field is a valid all-negative image, but a file in which every row is empty
is an error. A row with more fields than the header (an unquoted comma:
`img.png,cat,dog`), a file listed twice, two classes that differ only in
case and a file that is not UTF-8 are errors naming the file (and row); a
UTF-8 byte-order mark and spaces around the header's names are fine.

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

AUTO_DELIMITERS = ("|", ";", ",", " ")


def guess_delimiter(fields):
    """The label delimiter of a labels column: the first of `|`, `;`, `,`, space that occurs.

    A comma inside a labels field can only come from quoting
    (`"dining table,person"`): it separates labels.
    """
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
    try:
        rows = _read_rows(csv_path)
    except UnicodeDecodeError as e:
        raise ValueError(
            f"{csv_path} is not UTF-8 text (byte {e.start}: {e.reason}); save it as UTF-8."
        ) from None
    if not rows:
        raise ValueError(f"{csv_path}: no rows below the header (the split is empty).")
    _check_unique_files(csv_path, rows)
    if delimiter is None:
        delimiter = guess_delimiter([labels for _, labels in rows])
    parsed = [[t.strip() for t in labels.split(delimiter) if t.strip()] for _, labels in rows]
    names = list(class_names) if class_names is not None else sorted({t for p in parsed for t in p})
    _check_names_differ_beyond_case(csv_path, names)
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


def _read_rows(csv_path):
    """`[(filename, labels field), ...]` of a labels CSV (UTF-8, a BOM allowed)."""
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is not None:  # "filename, labels": spaces around the names
            reader.fieldnames = [name.strip() for name in reader.fieldnames]
        if reader.fieldnames is None or not {"filename", "labels"} <= set(reader.fieldnames):
            raise ValueError(
                f"{csv_path}: the header must name 'filename' and 'labels' columns; it reads "
                f"{reader.fieldnames}."
            )
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
    return rows


def _check_unique_files(csv_path, rows):
    """A file listed twice could land in train and test: a ValueError naming both rows."""
    first = {}
    for row, (name, _) in enumerate(rows, start=2):
        if name in first:
            raise ValueError(
                f"{csv_path}: {name} is listed twice (rows {first[name]} and {row}); list each "
                "image once, with all its labels."
            )
        first[name] = row


def _check_names_differ_beyond_case(csv_path, names):
    """`Dog` and `dog` as two classes is almost always a typo: a ValueError naming them."""
    seen = {}
    for name in names:
        other = seen.setdefault(name.casefold(), name)
        if other != name:
            raise ValueError(
                f"{csv_path}: the classes {other!r} and {name!r} differ only in case; write "
                "them the same (or name two classes differently)."
            )
