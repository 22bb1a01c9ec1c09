"""`fit`, `evaluate` and `predict` with inputs checked; targets packed for teacher forcing."""

import contextlib
import inspect

import keras

from keras_mlrnn.data import checks


class CheckedInputsMixin:
    """`MultiLabelModel`'s Keras entry points, labels and images checked (`data.checks`)."""

    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        """`keras.Model.fit`, with the inputs checked and label statistics adapted.

        Labels must lie in [0, 1] (no NaN) and images in [0, 255], on every
        input path (arrays, `tf.data`, `PyDataset`, generators; see
        `keras_mlrnn.data.checks`): a violation is a `ValueError` naming
        it. A method that reads statistics of the training labels (CNNRNN's
        label order and path length, OrderFreeRNN's path length) and has not
        been adapted calls `adapt(y)` first when the labels are an array,
        and says so; with a dataset (labels not in memory) it still needs
        `model.adapt(train_labels)` by hand.
        """
        name = f"{type(self).__name__}.fit"
        if checks.is_tf_dataset(x) or inspect.isgenerator(x):
            # These shuffle themselves; Keras would warn that its default
            # shuffle=True is ignored.
            kwargs.setdefault("shuffle", False)
        x, y = self._checked(x, y, name)
        if isinstance(validation_data, tuple):  # (x, y) or (x, y, sample_weight)
            checked = self._checked(*validation_data[:2], f"{name} validation_data")
            validation_data = (*checked, *validation_data[2:])
        elif validation_data is not None:
            validation_data = self._checked(validation_data, None, f"{name} validation_data")[0]
        if y is not None and self.needs_label_statistics():
            labels = keras.ops.convert_to_numpy(y)
            print(
                f"{type(self).__name__}: adapting to the {len(labels)} training labels given "
                "to fit (model.adapt(labels) before fit sets them yourself)."
            )
            self.adapt(labels)
        with self._clean_input_errors():
            return super().fit(x, y, *args, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.evaluate`, with labels and images checked as in `fit`."""
        x, y = self._checked(x, y, f"{type(self).__name__}.evaluate")
        with self._clean_input_errors():
            return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        """`keras.Model.predict`, with image ranges checked as in `fit`."""
        x, _ = self._checked(x, None, f"{type(self).__name__}.predict")
        with self._clean_input_errors():
            return super().predict(x, *args, **kwargs)

    def _checked(self, x, y, where):
        shape = (self.image_size, self.image_size, 3)
        return checks.checked_input(x, y, where, shape)

    @contextlib.contextmanager
    def _clean_input_errors(self):
        try:
            yield
        except Exception as error:  # a failed tf.data assertion of data.checks
            checks.raise_clean_error(error)
            raise

    def _pack_targets(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if y is None or isinstance(x, dict):
            return data
        self._check_labels(y)
        return keras.utils.pack_x_y_sample_weight({"images": x, "targets": y}, y, sample_weight)

    def _check_labels(self, y):
        """A ValueError naming the expected shape unless `y` is `(batch, num_classes)`."""
        if len(y.shape) != 2 or y.shape[-1] not in (None, self.num_classes):
            raise ValueError(
                f"{type(self).__name__} has num_classes={self.num_classes}, but the labels have "
                f"shape {tuple(y.shape)}; expected (batch, {self.num_classes})."
            )
