"""`CoarseToFineRNN` (Lyu et al., 2018): global/local attention, joint max-margin."""

import keras
from keras import layers, ops

from keras_mlrnn.layers import LabelEmbedding, SoftAttention
from keras_mlrnn.losses import JointMaxMargin
from keras_mlrnn.losses.asymmetric import check_classification_loss, per_image_loss
from keras_mlrnn.models.base import MultiLabelModel, config_fields
from keras_mlrnn.models.decision import decide_sets, describe_threshold_rule
from keras_mlrnn.models.tensor_helpers import first_argmax, weighted_batch_mean


@keras.saving.register_keras_serializable(package="keras_mlrnn")
class CoarseToFineRNN(MultiLabelModel):
    """A global glance initialises the LSTM; local attention picks a region per step.

    Global attention over the backbone's regions `a_1..a_N`:
    `alpha^_i = softmax_i(tanh(W_g a_i + b_g))`, `z^ = sum_i alpha^_i a_i`, and
    `h_0 = Dense(z^ / N)`, `c_0 = Dense(z^ / N)` (eqs. 1-3). At step t a
    `SoftAttention` queried by `h_{t-1}` gives `z_t` (eqs. 4-5); the LSTM
    reads `concat(embedding(previous label), z_t)` (eqs. 6-11) and emits
    per-step logits. Final scores: the step-wise max of the sigmoids.

    Loss (eq. 17): BCE on the max-pooled probabilities plus `JointMaxMargin`
    (horizontal on the pooled scores, vertical per step) at the paper's
    weights 5e-2 each. `predict_sets`: pooled scores >= `threshold`.

    Decisions where the paper is silent: the "previous label" fed to the
    LSTM is the previous step's most confident label (a START embedding at
    step 1), in training and inference alike, as in Multi-order RNN; the
    number of steps is an argument (default 5); `fc7` features are not
    used (any backbone's feature map works).

    Args:
        num_classes: int. Number of labels C.
        steps: int. LSTM steps T. Defaults to 5.
        attention_units: int. Local attention MLP width. Defaults to 256.
        lstm_units: int. Defaults to 512.
        embedding_dim: int. Label-embedding size. Defaults to 256.
        threshold: float. Decision threshold. Defaults to 0.5.
        margin: float. Horizontal margin. Defaults to 0.1.
        vertical_margin: float. Vertical margin. Defaults to 0.1.
        horizontal_weight: float. lambda_1. Defaults to 5e-2 (paper); 0
            removes the term (the "w/o max-margin" ablation).
        vertical_weight: float. lambda_2. Defaults to 5e-2 (paper).
        classification_loss: str. The per-class loss on the pooled scores:
            "bce" (the paper's) or "asl" (`keras_mlrnn.losses.AsymmetricLoss`).
            Defaults to "bce".
        asl: dict or None. `AsymmetricLoss` arguments for "asl" (None: the
            ASL paper's 4, 0, 0.05).
        **kwargs: `MultiLabelModel` arguments.

    Example:
    ```python
    import keras_mlrnn as km
    from keras_mlrnn.data import load_scenes
    x, y = load_scenes("train", num_images=64)
    model = km.CoarseToFineRNN(num_classes=20, backbone="tiny", image_size=64,
                               lstm_units=64, attention_units=32, embedding_dim=32)
    model.compile(optimizer="adam")
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    model.attention_maps(x[:2]).shape   # (2, 1 + 5, 8, 8): global, then each step
    ```

    Reference: Lyu et al., "Coarse to Fine: Multi-label Image Classification
    with Global/Local Attention", IEEE ISC2 2018.
    """

    cli_name = "coarse-to-fine-rnn"
    ablations = ({"horizontal_weight": 0, "vertical_weight": 0},)

    can_explain = True
    prior_bias_heads = ("classifier",)  # read at every step: its bias only

    # The paper's setting (`from_preset("coco_paper")` and the other data sets).
    paper_config = {
        "backbone": "vgg16",
        "image_size": 224,
        "horizontal_weight": 5e-2,
        "vertical_weight": 5e-2,
    }

    config_fields = config_fields(
        "steps",
        "attention_units",
        "lstm_units",
        "embedding_dim",
        "threshold",
        "margin",
        "vertical_margin",
        "horizontal_weight",
        "vertical_weight",
        "classification_loss",
        "asl",
    )

    def __init__(
        self,
        num_classes,
        steps=5,
        attention_units=256,
        lstm_units=512,
        embedding_dim=256,
        threshold=0.5,
        margin=0.1,
        vertical_margin=0.1,
        horizontal_weight=5e-2,
        vertical_weight=5e-2,
        classification_loss="bce",
        asl=None,
        **kwargs,
    ):
        super().__init__(num_classes, **kwargs)
        self.classification_loss, self.asl = check_classification_loss(classification_loss, asl)
        if int(steps) < 1:
            raise ValueError(f"steps must be >= 1, got {steps}.")
        self.steps = int(steps)
        self.attention_units = int(attention_units)
        self.lstm_units = int(lstm_units)
        self.embedding_dim = int(embedding_dim)
        self.threshold = float(threshold)
        self.margin = float(margin)
        self.vertical_margin = float(vertical_margin)
        self.horizontal_weight = float(horizontal_weight)
        self.vertical_weight = float(vertical_weight)
        policy = self.dtype_policy
        self.global_score = layers.Dense(1, dtype=policy, name="global_attention")
        self.init_h = layers.Dense(self.lstm_units, activation="tanh", dtype=policy, name="init_h")
        self.init_c = layers.Dense(self.lstm_units, dtype=policy, name="init_c")
        self.local_attention = SoftAttention(
            self.attention_units, dtype=policy, name="local_attention"
        )
        # Index C is the START token.
        self.embedding = LabelEmbedding(
            num_classes + 1, self.embedding_dim, dtype=policy, name="label_embedding"
        )
        self.cell = layers.LSTMCell(self.lstm_units, dtype=policy, name="lstm")
        self.classifier = layers.Dense(num_classes, dtype=policy, name="step_classifier")
        self.max_margin = JointMaxMargin(
            margin=self.margin,
            vertical_margin=self.vertical_margin,
            horizontal_weight=self.horizontal_weight,
            vertical_weight=self.vertical_weight,
            from_logits=True,
        )

    def _run(self, images, training):
        feature_map = self.image_features(images, training=training)
        height, width, depth = feature_map.shape[1:]
        regions = ops.reshape(feature_map, (-1, height * width, depth))  # (B, N, D)
        # Global attention (eq. 1), softmax over regions in float32.
        energy = ops.cast(ops.tanh(self.global_score(regions))[..., 0], "float32")
        global_weights = ops.softmax(energy, axis=-1)
        global_context = ops.sum(ops.cast(global_weights, regions.dtype)[..., None] * regions, 1)
        glance = global_context / float(height * width)  # eq. 3: z^ / L
        h, c = self.init_h(glance), self.init_c(glance)
        projected = self.local_attention.project_features(regions)
        previous = ops.full((ops.shape(regions)[0],), self.num_classes, dtype="int32")
        step_logits, local_weights = [], []
        for _ in range(self.steps):
            context, weights = self.local_attention(regions, h, projected_features=projected)
            lstm_in = ops.concatenate([self.embedding(previous), context], axis=-1)
            output, (h, c) = self.cell(lstm_in, [h, c], training=training)
            logits = self.classifier(output)
            previous = first_argmax(ops.stop_gradient(logits))
            step_logits.append(ops.cast(logits, "float32"))
            local_weights.append(weights)
        step_logits = ops.stack(step_logits, axis=1)
        attention = ops.concatenate(
            [global_weights[:, None, :], ops.stack(local_weights, axis=1)], axis=1
        )
        return step_logits, ops.reshape(attention, (-1, self.steps + 1, height, width))

    @property
    def num_steps(self):
        return self.steps

    def compute_outputs(self, images, targets=None, training=False):
        step_logits, attention = self._run(images, training)
        pooled_logits = ops.max(step_logits, axis=1)  # sigmoid is monotone: max of p_t
        return {
            "scores": ops.sigmoid(pooled_logits),
            "pooled_logits": pooled_logits,
            "step_logits": step_logits,
            "attention": attention,
        }

    def compute_method_loss(self, y_true, outputs, sample_weight=None):
        y_true = ops.cast(y_true, "float32")
        per_image = per_image_loss(
            self.classification_loss, y_true, outputs["pooled_logits"], self.asl
        )
        loss = weighted_batch_mean(per_image, sample_weight)
        if self.horizontal_weight or self.vertical_weight:
            # `.call` gives per-image values; the batch mean is ours (a Loss's
            # __call__ would also rescale for tf.distribute, done once in the base).
            margins = self.max_margin.call(y_true, outputs["step_logits"])
            loss = loss + weighted_batch_mean(margins, sample_weight)
        return loss

    def decide(self, outputs):
        return decide_sets(outputs["scores"], self.threshold)

    def describe_decision(self):
        return describe_threshold_rule(self.threshold)

    def explain_batch(self, images):
        """`explain` for one batch: the global glance, then each step.

        "attention" `(B, 1 + T, h, w)`: the global map, then each step's;
        "labels" `(B, 1 + T)` int32 (-1 for the glance, then each step's most
        likely label), "scores" that label's probability and "step_scores"
        `(B, 1 + T, C)` each step's probabilities (zeros for the glance).
        """
        out = self.compute_outputs(images, None, training=False)
        probs = ops.cast(ops.sigmoid(out["step_logits"]), "float32")
        batch = ops.shape(probs)[0]
        glance = ops.zeros((batch, 1, self.num_classes))
        step_scores = ops.concatenate([glance, probs], axis=1)
        labels = first_argmax(probs)
        labels = ops.concatenate([ops.full((batch, 1), -1, "int32"), labels], axis=1)
        return {
            "attention": ops.cast(out["attention"], "float32"),
            "labels": labels,
            "scores": ops.max(step_scores, axis=-1),
            "step_scores": step_scores,
        }

    def attention_maps(self, x, batch_size=None):
        """Attention maps `(N, 1 + T, h, w)` (numpy): `explain(x)["attention"]`."""
        return self.explain(x, batch_size=batch_size)["attention"]
