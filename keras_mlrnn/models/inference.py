"""The inference API every method shares: sets, scores and sets, labels by name, explanations."""

import os

import numpy as np

from keras_mlrnn.models.batched_method import BatchedMethod


class InferenceMixin:
    """`MultiLabelModel`'s predictions beyond `predict`, each run batch by batch like `predict`."""

    #: Whether the method implements `explain_batch(images)` (`explain`):
    #: what each recurrent step picked, and where it looked if it attends
    #: to places (`keras_mlrnn.visualization.visualize` draws it).
    can_explain = False

    def explain(self, x, batch_size=None):
        """What each step picked and where it looked, as numpy: one accessor for every method.

        Args:
            x: uint8 images `(N, S, S, 3)` or a dataset of them.
            batch_size: int or None. As in `predict`.

        Returns:
            dict: "labels" `(N, T)` int32 (the label step t points at; -1
            for a step that picks none), "scores" `(N, T)` (its
            probability), "step_scores" `(N, T, C)` (the step's scores over
            the labels) and, for a method that attends to places,
            "attention" `(N, T, h, w)` maps or "boxes" `(N, T, 4)` pixels.
        """
        if not self.can_explain:
            raise ValueError(f"{type(self).__name__} has no recurrent steps to explain.")
        return self.predict_with("explain_batch", x, batch_size=batch_size)

    def explain_batch(self, images):
        """`explain` for one batch of images, as tensors (a method with `can_explain`)."""
        raise NotImplementedError(f"{type(self).__name__} has no recurrent steps to explain.")

    # ------------------------------------------------------------ inference
    def predict_sets(self, x, batch_size=None, verbose=0, **kwargs):
        """The method's multi-hot decision for images, compiled like `predict`.

        Args:
            x: uint8 images `(N, S, S, 3)`, or a dataset yielding images or
                `(images, labels)` batches.
            batch_size: int or None. As in `keras.Model.predict`.
            verbose: progress bar mode. Defaults to 0.

        Returns:
            float32 numpy array `(N, C)` in {0, 1}.
        """
        sets = self.predict_with("decode_sets", x, batch_size, verbose, **kwargs)
        return np.asarray(sets, dtype=np.float32)

    def predict_scores_and_sets(self, x, batch_size=None, verbose=0, **kwargs):
        """`(scores, sets)` numpy `(N, C)` from one pass: `predict` and `predict_sets` together.

        Args:
            x: as for `predict_sets`.
            batch_size: int or None. As in `keras.Model.predict`.
            verbose: progress bar mode. Defaults to 0.
        """
        out = self.predict_with("scores_and_sets", x, batch_size, verbose, **kwargs)
        return np.asarray(out["scores"], np.float32), np.asarray(out["sets"], np.float32)

    def predict_labels(self, x, batch_size=None, top=None):
        """The predicted label set of each image by name, most confident first.

        Args:
            x: uint8 images `(N, S, S, 3)`, one image `(S, S, 3)`, image
                file paths (one str or a list: read and resized to the
                model's size with `keras_mlrnn.data.images.read_images`), or a
                dataset of images.
            batch_size: int or None.
            top: int or None. Instead of the method's decision
                (`predict_sets`), the `top` highest-scoring classes.

        Returns:
            list of N lists of `(class_name, score)`; unnamed classes are
            called "class_<i>".
        """
        if isinstance(x, (str, os.PathLike)):
            x = [x]
        if isinstance(x, (list, tuple)) and all(isinstance(p, (str, os.PathLike)) for p in x):
            from keras_mlrnn.data.images import read_images

            x = read_images([os.fspath(p) for p in x], self.image_size)
        elif isinstance(x, np.ndarray) and x.ndim == 3:
            x = x[None]  # one image
        scores = self.predict(x, batch_size=batch_size, verbose=0)
        if top is None:
            sets = self.predict_sets(x, batch_size=batch_size)
        else:
            sets = np.zeros_like(scores)
            np.put_along_axis(sets, np.argsort(-scores, axis=1)[:, :top], 1.0, axis=1)
        names = self.class_names or [f"class_{i}" for i in range(self.num_classes)]
        result = []
        for row_scores, row_set in zip(scores, sets):
            chosen = sorted(np.flatnonzero(row_set), key=lambda i: -row_scores[i])
            result.append([(names[i], float(row_scores[i])) for i in chosen])
        return result

    def predict_with(self, method, x, batch_size=None, verbose=0, **kwargs):
        """Runs `self.<method>(images)` over `x` batch by batch, compiled like `predict`.

        Args:
            method: str. Name of a method taking an image batch and returning
                a tensor (or a structure of tensors).
            x: images or a dataset, as for `keras.Model.predict`.
            batch_size: int or None.
            verbose: progress bar mode. Defaults to 0.

        Returns:
            numpy array(s), the batches' results concatenated.
        """
        x, _ = self._checked(x, None, f"{type(self).__name__}.{method}")
        runners = self._batched.value
        if method not in runners:
            runners[method] = BatchedMethod(self, method)
        with self._clean_input_errors():
            return runners[method].predict(x, batch_size=batch_size, verbose=verbose, **kwargs)
