"""`LabeledFiles`: image files with multi-hot labels, the common result of every loader."""

import dataclasses
import os

import numpy as np


@dataclasses.dataclass
class LabeledFiles:
    """Image paths with multi-hot labels and class names (the output of every loader).

    Attributes:
        paths: list of str, one image file per row.
        labels: float32 `(N, C)` multi-hot.
        class_names: list of C str.
        mask: float32 `(N, C)` or None. 0 marks labels to ignore in
            evaluation (VOC's "difficult"-only objects).
        source: str. Where the data came from, for error messages.
    """

    paths: list
    labels: np.ndarray
    class_names: list
    mask: np.ndarray = None
    source: str = ""

    def __post_init__(self):
        self.labels = np.asarray(self.labels, dtype=np.float32)
        if len(self.paths) == 0:
            raise ValueError(f"{self.source}: the split is empty (0 images).")
        if self.labels.shape != (len(self.paths), len(self.class_names)):
            raise ValueError(
                f"{self.source}: labels have shape {self.labels.shape}, expected "
                f"({len(self.paths)}, {len(self.class_names)})."
            )
        if self.mask is not None:
            self.mask = np.asarray(self.mask, dtype=np.float32)

    def __len__(self):
        return len(self.paths)

    def check_files(self):
        """Raises `FileNotFoundError` naming how many images are missing and the first few."""
        missing = [p for p in self.paths if not os.path.isfile(p)]
        if missing:
            shown = ", ".join(missing[:5])
            raise FileNotFoundError(
                f"{self.source}: {len(missing)} of {len(self.paths)} image files are missing, "
                f"e.g. {shown}"
            )
        return self

    def check_images(self, limit=5, decode_up_to=500):
        """Raises `ValueError` naming the image files that cannot be read.

        A file in a format the training pipeline cannot decode (TIFF) is
        named first. A split of at most `decode_up_to` files is decoded in
        full with Pillow; a larger one gets the cheap check of
        `keras_mlrnn.data.images.header_problem` (header, PNG checksums, the JPEG
        end marker: about 0.5 ms a file). `keras_mlrnn.training.runs.train` checks
        every split this way before training.
        """
        from keras_mlrnn.data.images import header_problem, pipeline_format_problem

        if len(self.paths) <= decode_up_to:  # Pillow decodes a TIFF that tf.data cannot
            bad = self._first_problems(pipeline_format_problem, limit)
            bad = bad or self.find_unreadable(limit)
        else:  # one header read a file, the format among its checks
            bad = self._first_problems(header_problem, limit)
        if bad:
            listed = "; ".join(f"{path}: {reason}" for path, reason in bad)
            raise ValueError(
                f"{self.source}: unreadable image files (first {len(bad)}): {listed}. "
                "Remove or replace them (found before training; nothing was trained)."
            )
        return self

    def find_unreadable(self, limit=5):
        """Decodes every file with Pillow; returns up to `limit` `(path, reason)` that fail.

        Slow on large sets (a full decode per image): `keras_mlrnn.training.runs.train`
        calls it only after the input pipeline failed, to name the files.
        """
        from keras_mlrnn.data.images import read_image

        def decode_problem(path):
            try:
                read_image(path)
            except (OSError, ValueError) as e:
                return str(e)
            return None

        return self._first_problems(decode_problem, limit)

    def _first_problems(self, problem, limit):
        """Up to `limit` `(path, reason)` for which `problem(path)` returns a reason."""
        bad = []
        for path in self.paths:
            reason = problem(path)
            if reason:
                bad.append((path, reason))
                if len(bad) >= limit:
                    break
        return bad

    def dataset(
        self, image_size=224, batch_size=32, shuffle=False, augment=False, seed=None, cache=None
    ):
        """A tf.data pipeline of `(uint8 images, float32 labels)` over these files.

        `augment=True` applies random flips and random resized crops.
        """
        from keras_mlrnn.data.pipeline import tf_files_dataset

        return tf_files_dataset(
            self.paths,
            self.labels,
            image_size,
            batch_size,
            shuffle,
            augment,
            seed,
            cache=cache,
            random_resized_crop=augment,
        )


def label_statistics(labels, class_names=None, top_pairs=10):
    """Counts, frequencies, cardinality and the most co-occurring pairs of a label matrix.

    Args:
        labels: `(N, C)` multi-hot.
        class_names: list of C str or None.
        top_pairs: int. How many pairs to list. Defaults to 10.

    Returns:
        dict with `num_images`, `num_classes`, `frequencies` (list),
        `label_cardinality` (mean labels per image), `max_labels`,
        `images_without_labels`, `cooccurrence` (C x C counts, nested list) and
        `top_pairs` (list of (name_a, name_b, count)).
    """
    labels = np.asarray(labels, dtype=np.float64)
    names = class_names or [str(c) for c in range(labels.shape[1])]
    counts = labels.sum(axis=1)
    co = labels.T @ labels
    upper = np.triu(co, k=1)
    order = np.argsort(-upper, axis=None)[:top_pairs]
    pairs = [
        (names[i], names[j], int(upper[i, j]))
        for i, j in zip(*np.unravel_index(order, upper.shape))
        if upper[i, j] > 0
    ]
    return {
        "num_images": int(labels.shape[0]),
        "num_classes": int(labels.shape[1]),
        "frequencies": labels.mean(axis=0).tolist(),
        "label_cardinality": float(counts.mean()),
        "max_labels": int(counts.max()),
        "images_without_labels": int((counts == 0).sum()),
        "cooccurrence": co.astype(int).tolist(),
        "top_pairs": pairs,
    }
