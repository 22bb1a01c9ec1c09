"""What a model reads from its training labels before `fit`, and tunes on val after it."""

import numpy as np


class LabelStatisticsMixin:
    """`MultiLabelModel`'s label statistics: `adapt`, the heads that start at the prior, `tune`."""

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
    #: `keras_mlrnn.training.head_init.initialize_heads` starts them at the
    #: label prior (kernel 0, prior bias). Each method declares its own.
    prior_heads = ()

    #: The per-class sigmoid step classifiers read at every recurrent step:
    #: `initialize_heads` sets only their bias to the prior and keeps Keras'
    #: kernel, so the steps still differ (with a zero kernel every step would
    #: start with the same scores: VOC 2007 -1.30 / -0.87 mAP for
    #: CoarseToFineRNN / MultiOrderRNN, `benchmarks/RESULTS.md`).
    prior_bias_heads = ()

    def training_labels(self, labels):
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
