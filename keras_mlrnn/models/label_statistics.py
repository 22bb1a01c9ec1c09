"""What a model reads from its training labels before `fit`, and tunes on val after it."""

import numpy as np


class LabelStatisticsMixin:
    """`MultiLabelModel`'s label statistics: `adapt`, the heads' prior start, `tune`."""

    def adapt(self, labels):
        """Reads statistics of the training labels `(N, C)` before `fit`.

        The base class needs none; methods that do (CNNRNN's label order and
        path length) override it. `keras_mlrnn.training.runs.train` always calls it.
        """
        del labels

    def needs_label_statistics(self):
        """Whether `fit` needs `adapt(train_labels)` first (the base class: never)."""
        return False

    #: Attribute names of the `Dense` layers whose outputs are per-class
    #: sigmoid logits scored once per image (the label probabilities);
    #: `initialize_heads` starts them at the label prior (kernel 0, prior
    #: bias). Each method declares its own.
    prior_heads = ()

    #: The per-class sigmoid step classifiers read at every recurrent step:
    #: `initialize_heads` sets only their bias to the prior and keeps Keras'
    #: kernel, so the steps still differ (with a zero kernel every step would
    #: start with the same scores: VOC 2007 -1.30 / -0.87 mAP for
    #: CoarseToFineRNN / MultiOrderRNN, `benchmarks/RESULTS.md`).
    prior_bias_heads = ()

    def initialize_heads(self, labels):
        """Starts each per-class sigmoid head at the training labels' prior, before `fit`.

        For every layer named in `prior_heads`: kernel zeros, bias
        `log(p / (1 - p))` with `p = (n_c + 0.5) / (N + 1)` the smoothed
        frequency of class c; for every layer in `prior_bias_heads`, that
        bias only. The first step then predicts each class's
        frequency instead of a random projection of the features that the
        few steps of a small data set never unlearn (on coco128's frozen
        features: +7 to +9 test mAP for BinaryRelevance, `benchmarks/RESULTS.md`).
        `keras_mlrnn.training.runs.train` calls it on a new run (`head_init="prior"`).

        Args:
            labels: array `(N, C)` multi-hot training targets.

        Example:
        ```python
        import numpy as np
        import keras_mlrnn as km
        model = km.BinaryRelevance(num_classes=3, backbone="tiny", image_size=32)
        model.initialize_heads(np.array([[1, 0, 0], [1, 1, 0]]))
        model.predict(np.zeros((1, 32, 32, 3), "uint8"), verbose=0)  # [[0.83, 0.5, 0.17]]
        ```
        """
        labels = self._training_labels(labels)
        prior = (labels.sum(axis=0) + 0.5) / (len(labels) + 1.0)
        bias = np.log(prior / (1.0 - prior))
        self.build()
        for name in self.prior_heads:
            head = getattr(self, name)
            head.kernel.assign(np.zeros(head.kernel.shape, "float32"))
            head.bias.assign(bias.astype("float32"))
        for name in self.prior_bias_heads:
            getattr(self, name).bias.assign(bias.astype("float32"))

    def _training_labels(self, labels):
        """`labels` as a float64 `(N, C)` array, or a ValueError naming the expected shape."""
        labels = np.asarray(labels, dtype=np.float64)
        if labels.ndim != 2 or labels.shape[1] != self.num_classes:
            raise ValueError(
                f"adapt expects labels of shape (N, {self.num_classes}); got {labels.shape}."
            )
        return labels

    def tune(self, images, labels):
        """Tunes decision parameters on validation data after `fit`; returns what it tried.

        The base class has nothing to tune (returns None); OrderFreeRNN tunes
        its stop threshold. `keras_mlrnn.training.runs.train` always calls it.
        """
        del images, labels
