"""Which image files a command labels: files, folders, glob patterns, path lists, a CSV.

`find_images(items)` turns what a user types into one ordered list of paths:
- an image file (any name: a file that is not an image fails later, named);
- a folder: every image file below it, recursively, by extension;
- a glob pattern (`photos/**/*.jpg`, quoted so the shell leaves it);
- a text file (`.txt`, `.lst`, `.list`) with one path per line (relative
  paths are read from the list's folder; blank lines and `#` comments skipped);
so a shell never has to pass 100,000 paths. `csv_images(path, column)` reads
a CSV's filename column. Duplicates are kept once, in first-seen order.

`shard(paths, index, count)` keeps a deterministic 1/count of them (by a hash
of each path, so the shards do not depend on the order the paths were
found): N processes given `--shard 1/N` ... `--shard N/N` label disjoint
parts whose union is the whole.

Example:
```python
from keras_mlrnn.data.image_inputs import find_images, shard
paths = find_images(["photos/", "more/*.png", "list.txt"])
mine = shard(paths, 1, 4)   # this process's quarter
```
"""

import csv
import glob
import os
import zlib

#: file name endings read as images when a folder is searched (lower case)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
#: file name endings read as lists of paths
LIST_EXTENSIONS = (".txt", ".lst", ".list")


def _folder_images(folder):
    found = []
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        found += [
            os.path.join(root, n) for n in sorted(names) if n.lower().endswith(IMAGE_EXTENSIONS)
        ]
    return found


def _listed_images(list_file):
    base = os.path.dirname(list_file)
    with open(list_file, encoding="utf-8") as f:
        lines = [line.strip() for line in f]
    return [
        line if os.path.isabs(line) else os.path.join(base, line)
        for line in lines
        if line and not line.startswith("#")
    ]


def find_images(items):
    """The image paths named by `items` (files, folders, globs, list files), each once.

    A path that does not exist is kept as it is (the labelling names it as
    missing and goes on).

    Raises:
        FileNotFoundError: a glob pattern matches nothing (names it).
    """
    paths = []
    for item in items:
        item = str(item)
        if os.path.isdir(item):
            paths += _folder_images(item)
        elif os.path.isfile(item):
            paths += _listed_images(item) if item.lower().endswith(LIST_EXTENSIONS) else [item]
        elif glob.has_magic(item):
            matches = sorted(glob.glob(item, recursive=True))
            if not matches:
                raise FileNotFoundError(f"{item}: the pattern matches no file.")
            for match in matches:
                paths += _folder_images(match) if os.path.isdir(match) else [match]
        else:  # kept: the command names it as missing and labels the rest
            paths.append(item)
    return list(dict.fromkeys(paths))


def csv_images(path, column=None, image_dir=None):
    """The paths in a CSV's filename column (`column`, default the first), in file order.

    Relative paths are read from `image_dir` (default: the CSV's folder).

    Raises:
        ValueError: the CSV has no such column, or no rows (names the file).
    """
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if len(rows) < 2:
        raise ValueError(f"{path}: no rows under the header.")
    header = rows[0]
    name = column or header[0]
    if name not in header:
        raise ValueError(f"{path}: no column {name!r} (columns: {', '.join(header)}).")
    index = header.index(name)
    base = image_dir or os.path.dirname(path)
    names = [row[index] for row in rows[1:] if len(row) > index and row[index].strip()]
    return list(dict.fromkeys(n if os.path.isabs(n) else os.path.join(base, n) for n in names))


def parse_shard(text):
    """`"2/8"` -> `(2, 8)`; a ValueError naming the problem otherwise."""
    index, sep, count = str(text).partition("/")
    try:
        index, count = int(index), int(count)
    except ValueError:
        index = count = 0
    if not sep or count < 1 or not 1 <= index <= count:
        raise ValueError(f"--shard takes K/N with 1 <= K <= N (e.g. 1/4); got {text!r}.")
    return index, count


def shard(paths, index, count):
    """The paths of shard `index` of `count` (1-based): a path's shard is a hash of its text."""
    return [p for p in paths if zlib.crc32(p.encode("utf-8")) % count == index - 1]
