"""`MultiLabelModel`: the contract every method keeps.

- `call(images)` -> scores `(B, C)` in [0, 1], float32 (ranking, mAP).
- `predict_sets(images)` -> multi-hot `(B, C)`: the method's own decision.
- `fit(ds)` with `ds` yielding `(images, multi_hot)` trains the method with
  its own loss, on every backend.
- `get_config()` / `from_config()`, `.keras` files, `from_preset()` /
  `save_to_preset()`.

Teacher forcing, solved once: a method may need the targets inside its
forward pass (CNNRNN feeds the ground-truth label sequence). Keras' built-in
`train_step` / `test_step` of every backend call `self(x)` and only then
`compute_loss(x, y, y_pred)`. `MultiLabelModel` wraps them once, backend
agnostically: the step repacks the batch as
`x = {"images": images, "targets": y}` and delegates to the backend's own
step, so gradients, loss scaling and distribution stay Keras'. `call` then
returns the method's full output dict (which holds `"scores"`) when targets
are present, and just the scores otherwise. `compute_loss` hands the dict to
the method's `compute_method_loss`; compiled metrics see the scores.

A subclass implements:
- `compute_outputs(images, targets, training) -> dict` with at least `"scores"`
  (float32, `(B, C)`); `targets` is None at inference. (Not named `forward`:
  on the PyTorch backend a Keras layer is a `torch.nn.Module`, whose
  `__call__` runs `forward`.)
- `compute_method_loss(y_true, outputs, sample_weight) -> scalar` (float32).
- `decide(outputs) -> (B, C)` multi-hot from `compute_outputs`' inference dict
  (defaults to `scores >= 0.5`); `decode_sets(images)` and `predict_sets` use it.

The class is the contract and the Keras hooks; what every method shares
beyond them lives in mixins beside it, one job each: `checked_inputs`
(fit / evaluate / predict with their inputs checked, teacher forcing's
packing), `inference` (sets, labels, explanations), `label_statistics`
(adapt, tune, the heads that start at the label prior), `constructor_arguments` and
`portable` (export, presets), `features` (the backbone, or cached features).
"""

import keras
from keras import ops

from keras_mlrnn.backbones import feature_extractors as backbones
from keras_mlrnn.metrics.multilabel import MeanAveragePrecision, MultiLabelF1
from keras_mlrnn.models.batched_method import Unsaved
from keras_mlrnn.models.checked_inputs import CheckedInputsMixin
from keras_mlrnn.models.constructor_arguments import ConstructorArgumentsMixin
from keras_mlrnn.models.decision import decide_sets, describe_threshold_rule
from keras_mlrnn.models.features import FeaturesMixin
from keras_mlrnn.models.inference import InferenceMixin
from keras_mlrnn.models.label_statistics import LabelStatisticsMixin
from keras_mlrnn.models.portable import PortableMixin
from keras_mlrnn.models.replicas import per_replica_loss
from keras_mlrnn.models.trained_backbone import copy_trained_backbone, is_trained_model


def config_fields(*names, **renamed):
    """A method's `config_fields`: constructor argument -> the attribute holding its value.

    `config_fields("threshold", dropout="dropout_rate")` is
    `{"threshold": "threshold", "dropout": "dropout_rate"}`.
    """
    return {**{name: name for name in names}, **renamed}


class MultiLabelModel(
    CheckedInputsMixin,
    FeaturesMixin,
    InferenceMixin,
    LabelStatisticsMixin,
    ConstructorArgumentsMixin,
    PortableMixin,
    keras.Model,
):
    """Base class of every multi-label method: backbone, contract, training hooks.

    Args:
        num_classes: int. Number of labels C.
        backbone: str or `keras.Model`. A name from
            `keras_mlrnn.backbones.feature_extractors.BACKBONE_NAMES` (`"tiny"`, `"resnet50"`,
            `"vgg16"`, ...) or a model returning a feature map. Defaults to
            "resnet50".
        backbone_weights: None, "imagenet", a weights-file path, or a trained
            model (preset directory or `.keras` file) whose backbone is
            copied (`keras_mlrnn.models.trained_backbone`). Only used
            when the model is constructed; `from_config` and loading ignore it
            (the saved weights replace it). Defaults to None.
        backbone_trainable: bool. Fine-tune the backbone. Defaults to True.
        freeze_batchnorm: bool. While fine-tuning, keep the backbone's
            BatchNormalization layers in inference mode (their ImageNet
            statistics; advisable for small batches or few images).
            Defaults to False.
        image_size: int. Side of the square input images. Defaults to 224.
        class_names: list of str or None. One name per class.
        **kwargs: `keras.Model` arguments (`name`, `dtype`, ...).
    """

    def __init__(
        self,
        num_classes,
        backbone="resnet50",
        backbone_weights=None,
        backbone_trainable=True,
        image_size=224,
        class_names=None,
        freeze_batchnorm=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(num_classes) < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}.")
        if class_names is not None and len(class_names) != int(num_classes):
            raise ValueError(
                f"class_names has {len(class_names)} names but num_classes is {num_classes}."
            )
        if class_names is not None and len(set(class_names)) != len(class_names):
            twice = sorted({n for n in class_names if list(class_names).count(n) > 1})
            raise ValueError(f"class_names names {twice} more than once; each class once.")
        if isinstance(backbone, dict):
            backbone = keras.saving.deserialize_keras_object(backbone)
        self.num_classes = int(num_classes)
        self.image_size = int(image_size)
        self.class_names = list(class_names) if class_names is not None else None
        self.backbone_weights = backbone_weights
        self.backbone_trainable = bool(backbone_trainable)
        self.freeze_batchnorm = bool(freeze_batchnorm)
        self.backbone_name = backbone if isinstance(backbone, str) else None
        self.preprocessing = backbones.preprocessing_mode(backbone)
        from_trained = is_trained_model(backbone_weights)
        self.backbone = backbones.build_backbone(
            backbone,
            image_size=self.image_size,
            weights=None if from_trained else backbone_weights,
            trainable=self.backbone_trainable,
            dtype=self.dtype_policy,
            freeze_batchnorm=self.freeze_batchnorm,
        )
        if from_trained:  # a preset directory or .keras file: copy its backbone
            copy_trained_backbone(self.backbone, backbone_weights)
        self._batched = Unsaved({})

    # ----------------------------------------------------------- subclass API
    def compute_outputs(self, images, targets=None, training=False):
        """Runs the method. Returns a dict with at least `"scores"` (B, C) float32."""
        raise NotImplementedError

    def compute_method_loss(self, y_true, outputs, sample_weight=None):
        """The method's training loss from `compute_outputs`' dict (scalar, float32)."""
        raise NotImplementedError

    def decide(self, outputs):
        """The multi-hot sets `(B, C)` float32 from `compute_outputs`' inference dict.

        The one hook a method overrides for its decision rule (default:
        `scores >= 0.5`; thresholding methods use
        `keras_mlrnn.models.decision.decide_sets`).
        """
        return decide_sets(outputs["scores"], 0.5)

    def describe_decision(self):
        """The decision rule in one line (what an exported model's `sets` output computes)."""
        return describe_threshold_rule(0.5)

    def decode_sets(self, images):
        """The method's multi-hot decision for a batch: `decide` on its inference outputs."""
        return self.decide(self.compute_outputs(images, None, training=False))

    def scores_and_sets(self, images):
        """`{"scores", "sets"}` of a batch from one inference pass."""
        outputs = self.compute_outputs(images, None, training=False)
        return {"scores": outputs["scores"], "sets": self.decide(outputs)}

    # ------------------------------------------------- what the method can do
    #: Whether `predict_sets` runs a beam search (the constructor then takes
    #: `beam_size`).
    #: The method's name on the command line and its folder in a preset root
    #: ("order-free-rnn"); `keras_mlrnn.models.MODELS` is built from it.
    cli_name = None
    #: The papers' ablations, each a dict of constructor arguments that
    #: `keras-mlrnn compare --ablations` trains as a row of its own.
    ablations = ()
    #: Whether `fit` trains in stages (`TrainedInStages`: `warmup_epochs`).
    trains_in_stages = False
    uses_beam_search = False

    @property
    def num_steps(self):
        """The number of recurrent steps at inference (None: the method has no recurrence)."""
        return None

    #: The paper's constructor arguments (backbone, input size, head sizes,
    #: loss weights): what `from_preset("coco_paper")` and the other paper
    #: configuration names build (`keras_mlrnn.presets.configs.builtin_config`). Each
    #: method declares its own; None: no built-in presets.
    paper_config = None
    #: Departures from `paper_config` on one data set: `{dataset: {arg: value}}`.
    dataset_overrides = {}

    def _reset_compiled(self):
        """Drops traced train/test/predict functions after a change they captured."""
        self.train_function = self.test_function = self.predict_function = None
        self._batched.value.clear()

    # ---------------------------------------------------------- Keras hooks
    def build(self, input_shape=None):
        if self.built:
            return
        # One pass of the training path on one image creates every weight,
        # whatever shapes Keras recorded (dict or tensor). JAX runs an eager
        # pass op by op, compiling each op the first time it meets it (10 s
        # for a recurrent head on a CPU), so there the pass is traced
        # (variables are created, and initialised when the trace ends);
        # elsewhere a concrete pass on a blank image is the quicker one.
        size = self.image_size
        if keras.backend.backend() == "jax":
            images = keras.KerasTensor((1, size, size, 3), dtype="uint8")
            targets = keras.KerasTensor((1, self.num_classes), dtype="float32")
            self.compute_output_spec({"images": images, "targets": targets}, training=False)
        else:
            images = ops.zeros((1, size, size, 3), dtype="uint8")
            targets = ops.zeros((1, self.num_classes), dtype="float32")
            self.compute_outputs(images, targets, training=False)
        self.built = True

    def call(self, inputs, training=False):
        if isinstance(inputs, dict):
            targets = inputs.get("targets")
            outputs = self.compute_outputs(inputs["images"], targets, training=training)
            return outputs if targets is not None else outputs["scores"]
        return self.compute_outputs(inputs, None, training=training)["scores"]

    def make_train_function(self, force=False):
        # Keras on TensorFlow (without a distribution strategy) creates the
        # optimizer's variables inside the first trace of the training step,
        # and tf.function then traces the whole step a second time. Building
        # them here, as Keras does on JAX and PyTorch, traces it once.
        if self.built and self.optimizer is not None and not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)
        return super().make_train_function(force)

    def train_step(self, *args):
        # JAX's step is train_step(state, data); TF's and torch's train_step(data).
        *state, data = args
        return super().train_step(*state, self._pack_targets(data))

    def test_step(self, *args):
        *state, data = args
        return super().test_step(*state, self._pack_targets(data))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if not isinstance(y_pred, dict):
            raise ValueError(
                "compute_loss needs the method's outputs; fit/evaluate provide them. "
                "Got a tensor, which happens when x and y were packed by hand."
            )
        total = self.compute_method_loss(y, y_pred, sample_weight)
        for extra in self.losses:  # weight regularisers and add_loss terms
            total = total + ops.cast(ops.sum(extra), "float32")
        total = per_replica_loss(total)
        if self._compile_loss is not None:  # Keras' own losses scale themselves
            total = total + ops.cast(
                self._compile_loss(y, y_pred["scores"], sample_weight), "float32"
            )
        return total

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        # PyTorch's fit builds the metrics on a first batch before any train_step.
        self._check_labels(y)
        scores = y_pred["scores"] if isinstance(y_pred, dict) else y_pred
        return super().compute_metrics(x, y, scores, sample_weight)

    def compile(self, optimizer="adam", loss=None, metrics="default", **kwargs):
        """Compiles with the method's own loss; `metrics="default"` adds mAP, CF1, OF1.

        Args:
            optimizer: Keras optimizer or name. Defaults to "adam".
            loss: optional extra loss on the scores, added to the method's
                loss. Defaults to None.
            metrics: list of metrics on the scores, or "default". Defaults
                to "default".
            **kwargs: passed to `keras.Model.compile` (`jit_compile`, ...).
        """
        if isinstance(metrics, str) and metrics == "default":
            metrics = default_metrics(self.num_classes)
        # Built before fit, so callbacks that need weights (BackupAndRestore)
        # and distribution strategies see them.
        self.build()
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def compile_from_config(self, config):
        # `compile` is overridden, so Keras leaves re-compiling a loaded model
        # to us: restore optimizer, loss and metrics as saved.
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)

    # -------------------------------------------------------- serialisation
    #: The method's own constructor arguments, saved by `get_config`:
    #: argument -> attribute (read when saving, so values that `adapt` or
    #: `tune` changed are saved as they are; a variable is saved as a float).
    config_fields = {}

    def get_config(self):
        config = super().get_config()
        for argument, attribute in self.config_fields.items():
            value = getattr(self, attribute)
            if isinstance(value, keras.Variable):
                value = float(ops.convert_to_numpy(value))
            config[argument] = value
        backbone = self.backbone_name
        if backbone is None:
            backbone = keras.saving.serialize_keras_object(self.backbone)
        config.update(
            {
                "num_classes": self.num_classes,
                "backbone": backbone,
                "backbone_weights": self.backbone_weights,
                "backbone_trainable": self.backbone_trainable,
                "freeze_batchnorm": self.freeze_batchnorm,
                "image_size": self.image_size,
                "class_names": self.class_names,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        # Architecture only: weights come from the saved file, so never
        # download or read the original backbone weights again.
        config["backbone_weights"] = None
        if "dtype" in config and isinstance(config["dtype"], dict):
            config["dtype"] = keras.dtype_policies.deserialize(config["dtype"])
        return cls(**config)


def default_metrics(num_classes):
    """The streaming metrics `compile` adds by default: mAP, CF1, OF1."""
    return [
        MeanAveragePrecision(num_classes),
        MultiLabelF1(num_classes, average="class"),
        MultiLabelF1(num_classes, average="overall"),
    ]
