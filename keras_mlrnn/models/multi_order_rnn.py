"""`MultiOrderRNN` (Dutta et al., ECCV 2020): multi-order loss, max-pooled steps."""

import keras
from keras import layers, ops

from keras_mlrnn.layers import LabelEmbedding
from keras_mlrnn.losses import MultiOrderLoss
from keras_mlrnn.models.base import MultiLabelModel, config_fields
from keras_mlrnn.models.decision import decide_sets, describe_threshold_rule
from keras_mlrnn.models.stages import STAGE_ARGUMENTS, TrainedInStages
from keras_mlrnn.models.tensor_helpers import first_argmax, weighted_batch_mean


@keras.saving.register_keras_serializable(package="keras_mlrnn")
class MultiOrderRNN(TrainedInStages, MultiLabelModel):
    """CNN soft confidence -> LSTM over T steps fed its own argmax; label-wise max pooling.

    The backbone's pooled features give a soft confidence
    `s^ = sigmoid(Dense(C))`; two Dense projections of `s^` initialise the
    LSTM's `h_0` and `c_0`. At step t the LSTM reads the embedding of the
    previous step's most confident label (a START embedding at t = 1) and
    emits logits `y^_t = W h_t + b`. Training uses `MultiOrderLoss` on the
    step logits; inference max-pools the steps label-wise, applies a
    sigmoid and thresholds at 0.5 (no END token).

    Training stages: the paper fine-tunes the CNN with BCE first, then
    trains the LSTM on the CNN's soft confidence. `stage` picks what `fit`
    trains: "joint" (default: `MultiOrderLoss + confidence_loss_weight *
    BCE(s^)`, gradients from the LSTM reaching the CNN too), "features"
    (only the BCE of `s^`: the paper's first step) or "recurrent" (only
    `MultiOrderLoss`, with the CNN and `s^` fixed by stop-gradient). The
    paper's order is `set_stage("features")`, `fit`, `set_stage("recurrent")`
    (or "joint"), `fit`; `keras_mlrnn.training.runs.train(warmup_epochs=N)` does it
    in one run. Without the first stage the LSTM can start from an almost
    constant `s^` and learn the label prior only.

    Args:
        num_classes: int. Number of labels C.
        steps: int. LSTM steps T. Defaults to 5 (the paper's).
        lstm_units: int. Defaults to 512.
        embedding_dim: int. Label-embedding size. Defaults to 256.
        threshold: float. Decision threshold of `predict_sets`. Defaults to 0.5.
        dropout: float. Dropout on the pooled features (before the confidence
            head) and on the LSTM's output (before the step classifier).
            Defaults to 0.5 (the paper is silent; BinaryRelevance's rate).
            Without it the heads overfit 2,500 VOC photos (train mAP 97 at
            the val peak; test mAP 79.6 at seed 0, 81.5 with it); on a few
            dozen photos (coco128's 84) 0.2 does better.
        confidence_loss_weight, stage: what `fit` trains (see `TrainedInStages`).
        classification_loss, asl: the confidence head's loss: "bce" (default)
            or "asl" with `AsymmetricLoss` arguments (see `TrainedInStages`).
        **kwargs: `MultiLabelModel` arguments (`backbone`, `image_size`, ...).

    Example:
    ```python
    import keras_mlrnn as km
    from keras_mlrnn.data import load_scenes
    x, y = load_scenes("train", num_images=64)
    model = km.MultiOrderRNN(num_classes=20, backbone="tiny", image_size=64,
                             lstm_units=64, embedding_dim=32)
    model.compile(optimizer="adam")
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    model.step_scores(x[:2]).shape     # (2, 5, 20): the order the model learned
    ```

    Reference: Dutta et al., "Recurrent Image Annotation with Explicit
    Inter-Label Dependencies", ECCV 2020.
    """

    cli_name = "multi-order-rnn"

    can_explain = True
    prior_heads = ("confidence",)
    prior_bias_heads = ("classifier",)  # read at every step: its bias only

    # The paper's setting (`from_preset("coco_paper")` and the other data sets).
    paper_config = {
        "backbone": "resnet101",
        "image_size": 224,
        "steps": 5,
        "lstm_units": 512,
        "embedding_dim": 256,
    }

    config_fields = config_fields(
        "steps",
        "lstm_units",
        "embedding_dim",
        "threshold",
        *STAGE_ARGUMENTS,
        dropout="dropout_rate",
    )

    def __init__(
        self,
        num_classes,
        steps=5,
        lstm_units=512,
        embedding_dim=256,
        threshold=0.5,
        confidence_loss_weight=1.0,
        stage="joint",
        classification_loss="bce",
        asl=None,
        dropout=0.5,
        **kwargs,
    ):
        super().__init__(num_classes, **kwargs)
        self.init_stages(stage, confidence_loss_weight, classification_loss, asl)
        if int(steps) < 1:
            raise ValueError(f"steps must be >= 1, got {steps}.")
        self.steps = int(steps)
        self.lstm_units = int(lstm_units)
        self.embedding_dim = int(embedding_dim)
        self.threshold = float(threshold)
        self.dropout_rate = float(dropout)
        policy = self.dtype_policy
        self.pool = layers.GlobalAveragePooling2D(dtype=policy, name="pool")
        self.dropout = layers.Dropout(self.dropout_rate, dtype=policy, name="dropout")
        self.confidence = layers.Dense(num_classes, dtype=policy, name="confidence")
        self.init_h = layers.Dense(self.lstm_units, activation="tanh", dtype=policy, name="init_h")
        self.init_c = layers.Dense(self.lstm_units, dtype=policy, name="init_c")
        # Index C is the START token.
        self.embedding = LabelEmbedding(
            num_classes + 1, self.embedding_dim, dtype=policy, name="label_embedding"
        )
        self.cell = layers.LSTMCell(self.lstm_units, dtype=policy, name="lstm")
        self.classifier = layers.Dense(num_classes, dtype=policy, name="step_classifier")
        self.multi_order_loss = MultiOrderLoss(from_logits=True)

    @property
    def num_steps(self):
        return self.steps

    def compute_outputs(self, images, targets=None, training=False):
        pooled = self.pool(self.image_features(images, training=training))
        confidence_logits = self.confidence(self.dropout(pooled, training=training))
        if self.stage == "recurrent":  # the CNN and s^ are fixed
            confidence_logits = ops.stop_gradient(confidence_logits)
        soft_confidence = ops.sigmoid(confidence_logits)
        h = self.init_h(soft_confidence)
        c = self.init_c(soft_confidence)
        previous = ops.full((ops.shape(images)[0],), self.num_classes, dtype="int32")
        step_logits = []
        for _ in range(self.steps):
            output, (h, c) = self.cell(self.embedding(previous), [h, c], training=training)
            logits = self.classifier(self.dropout(output, training=training))
            step_logits.append(logits)
            # Feed back the most confident label (eq. 1); not differentiable.
            previous = first_argmax(ops.stop_gradient(logits))
        step_logits = ops.cast(ops.stack(step_logits, axis=1), "float32")
        # Label-wise max over steps, then sigmoid (section 3.3).
        scores = ops.sigmoid(ops.max(step_logits, axis=1))
        return {
            "scores": scores,
            "step_logits": step_logits,
            "confidence_logits": ops.cast(confidence_logits, "float32"),
        }

    def compute_method_loss(self, y_true, outputs, sample_weight=None):
        y_true = ops.cast(y_true, "float32")
        loss = 0.0
        if self.stage in ("joint", "recurrent"):
            # `.call`: per-image values, the batch mean ours (see CoarseToFineRNN).
            per_image = self.multi_order_loss.call(y_true, outputs["step_logits"])
            loss = loss + weighted_batch_mean(per_image, sample_weight)
        return loss + self.confidence_loss(y_true, outputs["confidence_logits"], sample_weight)

    def decide(self, outputs):
        return decide_sets(outputs["scores"], self.threshold)

    def describe_decision(self):
        return describe_threshold_rule(self.threshold)

    def explain_batch(self, images):
        """`explain` for one batch: the label each step was surest of (no places: no attention).

        "labels" `(B, T)` int32 each step's most likely label, "scores" its
        probability, "step_scores" `(B, T, C)` the step's sigmoid probabilities.
        """
        logits = self.compute_outputs(images, None, training=False)["step_logits"]
        probs = ops.cast(ops.sigmoid(logits), "float32")
        return {
            "labels": first_argmax(probs),
            "scores": ops.max(probs, axis=-1),
            "step_scores": probs,
        }

    def step_scores(self, x, batch_size=None):
        """Per-step probabilities `(N, T, C)` (numpy): `explain(x)["step_scores"]`."""
        return self.explain(x, batch_size=batch_size)["step_scores"]
