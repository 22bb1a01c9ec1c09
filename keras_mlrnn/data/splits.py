"""Train / val / test splits of every supported data set, behind one interface.

`load_splits(dataset, ...)` returns `{"train", "val", "test"}` ->
`DataSplit`, whose `.dataset(...)` is the input pipeline and `.labels` the
targets. Splits:

- `scenes`: the generator's three independent streams.
- `coco`: train = `train{year}` minus every 20th image (val); test = `val{year}`
  (the papers' protocol: COCO's test labels are not public); the year is
  the release the folder holds (2014, else 2017). `../shared/data/coco_small`
  (2017): 349 train, 18 val, 176 test photos.
- `voc2007`: the devkit's `train`, `val` and `test` lists where it has a
  `val.txt`; else train = `trainval` minus every 20th image (val).
- `nuswide`: train = the official Train list minus every 20th image; test = Test.
- `coco128`: the 128-image COCO subset (`instances_train2017.json` and
  `train2017/`), sorted by image id: the last 32 are the test split, every
  8th of the first 96 is validation (12), the other 84 train. A smoke-size
  real-photo recipe, far too small for paper numbers.
- `csv`: a CSV of your own; images are split deterministically by the seed,
  80 / 10 / 10.
- `tfds:voc/2007`: TFDS' train / validation / test; `tfds:coco/2017`: TFDS'
  train minus its last 5% (val), validation as test (`data_dir`: TFDS' data
  folder, default its own).

`load_splits` is over 60 lines: one short branch per data set above, in
the order of this list, so each protocol reads where it is described.
"""

import dataclasses
import os

import numpy as np

from keras_mlrnn.catalog import DATASETS  # noqa: F401 (re-exported)
from keras_mlrnn.data.labeled_files import LabeledFiles
from keras_mlrnn.data.pipeline import make_dataset
from keras_mlrnn.data.scenes import SCENE_CLASS_NAMES, load_scenes

COCO128_TEST = 32  # the last 32 images by id are coco128's test split


@dataclasses.dataclass
class DataSplit:
    """One split: in-memory images (scenes) or image files, with labels.

    Attributes:
        labels: float32 `(N, C)`.
        class_names: list of C str.
        images: uint8 `(N, S, S, 3)` or None (files).
        files: `LabeledFiles` or None (arrays).
        mask: float32 `(N, C)` or None (VOC "difficult").
        stream: None, or another source of the images with the same
            `.dataset(...)` and an `identity` string (`TfdsImages`).
    """

    labels: np.ndarray
    class_names: list
    images: np.ndarray = None
    files: LabeledFiles = None
    mask: np.ndarray = None
    stream: object = None

    def dataset(self, image_size, batch_size=32, shuffle=False, augment=False, seed=None):
        """The input pipeline of this split: `(uint8 images, float32 labels)` batches."""
        if self.images is not None:
            return make_dataset(self.images, self.labels, batch_size, shuffle, augment, seed)
        source = self.files if self.files is not None else self.stream
        return source.dataset(image_size, batch_size, shuffle, augment, seed)


def process_share(split, index, count):
    """This process's 1/`count` of `split` (every `count`-th example from `index`).

    Every share has the same length (the last `len % count` examples are
    left out), so the processes of a multi-process run take the same number
    of steps.
    """
    if split.stream is not None:
        raise ValueError("A streamed data set (tfds:...) cannot be shared among processes.")
    length = len(split.labels) // count * count
    rows = np.arange(index, length, count)
    mask = None if split.mask is None else split.mask[rows]
    if split.images is not None:
        return DataSplit(
            split.labels[rows], split.class_names, images=split.images[rows], mask=mask
        )
    files = split.files
    paths = [files.paths[i] for i in rows]
    source = f"{files.source} (process {index} of {count})"
    shared = LabeledFiles(paths, files.labels[rows], files.class_names, mask, source)
    return DataSplit(split.labels[rows], split.class_names, files=shared, mask=mask)


def concatenate(first, second):
    """One `DataSplit` of two splits of the same data set, `first` then `second`."""
    if first.class_names != second.class_names:
        raise ValueError("Cannot concatenate splits with different class names.")
    mask = None
    if first.mask is not None or second.mask is not None:
        mask = np.concatenate(
            [np.ones_like(s.labels) if s.mask is None else s.mask for s in (first, second)]
        )
    labels = np.concatenate([first.labels, second.labels])
    if first.images is not None and second.images is not None:
        images = np.concatenate([first.images, second.images])
        return DataSplit(labels, first.class_names, images=images, mask=mask)
    if first.files is None or second.files is None:
        raise ValueError("Cannot concatenate a split of image files with one of arrays.")
    files = LabeledFiles(
        first.files.paths + second.files.paths,
        labels,
        first.class_names,
        mask,
        f"{first.files.source} + {second.files.source}",
    )
    return DataSplit(labels, first.class_names, files=files, mask=mask)


def _from_files(files, rows=None):
    rows = np.arange(len(files)) if rows is None else rows
    subset = LabeledFiles(
        [files.paths[i] for i in rows],
        files.labels[rows],
        files.class_names,
        None if files.mask is None else files.mask[rows],
        files.source,
    )
    return DataSplit(subset.labels, subset.class_names, files=subset, mask=subset.mask)


def _hold_out(files, every=20):
    rows = np.arange(len(files))
    held = rows % every == every - 1
    return _from_files(files, rows[~held]), _from_files(files, rows[held])


def load_splits(
    dataset,
    data_dir=None,
    csv=None,
    image_size=64,
    seed=0,
    sizes=None,
    year=None,
    csv_delimiter=None,
):
    """Loads the train, val and test splits of a data set.

    Args:
        dataset: str. One of `DATASETS`.
        data_dir: str. Root of the data set on disk (not for scenes / csv).
        csv: str. The labels CSV (for "csv").
        image_size: int. Image side (scenes are drawn at this size).
        seed: int. Data seed (scenes, and the csv split).
        sizes: dict split -> int or None. Scenes split sizes.
        year: int or None. COCO release (2014 or 2017). Defaults to None:
            the one `data_dir` holds (2014 where it holds both).
        csv_delimiter: str or None. Separator of the CSV's labels (None:
            `|`, `;` or space, whichever the file uses).

    Returns:
        dict "train" / "val" / "test" -> `DataSplit`.
    """
    if dataset == "scenes":
        return _scenes_splits(sizes or {}, image_size, seed)
    if dataset == "csv":
        return _csv_splits(csv, csv_delimiter, seed)
    if dataset.startswith("tfds:"):
        return _tfds_splits(dataset, data_dir)
    if data_dir is None:
        raise ValueError(f"--dataset {dataset} needs --data-dir.")
    if dataset == "coco128":
        return _coco128_splits(data_dir)
    return _official_splits(dataset, data_dir, year)


def _scenes_splits(sizes, image_size, seed):
    """The embedded scenes, drawn at `image_size`."""
    out = {}
    for split in ("train", "val", "test"):
        images, labels = load_scenes(split, sizes.get(split), image_size, seed)
        out[split] = DataSplit(labels, list(SCENE_CLASS_NAMES), images=images)
    return out


def _csv_splits(csv, csv_delimiter, seed):
    """A CSV of the user's images, split 80/10/10 by `seed`."""
    from keras_mlrnn.data.csv import load_csv

    if csv is None:
        raise ValueError("--dataset csv needs --csv PATH.")
    files = load_csv(csv, delimiter=csv_delimiter)
    order = np.random.default_rng(seed).permutation(len(files))
    n_test = n_val = max(len(files) // 10, 1)
    if len(files) < 3:
        raise ValueError(f"{csv}: need at least 3 images to split, found {len(files)}.")
    return {
        "test": _from_files(files, np.sort(order[:n_test])),
        "val": _from_files(files, np.sort(order[n_test : n_test + n_val])),
        "train": _from_files(files, np.sort(order[n_test + n_val :])),
    }


def _tfds_splits(dataset, data_dir):
    """A TensorFlow Datasets source ("tfds:voc/2007"), streamed."""
    from keras_mlrnn.data.tfds import TFDS_SPLITS, load_tfds

    name = dataset[len("tfds:") :]
    if name not in TFDS_SPLITS:
        raise ValueError(f"Unknown dataset {dataset!r}; expected one of {DATASETS}.")
    out = {}
    for split, tfds_split in zip(("train", "val", "test"), TFDS_SPLITS[name]):
        source = load_tfds(name, tfds_split, data_dir=data_dir)
        out[split] = DataSplit(source.labels, source.class_names, mask=source.mask, stream=source)
    return out


def _coco128_splits(data_dir):
    """coco128: the last COCO128_TEST photos by name test, every 8th of the rest val."""
    from keras_mlrnn.data.coco import load_coco

    files = load_coco(data_dir, "train2017")
    order = np.argsort([os.path.basename(p) for p in files.paths], kind="stable")
    first, test = order[:-COCO128_TEST], order[-COCO128_TEST:]
    held = np.arange(len(first)) % 8 == 7
    return {
        "train": _from_files(files, first[~held]),
        "val": _from_files(files, first[held]),
        "test": _from_files(files, test),
    }


def _official_splits(dataset, data_dir, year):
    """COCO, VOC 2007 and NUS-WIDE from their official lists; val held out of train."""
    if dataset == "coco":
        from keras_mlrnn.data.coco import coco_year, load_coco

        year = coco_year(data_dir, year)
        train, test = load_coco(data_dir, f"train{year}"), load_coco(data_dir, f"val{year}")
    elif dataset == "voc2007":
        from keras_mlrnn.data.voc import has_val_list, load_voc2007

        if has_val_list(data_dir):
            return {s: _from_files(load_voc2007(data_dir, s)) for s in ("train", "val", "test")}
        train, test = load_voc2007(data_dir, "trainval"), load_voc2007(data_dir, "test")
    elif dataset == "nuswide":
        from keras_mlrnn.data.nuswide import load_nuswide

        train, test = load_nuswide(data_dir, "train"), load_nuswide(data_dir, "test")
    else:
        raise ValueError(f"Unknown dataset {dataset!r}; expected one of {DATASETS}.")
    fit_split, val_split = _hold_out(train)
    return {"train": fit_split, "val": val_split, "test": _from_files(test)}


SPLITS = ("train", "val", "test", "all")


def align_classes(split, class_names, source="the data"):
    """`split` with its label columns in the order of `class_names` (a model's).

    A class of the data that the model does not know is an error naming it;
    a class of the model that the data lack becomes an all-negative column
    (no positives: left out of the per-class means).
    """
    index = {name: c for c, name in enumerate(split.class_names)}
    unknown = [name for name in split.class_names if name not in set(class_names)]
    if unknown:
        raise ValueError(
            f"{source} has classes the model does not know: {unknown} "
            f"(the model's: {list(class_names)})."
        )

    def columns(matrix, fill):
        if matrix is None:
            return None
        out = np.full((len(matrix), len(class_names)), fill, dtype=np.float32)
        for c, name in enumerate(class_names):
            if name in index:
                out[:, c] = matrix[:, index[name]]
        return out

    labels, mask = columns(split.labels, 0.0), columns(split.mask, 1.0)
    files = split.files
    if files is not None:
        files = LabeledFiles(files.paths, labels, list(class_names), mask, files.source)
    return DataSplit(labels, list(class_names), split.images, files, mask, split.stream)


def load_split(dataset, split, class_names=None, **kwargs):
    """One split of a data set for evaluation, its columns in a model's class order.

    Args:
        dataset: str. One of `DATASETS`.
        split: "train", "val", "test", or "all" (the three together; for a
            CSV, the whole file in its own order).
        class_names: list of str or None. The model's classes: the columns
            follow them (`align_classes`); a CSV label outside them is an
            error naming the row.
        **kwargs: `load_splits` arguments (data_dir, csv, csv_delimiter,
            image_size, seed, sizes).

    Returns:
        `DataSplit`.
    """
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; choose from {SPLITS}.")
    if dataset == "csv" and split == "all":
        from keras_mlrnn.data.csv import load_csv

        if kwargs.get("csv") is None:
            raise ValueError("--dataset csv needs --csv PATH.")
        files = load_csv(
            kwargs["csv"], delimiter=kwargs.get("csv_delimiter"), class_names=class_names
        )
        return _from_files(files)
    splits = load_splits(dataset, **kwargs)
    if split == "all":
        chosen = concatenate(concatenate(splits["train"], splits["val"]), splits["test"])
    else:
        chosen = splits[split]
    if class_names is None:
        return chosen
    return align_classes(chosen, class_names, source=kwargs.get("csv") or dataset)
