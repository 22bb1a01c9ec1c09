"""`RegionAttentionRNN` (Wang et al., ICCV 2017): spatial transformer + LSTM."""

import keras
import numpy as np
from keras import layers, ops

from keras_mlrnn.layers import SpatialTransformer
from keras_mlrnn.losses import region_constraints
from keras_mlrnn.metrics.multilabel import decide
from keras_mlrnn.models.base import MultiLabelModel, config_fields
from keras_mlrnn.models.decision import decide_sets, describe_threshold_rule, tune_on_grid
from keras_mlrnn.models.tensor_helpers import first_argmax, weighted_batch_mean


@keras.saving.register_keras_serializable(package="keras_mlrnn")
class RegionAttentionRNN(MultiLabelModel):
    """An LSTM that moves a spatial transformer over the feature map, one region per step.

    Iterations k = 0..K (eqs. 2-5): `f_k = ST(f_I, M_k)` samples a region of
    the backbone's feature map, `x_k = relu(W f_k + b)`, the LSTM updates,
    `z_k = relu(W h_k + b)`, `s_k = W z_k + b` (k >= 1) are the region's
    class scores and `M_{k+1} = W z_k + b` the next transform. `M_0` is the
    identity (the whole map) and the localisation Dense starts at the
    identity (zero kernel, bias [1, 1, 0, 0]). Category-wise max pooling
    `s = max_k s_k` (eq. 6) and `p = softmax(s)` (eq. 7): `call()` returns `p`.

    Loss: the Euclidean loss between `p` and `y / ||y||_1` (eq. 8; an image
    with no label has an all-zero target) plus
    `constraint_weight * region_constraints(M_1..M_K)`.
    `predict_sets`: the top-`top_k` labels whose `p_c >= threshold`; tune the
    threshold on validation data with `tune_threshold`.

    Decisions: the region is sampled at `region_size` x `region_size` and
    flattened into `W f_k` (the paper is silent on the size; 4 keeps the
    Dense small on a 2048-channel map).

    Args:
        num_classes: int. Number of labels C.
        num_regions: int. K, the attended regions (K + 1 iterations).
            Defaults to 5 (paper).
        region_size: int. Side of the sampled region. Defaults to 4.
        hidden_units: int. Width of `x_k` and `z_k`. Defaults to 512.
        lstm_units: int. Defaults to 512.
        top_k: int. Labels kept by `predict_sets` at most. Defaults to 3.
        threshold: float. Least `p_c` of a predicted label. Defaults to 0.1.
        constraint_weight: float. Weight of the region constraints (0.1 in
            the paper; 0 is the "w/o constraints" ablation).
        anchors: list of (x, y) or None. Anchor centres of regions 2..K.
        **kwargs: `MultiLabelModel` arguments.

    Example:
    ```python
    import keras_mlrnn as km
    from keras_mlrnn.data import load_scenes
    x, y = load_scenes("train", num_images=64)
    model = km.RegionAttentionRNN(num_classes=20, backbone="tiny", image_size=64,
                                  hidden_units=64, lstm_units=64)
    model.compile(optimizer="adam")
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    model.attention_regions(x[:2]).shape   # (2, 5, 4): x0, y0, x1, y1 in pixels
    ```

    Reference: Wang et al., "Multi-label Image Recognition by Recurrently
    Discovering Attentional Regions", ICCV 2017.
    """

    cli_name = "region-attention-rnn"
    ablations = ({"constraint_weight": 0},)

    can_explain = True

    # The paper's setting (`from_preset("coco_paper")` and the other data sets).
    paper_config = {
        "backbone": "vgg16",
        "image_size": 448,  # 512 x 512 resized, 448 crops
        "num_regions": 5,
        "constraint_weight": 0.1,
        "top_k": 3,
    }

    config_fields = config_fields(
        "num_regions",
        "region_size",
        "hidden_units",
        "lstm_units",
        "top_k",
        "threshold",
        "constraint_weight",
        "anchors",
    )

    def __init__(
        self,
        num_classes,
        num_regions=5,
        region_size=4,
        hidden_units=512,
        lstm_units=512,
        top_k=3,
        threshold=0.1,
        constraint_weight=0.1,
        anchors=None,
        **kwargs,
    ):
        super().__init__(num_classes, **kwargs)
        if int(num_regions) < 1:
            raise ValueError(f"num_regions must be >= 1, got {num_regions}.")
        self.num_regions = int(num_regions)
        self.region_size = int(region_size)
        self.hidden_units = int(hidden_units)
        self.lstm_units = int(lstm_units)
        self.top_k = int(top_k)
        self.constraint_weight = float(constraint_weight)
        self.anchors = None if anchors is None else [list(map(float, a)) for a in anchors]
        policy = self.dtype_policy
        self.transformer = SpatialTransformer(self.region_size, dtype=policy, name="st")
        self.flatten = layers.Flatten(dtype=policy, name="flatten")
        self.region_dense = layers.Dense(
            self.hidden_units, activation="relu", dtype=policy, name="region"
        )
        self.cell = layers.LSTMCell(self.lstm_units, dtype=policy, name="lstm")
        self.hidden_dense = layers.Dense(
            self.hidden_units, activation="relu", dtype=policy, name="z"
        )
        self.classifier = layers.Dense(num_classes, dtype=policy, name="region_scores")
        self.localisation = layers.Dense(
            4,
            kernel_initializer="zeros",
            bias_initializer=keras.initializers.Constant([1.0, 1.0, 0.0, 0.0]),
            dtype=policy,
            name="localisation",
        )
        self.threshold = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(float(threshold)),
            trainable=False,
            dtype="float32",
            name="threshold",
        )

    def _run(self, images, training):
        feature_map = self.image_features(images, training=training)
        batch = ops.shape(feature_map)[0]
        theta = ops.zeros((batch, 4), "float32") + ops.convert_to_tensor([1.0, 1.0, 0.0, 0.0])
        h = ops.zeros((batch, self.lstm_units), dtype=self.compute_dtype)
        c = ops.zeros((batch, self.lstm_units), dtype=self.compute_dtype)
        region_logits, thetas = [], []
        for k in range(self.num_regions + 1):
            region = self.flatten(self.transformer(feature_map, theta))
            output, (h, c) = self.cell(self.region_dense(region), [h, c], training=training)
            z = self.hidden_dense(output)
            if k >= 1:  # no scores for the whole-map iteration (eq. 5)
                region_logits.append(ops.cast(self.classifier(z), "float32"))
            if k < self.num_regions:
                theta = ops.cast(self.localisation(z), "float32")
                thetas.append(theta)
        return ops.stack(region_logits, axis=1), ops.stack(thetas, axis=1)

    @property
    def num_steps(self):
        return self.num_regions

    def compute_outputs(self, images, targets=None, training=False):
        region_logits, thetas = self._run(images, training)
        pooled = ops.max(region_logits, axis=1)  # category-wise max pooling (eq. 6)
        return {
            "scores": ops.softmax(pooled, axis=-1),  # eq. 7, float32
            "region_logits": region_logits,
            "theta": thetas,
        }

    def compute_method_loss(self, y_true, outputs, sample_weight=None):
        y_true = ops.cast(y_true, "float32")
        target = y_true / ops.maximum(ops.sum(y_true, axis=-1, keepdims=True), 1.0)
        squared = ops.sum(ops.square(outputs["scores"] - target), axis=-1)  # eq. 8
        loss = weighted_batch_mean(squared, sample_weight)
        if self.constraint_weight:
            anchors = None if self.anchors is None else np.asarray(self.anchors)
            loss = loss + self.constraint_weight * region_constraints(outputs["theta"], anchors)
        return loss

    def decide(self, outputs):
        return decide_sets(outputs["scores"], self.threshold, self.top_k)

    def describe_decision(self):
        threshold = float(ops.convert_to_numpy(self.threshold))  # a weight: tuned on val
        return describe_threshold_rule(threshold, self.top_k)

    def _boxes(self, thetas):
        sx, sy, tx, ty = (thetas[..., i] for i in range(4))
        # A region spans [t - |s|, t + |s|] in normalised coordinates.
        scale = (self.image_size - 1) / 2.0
        x0 = (tx - ops.abs(sx) + 1.0) * scale
        x1 = (tx + ops.abs(sx) + 1.0) * scale
        y0 = (ty - ops.abs(sy) + 1.0) * scale
        y1 = (ty + ops.abs(sy) + 1.0) * scale
        return ops.stack([x0, y0, x1, y1], axis=-1)

    def explain_batch(self, images):
        """`explain` for one batch: each region's box and the label it scores highest.

        "boxes" `(B, K, 4)` (x0, y0, x1, y1 pixels), "labels" `(B, K)` int32,
        "scores" that label's probability and "step_scores" `(B, K, C)` the
        region's softmax over the labels.
        """
        region_logits, thetas = self._run(images, training=False)
        probs = ops.cast(ops.softmax(region_logits, axis=-1), "float32")
        return {
            "boxes": ops.cast(self._boxes(thetas), "float32"),
            "labels": first_argmax(probs),
            "scores": ops.max(probs, axis=-1),
            "step_scores": probs,
        }

    def attention_regions(self, x, batch_size=None):
        """Boxes `(N, K, 4)` (numpy), region k's (x0, y0, x1, y1) pixels: `explain(x)["boxes"]`."""
        return self.explain(x, batch_size=batch_size)["boxes"]

    def tune_threshold(self, images, labels, metric="OF1", candidates=None):
        """Picks the `threshold` of `predict_sets` that maximises an F1 on validation data.

        Returns:
            dict: threshold -> metric value; the best threshold is kept.
        """
        scores = self.predict(images, verbose=0)  # one pass; each threshold decides in numpy
        candidates = candidates or [0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5]
        best, results = tune_on_grid(
            candidates, lambda t: decide(scores, t, self.top_k), labels, metric
        )
        self.threshold.assign(best)
        return results

    def tune(self, images, labels):
        """Validation-time tuning used by `keras_mlrnn.training.runs.train`: the threshold."""
        return {"threshold": self.tune_threshold(images, labels)}
