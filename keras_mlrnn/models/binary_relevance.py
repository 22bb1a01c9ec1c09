"""`BinaryRelevance`: backbone, global average pool, dropout, Dense(C), sigmoid BCE."""

import keras
from keras import layers, ops

from keras_mlrnn.losses.asymmetric import check_classification_loss, per_image_loss
from keras_mlrnn.models.base import MultiLabelModel, config_fields
from keras_mlrnn.models.decision import decide_sets, describe_threshold_rule
from keras_mlrnn.models.tensor_helpers import weighted_batch_mean


@keras.saving.register_keras_serializable(package="keras_mlrnn")
class BinaryRelevance(MultiLabelModel):
    """The baseline: one independent sigmoid per class on pooled CNN features.

    This is the "CNN (binary cross-entropy)" / "ResNet-baseline" row of the
    papers' tables and the floor every speed figure is measured against.

    Args:
        num_classes: int. Number of labels C.
        dropout: float. Dropout rate before the classifier. Defaults to 0.5.
        threshold: float. Decision threshold of `predict_sets`. Defaults to 0.5.
        top_k: int or None. If set, `predict_sets` keeps at most the k best
            labels (then applies the threshold). Defaults to None.
        classification_loss: str. "bce" (sigmoid binary cross-entropy, the
            papers') or "asl" (`keras_mlrnn.losses.AsymmetricLoss`).
            Defaults to "bce".
        asl: dict or None. `AsymmetricLoss` arguments (`gamma_neg`,
            `gamma_pos`, `clip`) for "asl"; None: the ASL paper's 4, 0, 0.05.
        **kwargs: `MultiLabelModel` arguments (`backbone`, `image_size`, ...).

    Example:
    ```python
    import keras_mlrnn as km
    from keras_mlrnn.data import load_scenes
    x, y = load_scenes("train", num_images=64)
    model = km.BinaryRelevance(num_classes=20, backbone="tiny", image_size=64)
    model.compile(optimizer="adam")
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    scores = model.predict(x[:4], verbose=0)        # (4, 20) in [0, 1]
    sets = model.predict_sets(x[:4])                # (4, 20) multi-hot
    ```

    Reference: the binary cross-entropy baseline of Wang et al., CVPR 2016.
    """

    cli_name = "binary-relevance"

    prior_heads = ("classifier",)

    # The paper's setting (`from_preset("coco_paper")` and the other data sets).
    paper_config = {"backbone": "resnet101", "image_size": 224}

    config_fields = config_fields(
        "threshold", "top_k", "classification_loss", "asl", dropout="dropout_rate"
    )

    def __init__(
        self,
        num_classes,
        dropout=0.5,
        threshold=0.5,
        top_k=None,
        classification_loss="bce",
        asl=None,
        **kwargs,
    ):
        super().__init__(num_classes, **kwargs)
        self.classification_loss, self.asl = check_classification_loss(classification_loss, asl)
        self.dropout_rate = float(dropout)
        self.threshold = float(threshold)
        self.top_k = None if top_k is None else int(top_k)
        self.pool = layers.GlobalAveragePooling2D(dtype=self.dtype_policy, name="pool")
        self.dropout = layers.Dropout(self.dropout_rate, dtype=self.dtype_policy, name="dropout")
        self.classifier = layers.Dense(num_classes, dtype=self.dtype_policy, name="classifier")

    def compute_outputs(self, images, targets=None, training=False):
        features = self.pool(self.image_features(images, training=training))
        logits = self.classifier(self.dropout(features, training=training))
        # Sigmoid and loss in float32 whatever the compute dtype.
        logits = ops.cast(logits, "float32")
        return {"scores": ops.sigmoid(logits), "logits": logits}

    def compute_method_loss(self, y_true, outputs, sample_weight=None):
        per_image = per_image_loss(self.classification_loss, y_true, outputs["logits"], self.asl)
        return weighted_batch_mean(per_image, sample_weight)

    def decide(self, outputs):
        return decide_sets(outputs["scores"], self.threshold, self.top_k)

    def describe_decision(self):
        return describe_threshold_rule(self.threshold, self.top_k)
