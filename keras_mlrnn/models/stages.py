"""Training in stages (OrderFreeRNN, MultiOrderRNN): the stages and the mixin that runs them."""

from keras_mlrnn.losses.asymmetric import check_classification_loss, per_image_loss
from keras_mlrnn.models.tensor_helpers import weighted_batch_mean

# Training stages of the methods trained in two steps (OrderFreeRNN, MultiOrderRNN):
# "features" trains the CNN and its confidence head only, "recurrent" the RNN on a
# fixed CNN, "joint" both at once.
STAGES = ("joint", "features", "recurrent")


def check_stage(stage):
    """Returns `stage`, or raises a ValueError naming the known stages."""
    if stage not in STAGES:
        raise ValueError(f"Unknown stage {stage!r}; expected one of {STAGES}.")
    return stage


#: The constructor arguments every staged method takes (and lists in its `config_fields`).
STAGE_ARGUMENTS = ("confidence_loss_weight", "stage", "classification_loss", "asl")


class TrainedInStages:
    """Mixin of the methods trained in stages: `stage` (one of `STAGES`) and `set_stage`.

    The method has a confidence head (logits `(B, C)`) and takes two
    constructor arguments, stored by `init_stages` (and listed in the
    method's `config_fields`):

    - confidence_loss_weight: float. Weight of the confidence head's BCE in
      stage "joint" (stage "features" trains that BCE alone, unweighted).
      Defaults to 1.0.
    - stage: str. "joint" (default), "features" or "recurrent".

    and the confidence head's per-class loss (`classification_loss`: "bce"
    or "asl", `asl`: `AsymmetricLoss` arguments or None for the paper's).

    `keras_mlrnn.training.runs.train(warmup_epochs=N)` accepts exactly these methods.
    """

    trains_in_stages = True

    def init_stages(
        self, stage="joint", confidence_loss_weight=1.0, classification_loss="bce", asl=None
    ):
        """Checks and stores the stage arguments and the head's loss (call it in `__init__`)."""
        self.stage = check_stage(stage)
        self.confidence_loss_weight = float(confidence_loss_weight)
        self.classification_loss, self.asl = check_classification_loss(classification_loss, asl)

    def set_stage(self, stage):
        """Switches what `fit` trains: "joint", "features" or "recurrent"."""
        self.stage = check_stage(stage)
        self._reset_compiled()

    def confidence_loss(self, y_true, logits, sample_weight=None):
        """The confidence head's per-class loss (BCE or ASL) as its stage weighs it (float32).

        Weight 1 in "features" (the stage's only loss, whatever
        `confidence_loss_weight` is), `confidence_loss_weight` in "joint",
        0 in "recurrent".
        """
        weight = {"features": 1.0, "joint": self.confidence_loss_weight, "recurrent": 0.0}
        if not weight[self.stage]:
            return 0.0
        per_image = per_image_loss(self.classification_loss, y_true, logits, self.asl)
        return weight[self.stage] * weighted_batch_mean(per_image, sample_weight)
