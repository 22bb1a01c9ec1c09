"""A frozen backbone's feature maps, computed once per split and view, memory-mapped from disk.

With a frozen backbone (the papers' CNN-RNN and Multi-order RNN train on a
fixed CNN) the backbone's forward pass is almost all of a CPU epoch, and it
gives the same feature map every epoch. `FeatureCache` computes it once per
split and per view (`"image"`, and its horizontal `"mirror"` for training),
stores it as a float16 `.npy` file, and `CachedFeatureBatches` feeds the
maps to `fit` / `predict` / `evaluate`: every model's `image_features`
accepts backbone feature maps in place of images, so the method's head
trains on them with its own loss, exactly as it would on the images. The
trained model still holds its backbone: it saves, loads and predicts on raw
images like any other.

Each view is written to `<name>.<view>.<backbone digest>.npy.partial` and renamed when
complete; `manifest.json` records what every file was computed from
(backbone, its weights' sha256, image size, the split's files), so a
resumed run reuses finished views and recomputes anything that no longer
matches.

What a cached run gives up: the random-resized crops of the image pipeline
(a random crop is a new backbone pass). Training draws one of a few fixed
views for each sample at random every epoch (`training_views`): the image
or its mirror for `augment="flip"`; for `augment="randaugment"`,
`RANDAUGMENT_VIEWS` views `"randaugment0"`, `"randaugment1"`, ... each the
image randomly flipped and passed through `keras.layers.RandAugment` once,
with the view's number as the seed (so a rebuilt view is the same). The
mixing augmentations (mixup, cutmix) blend two images' pixels per step and
have no cached form.

Example:
```python
import keras_mlrnn as km
from keras_mlrnn.data.splits import load_splits
from keras_mlrnn.training.feature_cache import FeatureCache

splits = load_splits("scenes", sizes={"train": 64, "val": 32, "test": 32})
model = km.BinaryRelevance(20, backbone="tiny", image_size=64, backbone_trainable=False)
cache = FeatureCache("/tmp/features", model)
train = cache.batches(splits["train"], "train", batch_size=32, shuffle=True, seed=0)
model.compile(optimizer="adam")
model.fit(train, epochs=2)
```
"""

import hashlib
import json
import math
import os
import sys

import keras
import numpy as np

from keras_mlrnn.data.pipeline import DECODER
from keras_mlrnn.utils.files import write_json

VIEWS = ("image", "mirror")
#: How many RandAugment views a cache holds per image for `augment="randaugment"`.
RANDAUGMENT_VIEWS = 4
MANIFEST = "manifest.json"


def training_views(augment):
    """The cached views a training run draws from, for an augmentation name.

    Args:
        augment: an augmentation `keras_mlrnn.data.augment.check_augmentation`
            accepts: "flip" (the image and its mirror), "randaugment"
            (`RANDAUGMENT_VIEWS` RandAugment views) or None / "none" (the
            image); "mixup" and "cutmix" have no cached views (ValueError).

    Example:
    ```python
    from keras_mlrnn.training.feature_cache import training_views
    training_views("randaugment")  # ('randaugment0', 'randaugment1', 'randaugment2', ...)
    ```
    """
    from keras_mlrnn.data.augment import check_augmentation

    checked = check_augmentation(augment)
    if checked is None:
        return ("image",)
    if checked == "flip":
        return VIEWS
    if checked == "randaugment":
        return tuple(f"randaugment{k}" for k in range(RANDAUGMENT_VIEWS))
    raise ValueError(
        f"augment={augment!r} blends pixels of two images anew every step, and a feature "
        "cache holds fixed maps of single images: train on images (no cache_features), or "
        "cache with 'flip', 'randaugment' or 'none'."
    )


def _randaugment_seed(view):
    """k of a view named "randaugment<k>" (its RandAugment seed), else None."""
    number = view[len("randaugment") :]
    return int(number) if view.startswith("randaugment") and number.isdigit() else None


def _check_view(view):
    """`view` if it names a view ("image", "mirror", "randaugment<k>"), else a ValueError."""
    if view in VIEWS or _randaugment_seed(view) is not None:
        return view
    raise ValueError(f"Unknown view {view!r}; expected one of {VIEWS} or 'randaugment<k>'.")


def _view_transform(view):
    """A function uint8 batch -> uint8 batch that makes `view` from the images."""
    if view == "image":
        return lambda batch: batch
    if view == "mirror":
        return lambda batch: batch[:, :, ::-1]
    from keras_mlrnn.data.augment import batch_augmentation

    augment = batch_augmentation("randaugment", seed=_randaugment_seed(view))

    def transform(batch):
        images, _ = augment(batch.astype("float32"))
        images = np.clip(np.round(keras.ops.convert_to_numpy(images)), 0, 255)
        return images.astype("uint8")

    return transform


def _digest(items):
    digest = hashlib.sha256()
    for item in items:
        digest.update(str(item).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _split_identity(split):
    """What a split's features depend on: its files (or a digest of its in-memory images)."""
    if split.files is not None:
        stats = []
        for path in split.files.paths:
            info = os.stat(path)
            stats.append(f"{os.path.abspath(path)}:{info.st_size}:{int(info.st_mtime)}")
        return _digest([DECODER, *stats])  # the same files decoded another way are new pixels
    if split.images is not None:
        return hashlib.sha256(np.ascontiguousarray(split.images).tobytes()).hexdigest()
    return split.stream.identity


def backbone_identity(model):
    """The backbone a cache was computed with: name, image size and a digest of its weights."""
    digest = hashlib.sha256()
    for weight in model.backbone.weights:
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(weight)).tobytes())
    return {
        "backbone": model.backbone_name or model.backbone.name,
        "image_size": model.image_size,
        "feature_shape": list(model.feature_shape),
        "weights_sha256": digest.hexdigest(),
    }


class FeatureCache:
    """Backbone feature maps of data splits, on disk, for a frozen-backbone model.

    Args:
        directory: str. Where the `.npy` files and `manifest.json` go
            (created if missing; shared by every model with the same backbone).
        model: a `MultiLabelModel` whose backbone is frozen
            (`backbone_trainable=False`).
        batch_size: int. Images per backbone pass while building. Defaults to 32.
        dtype: str. Storage dtype, "float16" (half the disk and memory) or
            "float32". Defaults to "float16".
        verbose: bool. A progress bar while a view is built. Defaults to True.
    """

    def __init__(self, directory, model, batch_size=32, dtype="float16", verbose=True):
        if model.backbone_trainable:
            raise ValueError(
                "A feature cache needs a frozen backbone: build the model with "
                "backbone_trainable=False (CLI: --model-arg backbone_trainable=false). A "
                "trained backbone changes its features every step."
            )
        if dtype not in ("float16", "float32"):
            raise ValueError(f"dtype must be 'float16' or 'float32'; got {dtype!r}.")
        self.directory = directory
        self.model = model
        self.batch_size = int(batch_size)
        self.dtype = dtype
        self.verbose = verbose
        self.identity = backbone_identity(model)
        os.makedirs(directory, exist_ok=True)

    # ------------------------------------------------------------ manifest
    def _manifest(self):
        path = os.path.join(self.directory, MANIFEST)
        if not os.path.isfile(path):
            return {}
        with open(path) as f:
            return json.load(f)

    def _record(self, file_name, entry):
        manifest = self._manifest()
        manifest[file_name] = entry
        write_json(os.path.join(self.directory, MANIFEST), manifest)

    # ---------------------------------------------------------------- views
    def view(self, split, name, view="image"):
        """The feature maps `(N, h, w, D)` of one view of a split, memory-mapped (read-only).

        Computed and written on first use (with a progress bar), read from
        disk afterwards while the manifest still matches.

        Args:
            split: a `keras_mlrnn.data.splits.DataSplit`.
            name: str. The split's name in the file names ("train", "val", ...).
            view: str. "image", "mirror" (flipped left-right) or
                "randaugment<k>" (a RandAugment view, seed k).
        """
        _check_view(view)
        # One file per backbone: models with other backbones share the folder.
        file_name = f"{name}.{view}.{self.identity['weights_sha256'][:12]}.npy"
        path = os.path.join(self.directory, file_name)
        entry = {
            **self.identity,
            "split": _split_identity(split),
            "num_images": len(split.labels),
            "view": view,
            "dtype": self.dtype,
        }
        if not (os.path.isfile(path) and self._manifest().get(file_name) == entry):
            self._build(split, path, view, f"{name} ({view})")
            self._record(file_name, entry)
        return np.load(path, mmap_mode="r")

    def _build(self, split, path, view, title):
        count = len(split.labels)
        partial = path + ".partial"
        out = np.lib.format.open_memmap(
            partial, mode="w+", dtype=self.dtype, shape=(count, *self.model.feature_shape)
        )
        # A live bar on a terminal; in a log, one line when the view is done.
        bar = None
        if self.verbose:
            bar = keras.utils.Progbar(
                count, unit_name="image", verbose=1 if sys.stdout.isatty() else 2
            )
        if bar is not None:
            print(f"Backbone features of {title}: {count} images -> {path}")
        row = 0
        transform = _view_transform(view)
        for batch in _image_batches(split, self.model.image_size, self.batch_size):
            batch = transform(batch)
            features = self.model.predict_with("image_features", batch, batch_size=len(batch))
            out[row : row + len(batch)] = features.astype(self.dtype)
            row += len(batch)
            if bar is not None:
                bar.update(row)
        if row != count:
            raise RuntimeError(f"{title}: the pipeline gave {row} images, expected {count}.")
        out.flush()
        del out
        os.replace(partial, path)

    def batches(self, split, name, batch_size=32, shuffle=False, seed=None, views=None):
        """`CachedFeatureBatches` of a split: `(features, labels)` for fit / evaluate / predict.

        Args:
            split: `DataSplit`, or a tuple of them (read one after another,
                e.g. train then val to train on both).
            name: str, the split's name in the file names; a tuple of names
                for a tuple of splits.
            batch_size: int. Defaults to 32.
            shuffle: bool. Reshuffle every epoch (training). Defaults to False.
            seed: int or None. Seed of the order and of the view draws.
            views: tuple of views to draw from, one per sample and epoch
                (e.g. `training_views("randaugment")`). Defaults to `VIEWS`
                (image and mirror) when shuffling, else ("image",).
        """
        views = views or (VIEWS if shuffle else ("image",))
        parts = tuple(zip(split, name)) if isinstance(split, tuple) else ((split, name),)
        arrays = [[self.view(s, n, v) for s, n in parts] for v in views]
        if len(parts) > 1:  # read into memory once: (N1 + N2, h, w, D) per view
            arrays = [np.concatenate(a) for a in arrays]
        else:
            arrays = [a[0] for a in arrays]
        labels = np.concatenate([s.labels for s, _ in parts])
        return CachedFeatureBatches(arrays, labels, batch_size, shuffle, seed)


def _image_batches(split, image_size, batch_size):
    """uint8 image batches of a split in order (no augmentation), as numpy arrays."""
    if split.images is not None:
        for start in range(0, len(split.images), batch_size):
            yield split.images[start : start + batch_size]
        return
    for images, _ in split.dataset(image_size, batch_size).as_numpy_iterator():
        yield images


class CachedFeatureBatches(keras.utils.PyDataset):
    """Batches `(features, labels)` from cached views; each sample draws one view per epoch.

    Args:
        views: list of arrays `(N, h, w, D)` (memory-mapped), the same images
            seen differently (e.g. the image and its mirror).
        labels: float32 `(N, C)` or None (inference: features only).
        batch_size: int. Defaults to 32.
        shuffle: bool. Reshuffle every epoch. Defaults to False.
        seed: int or None. Seed of the order and of the view draws.
    """

    def __init__(self, views, labels=None, batch_size=32, shuffle=False, seed=None):
        super().__init__()
        if not views or any(len(v) != len(views[0]) for v in views):
            raise ValueError("CachedFeatureBatches needs views of one length.")
        if labels is not None and len(labels) != len(views[0]):
            raise ValueError(f"{len(labels)} labels for {len(views[0])} cached feature maps.")
        self.views = views
        self.labels = None if labels is None else np.asarray(labels, dtype=np.float32)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(len(views[0]))
        self.choice = np.zeros(len(views[0]), dtype=np.int64)
        self.on_epoch_end()

    def __len__(self):
        return math.ceil(len(self.order) / self.batch_size)

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        features = np.empty((len(rows), *self.views[0].shape[1:]), dtype=self.views[0].dtype)
        for v, view in enumerate(self.views):
            picked = self.choice[rows] == v
            if picked.any():
                chosen = rows[picked]
                order = np.argsort(chosen)  # memory maps read fastest in order
                features[np.flatnonzero(picked)[order]] = view[chosen[order]]
        return features if self.labels is None else (features, self.labels[rows])

    def on_epoch_end(self):
        if self.shuffle:
            self.order = self.rng.permutation(len(self.order))
        if len(self.views) > 1:
            self.choice = self.rng.integers(0, len(self.views), size=len(self.order))
