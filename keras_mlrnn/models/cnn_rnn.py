"""`CNNRNN` (Wang et al., CVPR 2016): label embedding, LSTM, beam search."""

import keras
import numpy as np
from keras import layers, ops

from keras_mlrnn.layers import LabelEmbedding
from keras_mlrnn.layers.beam_search import (
    beam_search,
    describe_beam_search,
    path_to_multi_hot,
    tile_beams,
)
from keras_mlrnn.models.base import MultiLabelModel, config_fields
from keras_mlrnn.models.decision import top_k_mask
from keras_mlrnn.models.tensor_helpers import weighted_batch_mean

LABEL_ORDERS = ("frequency_first", "rare_first", "alphabetical")


def label_rank(order, num_classes, frequencies=None, class_names=None):
    """Position of every class in a training sequence order, `(C,)` int.

    Args:
        order: str. "frequency_first" (most frequent first, the paper's),
            "rare_first", or "alphabetical" (by class name; by index if no names).
        num_classes: int.
        frequencies: sequence of C floats (training label frequencies), needed
            by the frequency orders.
        class_names: sequence of C str or None.

    Ties keep the lower class index first.
    """
    if order not in LABEL_ORDERS:
        raise ValueError(f"Unknown label_order {order!r}; expected one of {LABEL_ORDERS}.")
    index = np.arange(num_classes)
    if order == "alphabetical":
        keys = list(class_names) if class_names is not None else list(index)
        sequence = sorted(index, key=lambda c: (keys[c], c))
    else:
        if frequencies is None:
            raise ValueError(
                f"label_order={order!r} needs the training label frequencies: call "
                "model.adapt(train_labels) before fit, or pass label_frequencies=."
            )
        freq = np.asarray(frequencies, dtype=np.float64)
        sign = -1.0 if order == "frequency_first" else 1.0
        sequence = np.lexsort((index, sign * freq))
    rank = np.empty(num_classes, dtype=np.int32)
    rank[np.asarray(sequence)] = index
    return rank


@keras.saving.register_keras_serializable(package="keras_mlrnn")
class CNNRNN(MultiLabelModel):
    """CNN image embedding + LSTM over label embeddings, decoded by beam search.

    Labels live in a joint embedding space `U_l` (one row per label, plus
    END and START). At step t the LSTM reads the previous label's embedding;
    its output `o(t)` and the pooled image features `I` are projected into
    the label space, `x_t = relu(U_o o(t) + U_I I)`, and the scores over the
    C labels and END are `s(t) = U_l x_t` (weights tied with the embedding),
    softmax-normalised. Training feeds the ground-truth label sequence
    (teacher forcing) in a fixed order (`label_order`) with softmax
    cross-entropy at each step, END after the last label, padded steps
    masked; the loss is the mean over an image's steps. Inference runs beam
    search on device (`keras_mlrnn.layers.beam_search`).

    `call()` scores: for each class, the largest softmax probability that any
    step of the best beam path gave it, so every class ranks (mAP).
    `predict_sets()`: the labels of the best path (optionally only its
    `top_k` best-scoring ones).

    Decisions: the paper's LSTM used ReLU; the activation is an argument,
    default tanh (stable without gradient clipping). The paper used VGG16
    fc7 with a frozen CNN; any backbone's pooled feature map is used here
    and `backbone_trainable` decides.

    Args:
        num_classes: int. Number of labels C.
        embedding_dim: int. Label-embedding size. Defaults to 64 (paper).
        lstm_units: int. Defaults to 512 (paper).
        lstm_activation: str. Defaults to "tanh".
        dropout: float. Dropout on the projections. Defaults to 0.5.
        label_order: str. "frequency_first" (default), "rare_first",
            "alphabetical".
        label_frequencies: list of C floats or None. Training label
            frequencies (set by `adapt`).
        beam_size: int. Defaults to 3.
        max_length: int or None. Most labels per path; None until `adapt`
            sets the largest label count seen in training (C meanwhile).
        min_length: int. Fewest labels before END. Defaults to 0.
        top_k: int or None. Keep at most the k best-scoring labels of the
            path in `predict_sets`. Defaults to None.
        **kwargs: `MultiLabelModel` arguments (`backbone`, `image_size`, ...).

    Example:
    ```python
    import keras_mlrnn as km
    from keras_mlrnn.data import load_scenes
    x, y = load_scenes("train", num_images=64)
    model = km.CNNRNN(num_classes=20, backbone="tiny", image_size=64, lstm_units=64)
    model.adapt(y)                      # label order and max_length from the training labels
    model.compile(optimizer="adam")
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    model.predict_sets(x[:2])           # beam-search label sets
    ```

    Reference: Wang et al., "CNN-RNN: A Unified Framework for Multi-label
    Image Classification", CVPR 2016.
    """

    cli_name = "cnn-rnn"
    ablations = ({"label_order": "rare_first"}, {"label_order": "alphabetical"})

    uses_beam_search = True

    # The paper's setting (`from_preset("coco_paper")` and the other data sets).
    paper_config = {
        "backbone": "vgg16",
        "image_size": 224,
        "backbone_trainable": False,  # VGG16 fc7 features, CNN frozen
        "embedding_dim": 64,
        "lstm_units": 512,
        "beam_size": 3,
        "label_order": "frequency_first",
    }
    dataset_overrides = {"nuswide": {"min_length": 3}}  # "at least k labels" on NUS-WIDE

    config_fields = config_fields(
        "embedding_dim",
        "lstm_units",
        "lstm_activation",
        "label_order",
        "label_frequencies",
        "beam_size",
        "max_length",
        "min_length",
        "top_k",
        dropout="dropout_rate",
    )

    def __init__(
        self,
        num_classes,
        embedding_dim=64,
        lstm_units=512,
        lstm_activation="tanh",
        dropout=0.5,
        label_order="frequency_first",
        label_frequencies=None,
        beam_size=3,
        max_length=None,
        min_length=0,
        top_k=None,
        **kwargs,
    ):
        super().__init__(num_classes, **kwargs)
        if label_order not in LABEL_ORDERS:
            raise ValueError(
                f"Unknown label_order {label_order!r}; expected one of {LABEL_ORDERS}."
            )
        if label_frequencies is not None and len(label_frequencies) != self.num_classes:
            raise ValueError(
                f"label_frequencies has {len(label_frequencies)} values for {num_classes} classes."
            )
        self.embedding_dim = int(embedding_dim)
        self.lstm_units = int(lstm_units)
        self.lstm_activation = lstm_activation
        self.dropout_rate = float(dropout)
        self.label_order = label_order
        self.label_frequencies = (
            None if label_frequencies is None else [float(f) for f in label_frequencies]
        )
        self.beam_size = int(beam_size)
        self.max_length = None if max_length is None else int(max_length)
        self.min_length = int(min_length)
        self.top_k = None if top_k is None else int(top_k)
        policy = self.dtype_policy
        self.pool = layers.GlobalAveragePooling2D(dtype=policy, name="pool")
        # Rows 0..C-1: labels, C: END, C+1: START (input only).
        self.label_embedding = LabelEmbedding(
            num_classes + 2, self.embedding_dim, dtype=policy, name="label_embedding"
        )
        self.cell = layers.LSTMCell(
            self.lstm_units, activation=lstm_activation, dtype=policy, name="lstm"
        )
        self.recurrent_projection = layers.Dense(
            self.embedding_dim, dtype=policy, name="recurrent_projection"
        )
        self.image_projection = layers.Dense(
            self.embedding_dim, dtype=policy, name="image_projection"
        )
        self.dropout = layers.Dropout(self.dropout_rate, dtype=policy, name="dropout")

    @property
    def end_token(self):
        return self.num_classes

    @property
    def start_token(self):
        return self.num_classes + 1

    @property
    def decode_length(self):
        """Most labels in a decoded path (`max_length`, or C before `adapt`)."""
        return self.max_length if self.max_length is not None else self.num_classes

    def adapt(self, labels):
        """Reads the training labels: frequencies (label order) and `max_length`.

        Args:
            labels: array `(N, C)` multi-hot training targets.
        """
        labels = self.training_labels(labels)
        self.label_frequencies = labels.mean(axis=0).tolist()
        self.max_length = max(int(labels.sum(axis=1).max()), 1)
        self._reset_compiled()  # traced functions captured the old order and length

    def needs_label_statistics(self):
        """True until `adapt`: the path length, and the frequencies its label order ranks by."""
        needs_frequencies = self.label_order != "alphabetical" and self.label_frequencies is None
        return self.max_length is None or needs_frequencies

    def fit(self, x=None, y=None, *args, **kwargs):
        if y is None:  # a dataset: fail before any step if the order cannot be computed
            label_rank(self.label_order, self.num_classes, self.label_frequencies, self.class_names)
        return super().fit(x, y, *args, **kwargs)

    # --------------------------------------------------------------- steps
    def _step(self, tokens, h, c, image_embedding, training):
        output, (h, c) = self.cell(self.label_embedding(tokens), [h, c], training=training)
        joint = ops.relu(self.recurrent_projection(output) + image_embedding)
        joint = self.dropout(joint, training=training)
        # Scores tied with the label embedding (labels and END).
        table = ops.cast(self.label_embedding.embeddings[: self.num_classes + 1], joint.dtype)
        logits = ops.matmul(joint, ops.transpose(table))
        return ops.cast(logits, "float32"), h, c

    def _sequences(self, targets):
        """Teacher-forcing inputs, targets and mask `(B, L+1)` from multi-hot targets."""
        L = self.decode_length
        frequencies = self.label_frequencies
        if frequencies is None:
            frequencies = [0.0] * self.num_classes  # index order until adapt()
        rank = label_rank(self.label_order, self.num_classes, frequencies, self.class_names)
        rank = ops.convert_to_tensor(rank)
        positive = ops.cast(targets, "float32") > 0.5
        keys = ops.where(positive, rank, rank + self.num_classes)
        ordered = ops.cast(ops.argsort(keys, axis=-1)[:, :L], "int32")  # positives first
        count = ops.sum(ops.cast(positive, "int32"), axis=-1, keepdims=True)  # (B, 1)
        batch = ops.shape(targets)[0]
        end = ops.full((batch, 1), self.end_token, dtype="int32")
        padded = ops.concatenate([ordered, end], axis=1)  # (B, L+1)
        t = ops.arange(L + 1)[None, :]
        step_targets = ops.where(t < count, padded, self.end_token)
        # Truncated paths (more than L labels) get no END target.
        mask = ops.logical_and(t <= count, ops.logical_or(t < L, count <= L))
        start = ops.full((batch, 1), self.start_token, dtype="int32")
        step_inputs = ops.concatenate([start, padded[:, :L]], axis=1)
        return step_inputs, step_targets, ops.cast(mask, "float32")

    # ------------------------------------------------------------- forward
    @property
    def num_steps(self):
        return self.decode_length

    def compute_outputs(self, images, targets=None, training=False):
        pooled = self.pool(self.image_features(images, training=training))
        image_embedding = self.image_projection(self.dropout(pooled, training=training))
        if targets is None:
            return self._decode(image_embedding, training)
        step_inputs, step_targets, mask = self._sequences(targets)
        batch = ops.shape(images)[0]
        h = ops.zeros((batch, self.lstm_units), dtype=self.compute_dtype)
        c = ops.zeros((batch, self.lstm_units), dtype=self.compute_dtype)
        step_logits = []
        for t in range(self.decode_length + 1):
            logits, h, c = self._step(step_inputs[:, t], h, c, image_embedding, training)
            step_logits.append(logits)
        step_logits = ops.stack(step_logits, axis=1)  # (B, L+1, C+1)
        probs = ops.softmax(step_logits, axis=-1)[..., : self.num_classes]
        scores = ops.max(probs * mask[..., None], axis=1)
        return {
            "scores": scores,
            "step_logits": step_logits,
            "step_targets": step_targets,
            "mask": mask,
        }

    def _decode(self, image_embedding, training=False):
        batch = ops.shape(image_embedding)[0]
        zeros = ops.zeros((batch, self.lstm_units), dtype=self.compute_dtype)

        # The same for all beams of an image: tiled once, not reordered each step.
        image_beams = tile_beams(image_embedding, self.beam_size)

        def step_fn(tokens, state, step):
            logits, h, c = self._step(tokens, state["h"], state["c"], image_beams, training)
            return ops.log_softmax(logits, axis=-1), {"h": h, "c": c}

        best = beam_search(
            step_fn,
            {"h": zeros, "c": zeros},
            num_tokens=self.num_classes + 1,
            end_token=self.end_token,
            start_token=self.start_token,
            beam_size=self.beam_size,
            max_length=self.decode_length,
            min_length=self.min_length,
        )
        scores = best["max_probs"][:, : self.num_classes]
        return {"scores": scores, "tokens": best["tokens"], "length": best["length"]}

    def compute_method_loss(self, y_true, outputs, sample_weight=None):
        ce = keras.losses.sparse_categorical_crossentropy(
            outputs["step_targets"], outputs["step_logits"], from_logits=True
        )  # (B, L+1)
        mask = outputs["mask"]
        per_image = ops.sum(ce * mask, axis=1) / ops.maximum(ops.sum(mask, axis=1), 1.0)
        return weighted_batch_mean(per_image, sample_weight)

    def decide(self, outputs):
        """The best path's labels; with `top_k`, only its k best-scoring ones."""
        sets = path_to_multi_hot(outputs["tokens"], outputs["length"], self.num_classes)
        if self.top_k is not None:
            sets = sets * ops.cast(top_k_mask(outputs["scores"] * sets, self.top_k), "float32")
        return sets

    def describe_decision(self):
        ending = "a path ends with the end token"
        if self.top_k is not None:
            ending += f"; of its labels the {self.top_k} best-scoring are kept"
        return describe_beam_search(self.beam_size, self.decode_length, ending)
