"""`OrderFreeRNN` (Chen et al., AAAI 2018): attention, candidate pool, confidence-ranked LSTM."""

import keras
from keras import layers, ops

from keras_mlrnn.layers import CandidatePoolMask, SoftAttention
from keras_mlrnn.layers.beam_search import (
    beam_search,
    describe_beam_search,
    path_to_multi_hot,
    tile_beams,
)
from keras_mlrnn.models.base import MultiLabelModel, config_fields
from keras_mlrnn.models.decision import tune_variable
from keras_mlrnn.models.stages import STAGE_ARGUMENTS, TrainedInStages
from keras_mlrnn.models.tensor_helpers import first_argmax, weighted_batch_mean


@keras.saving.register_keras_serializable(package="keras_mlrnn")
class OrderFreeRNN(TrainedInStages, MultiLabelModel):
    """Visual attention + LSTM fed its own soft confidence; labels picked from a shrinking pool.

    `M_map`: the backbone's feature map `V_feat` (N regions) and
    `v_prob = sigmoid(Dense(C)(pooled))`. At step t, `SoftAttention` over the
    regions, queried by `h_{t-1}`, gives the context `z_t`; the LSTM reads
    `concat(v_pred, z_t, y~_{t-1})` (`v_pred = v_prob` at t = 1, then
    `p_{t-1}`; `y~` the multi-hot of labels chosen so far) and `f_pred` (two
    Dense layers with dropout) gives `p_t = sigmoid(f_pred(v_pred, z_t, y~, h_t))`.
    The label `l_t` is the argmax of `p_t` over the candidate pool, which
    then loses it (eqs. 9-10): the same loop in training and inference.

    Training loss (eq. 8): per-step sigmoid BCE of `p_t` against the full
    `y`, averaged over steps, plus `confidence_loss_weight` times the BCE of
    `v_prob` (stage 1). `stage` picks what trains: "joint" (default: both,
    one `fit`), "features" (only `v_prob`'s BCE: the paper's stage 1) or
    "recurrent" (only the recurrent loss, backbone and `v_prob` frozen by
    stop-gradient: the paper's stage 2). The paper's two stages are
    `model.set_stage("features"); model.fit(...); model.set_stage("recurrent"); model.fit(...)`.

    Inference: beam search over label paths whose probability is the
    product of the chosen labels' probabilities (eq. 11); a path stops when
    adding any label would take it below `stop_threshold`, or at
    `max_length`. `tune_stop_threshold(x_val, y_val)` picks the threshold.
    `call()` scores: for each class, the largest probability any step of
    the best path gave it.

    Args:
        num_classes: int. Number of labels C.
        attention_units: int. Defaults to 256.
        lstm_units: int. Defaults to 512.
        hidden_units: int. Width of `f_pred`'s first layer. Defaults to 512.
        dropout: float. Dropout in `f_pred` (the paper keeps 0.8). Defaults to 0.2.
        use_attention: bool. False: `z_t` is the mean region ("w/o attention"). Defaults to True.
        beam_size: int. Defaults to 3.
        max_length: int or None. Labels per path and steps (None: set by `adapt`).
        stop_threshold: float. Path-probability floor. Defaults to 0.5.
        confidence_loss_weight, stage: what `fit` trains (see `TrainedInStages`;
            the confidence head is `v_prob`).
        classification_loss, asl: `v_prob`'s loss, "bce" or "asl" (see `TrainedInStages`).
        **kwargs: `MultiLabelModel` arguments.

    Example:
    ```python
    import keras_mlrnn as km
    from keras_mlrnn.data import load_scenes
    x, y = load_scenes("train", num_images=64)
    model = km.OrderFreeRNN(num_classes=20, backbone="tiny", image_size=64,
                            lstm_units=64, attention_units=32, hidden_units=64)
    model.adapt(y)
    model.compile(optimizer="adam")
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    model.attention_maps(x[:2]).shape   # (2, T, 8, 8)
    ```

    Reference: Chen et al., "Order-Free RNN with Visual Attention for
    Multi-Label Classification", AAAI 2018.
    """

    cli_name = "order-free-rnn"
    ablations = ({"use_attention": False},)

    uses_beam_search = True
    can_explain = True
    prior_heads = ("probability_head",)

    # The paper's setting (`from_preset("coco_paper")` and the other data sets).
    paper_config = {
        "backbone": "resnet152",
        "image_size": 224,
        "backbone_trainable": False,  # "without fine-tuning"
        "dropout": 0.2,  # keep probability 0.8
        "beam_size": 3,
    }

    config_fields = config_fields(
        "attention_units",
        "lstm_units",
        "hidden_units",
        "use_attention",
        "beam_size",
        "max_length",
        "stop_threshold",
        *STAGE_ARGUMENTS,
        dropout="dropout_rate",
    )

    def __init__(
        self,
        num_classes,
        attention_units=256,
        lstm_units=512,
        hidden_units=512,
        dropout=0.2,
        use_attention=True,
        beam_size=3,
        max_length=None,
        stop_threshold=0.5,
        confidence_loss_weight=1.0,
        stage="joint",
        classification_loss="bce",
        asl=None,
        **kwargs,
    ):
        super().__init__(num_classes, **kwargs)
        self.init_stages(stage, confidence_loss_weight, classification_loss, asl)
        if not 0.0 < float(stop_threshold) <= 1.0:
            raise ValueError(f"stop_threshold must lie in (0, 1]; got {stop_threshold}.")
        self.attention_units = int(attention_units)
        self.lstm_units = int(lstm_units)
        self.hidden_units = int(hidden_units)
        self.dropout_rate = float(dropout)
        self.use_attention = bool(use_attention)
        self.beam_size = int(beam_size)
        self.max_length = None if max_length is None else int(max_length)
        policy = self.dtype_policy
        self.pool = layers.GlobalAveragePooling2D(dtype=policy, name="pool")
        self.probability_head = layers.Dense(num_classes, dtype=policy, name="v_prob")
        self.attention = SoftAttention(self.attention_units, dtype=policy, name="attention")
        self.init_h = layers.Dense(self.lstm_units, activation="tanh", dtype=policy, name="init_h")
        self.init_c = layers.Dense(self.lstm_units, dtype=policy, name="init_c")
        self.cell = layers.LSTMCell(self.lstm_units, dtype=policy, name="lstm")
        self.pred_hidden = layers.Dense(
            self.hidden_units, activation="relu", dtype=policy, name="f_pred_hidden"
        )
        self.pred_dropout = layers.Dropout(self.dropout_rate, dtype=policy, name="f_pred_dropout")
        self.pred_output = layers.Dense(num_classes, dtype=policy, name="f_pred_output")
        self.pool_mask = CandidatePoolMask(dtype=policy, name="candidate_pool")
        # A variable, so tuning it needs no retracing of the compiled search.
        self.stop_threshold = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(float(stop_threshold)),
            trainable=False,
            dtype="float32",
            name="stop_threshold",
        )

    @property
    def decode_length(self):
        """Steps of the loop: `max_length`, or C before `adapt`."""
        return self.max_length if self.max_length is not None else self.num_classes

    def needs_label_statistics(self):
        """True until `adapt` has set `max_length`."""
        return self.max_length is None

    def adapt(self, labels):
        """Sets `max_length` to the largest label count of the training labels `(N, C)`."""
        labels = self.training_labels(labels)
        self.max_length = max(int(labels.sum(axis=1).max()), 1)
        self._reset_compiled()

    # ----------------------------------------------------------- the loop
    def _encode(self, images, training):
        feature_map = self.image_features(images, training=training)
        height, width, depth = feature_map.shape[1:]
        features = ops.reshape(feature_map, (-1, height * width, depth))  # (B, N, D)
        pooled = self.pool(feature_map)
        prob_logits = self.probability_head(pooled)
        if self.stage == "recurrent":  # stage 2: the CNN and v_prob are fixed
            features = ops.stop_gradient(features)
            pooled = ops.stop_gradient(pooled)
            prob_logits = ops.stop_gradient(prob_logits)
        return features, pooled, prob_logits

    def _step(self, features, projected, pooled, v_pred, chosen, h, c, training):
        """One step: `(logits (B, C) float32, attention (B, N), h, c)`."""
        if self.use_attention:
            context, weights = self.attention(features, h, projected_features=projected)
        else:
            context = pooled
            weights = ops.ones(ops.shape(features)[:2], "float32") / ops.shape(features)[1]
        v_pred = ops.cast(v_pred, self.compute_dtype)
        chosen = ops.cast(chosen, self.compute_dtype)
        lstm_in = ops.concatenate([v_pred, context, chosen], axis=-1)
        output, (h, c) = self.cell(lstm_in, [h, c], training=training)
        hidden = self.pred_hidden(ops.concatenate([v_pred, context, chosen, output], axis=-1))
        logits = self.pred_output(self.pred_dropout(hidden, training=training))
        return ops.cast(logits, "float32"), weights, h, c

    def _initial_state(self, pooled):
        return self.init_h(pooled), self.init_c(pooled)

    def greedy_loop(self, images, training=False):
        """The training loop (argmax in the candidate pool), also used for attention maps."""
        features, pooled, prob_logits = self._encode(images, training)
        projected = self.attention.project_features(features) if self.use_attention else None
        h, c = self._initial_state(pooled)
        v_pred = ops.sigmoid(ops.cast(prob_logits, "float32"))
        chosen = ops.zeros_like(v_pred)
        step_logits, step_weights, labels = [], [], []
        for _ in range(self.decode_length):
            logits, weights, h, c = self._step(
                features, projected, pooled, v_pred, chosen, h, c, training
            )
            # eqs. 9-10: the most confident label still in the pool leaves it.
            label = first_argmax(self.pool_mask(ops.stop_gradient(logits), 1.0 - chosen))
            chosen = chosen + ops.one_hot(label, self.num_classes)
            v_pred = ops.sigmoid(logits)
            step_logits.append(logits)
            step_weights.append(weights)
            labels.append(label)
        return {
            "step_logits": ops.stack(step_logits, axis=1),
            "attention": ops.stack(step_weights, axis=1),
            "labels": ops.stack(labels, axis=1),
            "prob_logits": ops.cast(prob_logits, "float32"),
        }

    @property
    def num_steps(self):
        return self.decode_length

    def compute_outputs(self, images, targets=None, training=False):
        if targets is None:
            return self._beam_decode(images, training)
        outputs = self.greedy_loop(images, training)
        outputs["scores"] = ops.max(ops.sigmoid(outputs["step_logits"]), axis=1)
        return outputs

    def _beam_decode(self, images, training=False):
        features, pooled, prob_logits = self._encode(images, training)
        projected = self.attention.project_features(features) if self.use_attention else None
        h, c = self._initial_state(pooled)
        v_prob = ops.sigmoid(ops.cast(prob_logits, "float32"))
        state = {"h": h, "c": c, "v_pred": v_prob, "chosen": ops.zeros_like(v_prob)}
        # The image's regions are the same for all its beams: tiled once here,
        # not carried in the state that the search reorders at every step.
        features = tile_beams(features, self.beam_size)
        pooled = tile_beams(pooled, self.beam_size)
        if projected is not None:
            projected = tile_beams(projected, self.beam_size)

        def step_fn(tokens, state, step):
            state = dict(state)
            if step > 0:  # the label chosen at the previous step joins y~
                state["chosen"] = state["chosen"] + ops.one_hot(tokens, self.num_classes)
            logits, _, h, c = self._step(
                features,
                projected,
                pooled,
                state["v_pred"],
                state["chosen"],
                state["h"],
                state["c"],
                training,
            )
            state.update(h=h, c=c, v_pred=ops.sigmoid(logits))
            # Labels outside the candidate pool can never be chosen again.
            masked = self.pool_mask(ops.log_sigmoid(logits), 1.0 - state["chosen"])
            return masked, state

        best = beam_search(
            step_fn,
            state,
            num_tokens=self.num_classes,
            end_token=None,
            start_token=0,
            beam_size=self.beam_size,
            max_length=self.decode_length,
            stop_threshold=self.stop_threshold,
        )
        # A chosen label's score comes from the step that chose it (later steps
        # mask it out of the pool, so they contribute ~0 to the running max).
        return {"scores": best["max_probs"], "tokens": best["tokens"], "length": best["length"]}

    def compute_method_loss(self, y_true, outputs, sample_weight=None):
        y_true = ops.cast(y_true, "float32")
        total = 0.0
        if self.stage in ("joint", "recurrent"):
            # eq. 8: every step against the full label set, averaged over steps.
            step_logits = outputs["step_logits"]
            step_targets = ops.broadcast_to(y_true[:, None, :], ops.shape(step_logits))
            bce = keras.losses.binary_crossentropy(
                step_targets[..., None], step_logits[..., None], from_logits=True
            )  # (B, T, C)
            total = total + weighted_batch_mean(ops.mean(bce, axis=(1, 2)), sample_weight)
        return total + self.confidence_loss(y_true, outputs["prob_logits"], sample_weight)

    def decide(self, outputs):
        """The labels of the best path the beam search found."""
        return path_to_multi_hot(outputs["tokens"], outputs["length"], self.num_classes)

    def describe_decision(self):
        floor = float(ops.convert_to_numpy(self.stop_threshold))  # a weight: tuned on val
        ending = f"a path ends where any label would take its probability below {floor:g}"
        return describe_beam_search(self.beam_size, self.decode_length, ending)

    # ------------------------------------------------------ user helpers
    def _as_maps(self, weights):
        """Attention weights `(B, T, h * w)` -> maps `(B, T, h, w)` on the feature grid."""
        height, width = self.backbone.output_shape[1:3]
        return ops.reshape(weights, (-1, self.decode_length, height, width))

    def explain_batch(self, images):
        """`explain` for one batch: each step of the greedy path (the training loop).

        "attention" `(B, T, h, w)` is where step t looked, "labels" the label
        it picked, "scores" that label's probability, "step_scores" `p_t`.
        """
        out = self.greedy_loop(images, training=False)
        probs = ops.cast(ops.sigmoid(out["step_logits"]), "float32")
        labels = ops.cast(out["labels"], "int32")
        picked = ops.take_along_axis(probs, labels[..., None], axis=-1)[..., 0]
        attention = ops.cast(self._as_maps(out["attention"]), "float32")
        return {"attention": attention, "labels": labels, "scores": picked, "step_scores": probs}

    def attention_maps(self, x, batch_size=None):
        """Per-step attention maps `(N, T, h, w)` (numpy): `explain(x)["attention"]`."""
        return self.explain(x, batch_size=batch_size)["attention"]

    def tune_stop_threshold(self, images, labels, metric="OF1", candidates=None):
        """Picks the `stop_threshold` that maximises an F1 on validation data.

        Args:
            images: uint8 validation images `(N, S, S, 3)`.
            labels: multi-hot validation targets `(N, C)`.
            metric: str. A key of `multilabel_report` ("OF1", "CF1", "F1_I").
                Defaults to "OF1".
            candidates: sequence of floats in (0, 1] or None (a default grid).

        Returns:
            dict: threshold -> metric value; the best threshold is kept.
        """
        candidates = candidates or [0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
        return tune_variable(self, self.stop_threshold, candidates, images, labels, metric)

    def tune(self, images, labels):
        """Validation-time tuning used by `keras_mlrnn.training.runs.train`: the stop threshold."""
        return {"stop_threshold": self.tune_stop_threshold(images, labels)}
