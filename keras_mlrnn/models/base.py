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

The module is one class, the contract itself (over 350 lines: each hook
is short and documented, and the stages, decision rule, batched runner
and replica scaling already live in modules of their own beside it).
"""

import contextlib
import inspect
import os

import keras
import numpy as np
from keras import ops

from keras_mlrnn.backbones import feature_extractors as backbones
from keras_mlrnn.data import checks
from keras_mlrnn.metrics.multilabel import MeanAveragePrecision, MultiLabelF1
from keras_mlrnn.models.batched_method import BatchedMethod, Unsaved
from keras_mlrnn.models.decision import decide_sets, describe_threshold_rule
from keras_mlrnn.models.replicas import per_replica_loss
from keras_mlrnn.models.trained_backbone import copy_trained_backbone, is_trained_model


def config_fields(*names, **renamed):
    """A method's `config_fields`: constructor argument -> the attribute holding its value.

    `config_fields("threshold", dropout="dropout_rate")` is
    `{"threshold": "threshold", "dropout": "dropout_rate"}`.
    """
    return {**{name: name for name in names}, **renamed}


class MultiLabelModel(keras.Model):
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

    def adapt(self, labels):
        """Reads statistics of the training labels `(N, C)` before `fit`.

        The base class needs none; methods that do (CNNRNN's label order and
        path length) override it. `keras_mlrnn.training.runs.train` always calls it.
        """
        del labels

    def needs_label_statistics(self):
        """Whether `fit` needs `adapt(train_labels)` first (the base class: never)."""
        return False

    # ------------------------------------------------- what the method can do
    #: Whether `predict_sets` runs a beam search (the constructor then takes
    #: `beam_size`).
    uses_beam_search = False
    #: Whether the method implements `explain_batch(images)` (`explain`):
    #: what each recurrent step picked, and where it looked if it attends
    #: to places (`keras_mlrnn.visualization.visualize` draws it).
    can_explain = False

    @property
    def num_steps(self):
        """The number of recurrent steps at inference (None: the method has no recurrence)."""
        return None

    def explain(self, x, batch_size=None):
        """What each step picked and where it looked, as numpy: one accessor for every method.

        Args:
            x: uint8 images `(N, S, S, 3)` or a dataset of them.
            batch_size: int or None. As in `predict`.

        Returns:
            dict: "labels" `(N, T)` int32 (the label step t points at; -1
            for a step that picks none), "scores" `(N, T)` (its
            probability), "step_scores" `(N, T, C)` (the step's scores over
            the labels) and, for a method that attends to places,
            "attention" `(N, T, h, w)` maps or "boxes" `(N, T, 4)` pixels.
        """
        if not self.can_explain:
            raise ValueError(f"{type(self).__name__} has no recurrent steps to explain.")
        return self.predict_with("explain_batch", x, batch_size=batch_size)

    def explain_batch(self, images):
        """`explain` for one batch of images, as tensors (a method with `can_explain`)."""
        raise NotImplementedError(f"{type(self).__name__} has no recurrent steps to explain.")

    #: The paper's constructor arguments (backbone, input size, head sizes,
    #: loss weights): what `from_preset("coco_paper")` and the other paper
    #: configuration names build (`keras_mlrnn.presets.configs.builtin_config`). Each
    #: method declares its own; None: no built-in presets.
    paper_config = None
    #: Departures from `paper_config` on one data set: `{dataset: {arg: value}}`.
    dataset_overrides = {}

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

    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        """`keras.Model.fit`, with the inputs checked and label statistics adapted.

        Labels must lie in [0, 1] (no NaN) and images in [0, 255], on every
        input path (arrays, `tf.data`, `PyDataset`, generators; see
        `keras_mlrnn.data.checks`): a violation is a `ValueError` naming
        it. A method that reads statistics of the training labels (CNNRNN's
        label order and path length, OrderFreeRNN's path length) and has not
        been adapted calls `adapt(y)` first when the labels are an array,
        and says so; with a dataset (labels not in memory) it still needs
        `model.adapt(train_labels)` by hand.
        """
        name = f"{type(self).__name__}.fit"
        if checks.is_tf_dataset(x) or inspect.isgenerator(x):
            # These shuffle themselves; Keras would warn that its default
            # shuffle=True is ignored.
            kwargs.setdefault("shuffle", False)
        x, y = self._checked(x, y, name)
        if isinstance(validation_data, tuple):  # (x, y) or (x, y, sample_weight)
            checked = self._checked(*validation_data[:2], f"{name} validation_data")
            validation_data = (*checked, *validation_data[2:])
        elif validation_data is not None:
            validation_data = self._checked(validation_data, None, f"{name} validation_data")[0]
        if y is not None and self.needs_label_statistics():
            labels = keras.ops.convert_to_numpy(y)
            print(
                f"{type(self).__name__}: adapting to the {len(labels)} training labels given "
                "to fit (model.adapt(labels) before fit sets them yourself)."
            )
            self.adapt(labels)
        with self._clean_input_errors():
            return super().fit(x, y, *args, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.evaluate`, with labels and images checked as in `fit`."""
        x, y = self._checked(x, y, f"{type(self).__name__}.evaluate")
        with self._clean_input_errors():
            return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        """`keras.Model.predict`, with image ranges checked as in `fit`."""
        x, _ = self._checked(x, None, f"{type(self).__name__}.predict")
        with self._clean_input_errors():
            return super().predict(x, *args, **kwargs)

    def _checked(self, x, y, where):
        shape = (self.image_size, self.image_size, 3)
        return checks.checked_input(x, y, where, shape)

    @contextlib.contextmanager
    def _clean_input_errors(self):
        try:
            yield
        except Exception as error:  # a failed tf.data assertion of data.checks
            checks.raise_clean_error(error)
            raise

    def _training_labels(self, labels):
        """`labels` as a float64 `(N, C)` array, or a ValueError naming the expected shape."""
        labels = np.asarray(labels, dtype=np.float64)
        if labels.ndim != 2 or labels.shape[1] != self.num_classes:
            raise ValueError(
                f"adapt expects labels of shape (N, {self.num_classes}); got {labels.shape}."
            )
        return labels

    def _reset_compiled(self):
        """Drops traced train/test/predict functions after a change they captured."""
        self.train_function = self.test_function = self.predict_function = None
        self._batched.value.clear()

    def tune(self, images, labels):
        """Tunes decision parameters on validation data after `fit`; returns what it tried.

        The base class has nothing to tune (returns None); OrderFreeRNN tunes
        its stop threshold. `keras_mlrnn.training.runs.train` always calls it.
        """
        del images, labels

    # ------------------------------------------------------------- features
    @property
    def feature_shape(self):
        """`(h, w, D)`: the backbone's feature map for one image (what a feature cache holds)."""
        return tuple(int(d) for d in self.backbone.output_shape[1:])

    def image_features(self, images, training=False):
        """Backbone feature map `(B, h, w, D)` in the compute dtype.

        `images` are uint8 (or float [0, 255]) images `(B, S, S, 3)`, or
        feature maps the backbone already computed, `(B, *feature_shape)`
        (`keras_mlrnn.training.feature_cache`): those are used as they are, so a
        method's head trains on cached features with its own loss. A
        frozen backbone gives the same map either way.
        """
        shape = tuple(images.shape[1:])
        if shape == self.feature_shape:
            return ops.cast(images, self.compute_dtype)
        expected = (self.image_size, self.image_size, 3)
        if shape != expected:
            raise ValueError(
                f"{self.__class__.__name__} expects images of shape (B, {expected[0]}, "
                f"{expected[1]}, 3) (or backbone feature maps (B, "
                f"{', '.join(str(s) for s in self.feature_shape)})); got "
                f"(B, {', '.join(str(s) for s in shape)}). "
                "Resize them in the input pipeline or build the model with that image_size."
            )
        # Normalise in float32 (the caffe mean subtraction needs it), then
        # hand the backbone its compute dtype.
        x = backbones.preprocess(ops.cast(images, "float32"), self.preprocessing)
        return self.backbone(ops.cast(x, self.compute_dtype), training=training)

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

    def _pack_targets(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if y is None or isinstance(x, dict):
            return data
        self._check_labels(y)
        return keras.utils.pack_x_y_sample_weight({"images": x, "targets": y}, y, sample_weight)

    def _check_labels(self, y):
        """A ValueError naming the expected shape unless `y` is `(batch, num_classes)`."""
        if len(y.shape) != 2 or y.shape[-1] not in (None, self.num_classes):
            raise ValueError(
                f"{type(self).__name__} has num_classes={self.num_classes}, but the labels have "
                f"shape {tuple(y.shape)}; expected (batch, {self.num_classes})."
            )

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

    # ------------------------------------------------------------ inference
    def predict_sets(self, x, batch_size=None, verbose=0, **kwargs):
        """The method's multi-hot decision for images, compiled like `predict`.

        Args:
            x: uint8 images `(N, S, S, 3)`, or a dataset yielding images or
                `(images, labels)` batches.
            batch_size: int or None. As in `keras.Model.predict`.
            verbose: progress bar mode. Defaults to 0.

        Returns:
            float32 numpy array `(N, C)` in {0, 1}.
        """
        sets = self.predict_with("decode_sets", x, batch_size, verbose, **kwargs)
        return np.asarray(sets, dtype=np.float32)

    def predict_scores_and_sets(self, x, batch_size=None, verbose=0, **kwargs):
        """`(scores, sets)` numpy `(N, C)` from one pass: `predict` and `predict_sets` together.

        Args:
            x: as for `predict_sets`.
            batch_size: int or None. As in `keras.Model.predict`.
            verbose: progress bar mode. Defaults to 0.
        """
        out = self.predict_with("scores_and_sets", x, batch_size, verbose, **kwargs)
        return np.asarray(out["scores"], np.float32), np.asarray(out["sets"], np.float32)

    def predict_labels(self, x, batch_size=None, top=None):
        """The predicted label set of each image by name, most confident first.

        Args:
            x: uint8 images `(N, S, S, 3)`, one image `(S, S, 3)`, image
                file paths (one str or a list: read and resized to the
                model's size with `keras_mlrnn.data.images.read_images`), or a
                dataset of images.
            batch_size: int or None.
            top: int or None. Instead of the method's decision
                (`predict_sets`), the `top` highest-scoring classes.

        Returns:
            list of N lists of `(class_name, score)`; unnamed classes are
            called "class_<i>".
        """
        if isinstance(x, (str, os.PathLike)):
            x = [x]
        if isinstance(x, (list, tuple)) and all(isinstance(p, (str, os.PathLike)) for p in x):
            from keras_mlrnn.data.images import read_images

            x = read_images([os.fspath(p) for p in x], self.image_size)
        elif isinstance(x, np.ndarray) and x.ndim == 3:
            x = x[None]  # one image
        scores = self.predict(x, batch_size=batch_size, verbose=0)
        if top is None:
            sets = self.predict_sets(x, batch_size=batch_size)
        else:
            sets = np.zeros_like(scores)
            np.put_along_axis(sets, np.argsort(-scores, axis=1)[:, :top], 1.0, axis=1)
        names = self.class_names or [f"class_{i}" for i in range(self.num_classes)]
        result = []
        for row_scores, row_set in zip(scores, sets):
            chosen = sorted(np.flatnonzero(row_set), key=lambda i: -row_scores[i])
            result.append([(names[i], float(row_scores[i])) for i in chosen])
        return result

    def predict_with(self, method, x, batch_size=None, verbose=0, **kwargs):
        """Runs `self.<method>(images)` over `x` batch by batch, compiled like `predict`.

        Args:
            method: str. Name of a method taking an image batch and returning
                a tensor (or a structure of tensors).
            x: images or a dataset, as for `keras.Model.predict`.
            batch_size: int or None.
            verbose: progress bar mode. Defaults to 0.

        Returns:
            numpy array(s), the batches' results concatenated.
        """
        x, _ = self._checked(x, None, f"{type(self).__name__}.{method}")
        runners = self._batched.value
        if method not in runners:
            runners[method] = BatchedMethod(self, method)
        with self._clean_input_errors():
            return runners[method].predict(x, batch_size=batch_size, verbose=verbose, **kwargs)

    @classmethod
    def constructor_arguments(cls):
        """Every argument the constructor takes: the method's `config_fields` and the base's."""
        base = inspect.signature(MultiLabelModel.__init__).parameters
        return sorted({*cls.config_fields, *base, "name", "dtype"} - {"self", "kwargs"})

    @classmethod
    def check_arguments(cls, arguments, set_elsewhere=(), label=None):
        """Refuses constructor arguments the class does not take, or of the wrong kind.

        A value is checked against the argument's default: a bool default
        takes only True / False, a number default only numbers, a string
        default only strings (a None default takes anything).

        Args:
            arguments: dict, argument -> value (e.g. the CLI's `--model-arg`s).
            set_elsewhere: names the caller sets itself (a run's
                `num_classes`, `backbone`, ...), refused here.
            label: str or None. The method's name in messages (default the
                class name; the CLI passes "cnn-rnn", ...).

        Raises:
            ValueError: naming the argument, what it takes and what it got.
        """
        label = label or cls.__name__
        known = cls.constructor_arguments()
        unknown = sorted(set(arguments) - set(known))
        if unknown:
            raise ValueError(
                f"{label} takes no argument {', '.join(unknown)} (--model-arg); "
                f"its arguments: {', '.join(known)}."
            )
        for name, value in arguments.items():
            if name in set_elsewhere:
                flag = "--" + name.replace("_", "-")
                raise ValueError(
                    f"--model-arg {name} is set by the run itself (its own option, e.g. {flag}, "
                    "or the data's classes); leave it out of --model-arg."
                )
            default = _default_argument(cls, name)
            kind = _argument_kind(default)
            if kind and not _is_kind(value, kind):
                raise ValueError(
                    f"--model-arg {name}={value!r}: {label}'s {name} takes {kind} "
                    f"(default {default!r}); got {type(value).__name__}."
                )

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

    def export(self, filepath, format="saved_model", verbose=False, **kwargs):
        """Writes the model for serving outside Keras (`keras_mlrnn.export.formats.export_model`).

        The artifact takes uint8 images `(B, S, S, 3)` and returns `scores`
        and `sets` (the method's own decision); its class names and decision
        rule are written beside it (`serving.json`). No call is needed first.

        Args:
            filepath: str. A folder for "saved_model"; a file ending in
                `.onnx`, `.tflite` (litert) or `.xml` (openvino).
            format: str. "saved_model" (also "tf_saved_model"), "onnx",
                "litert" or "openvino". Defaults to "saved_model".
            verbose: bool. The converters' own messages. Defaults to False.

        Returns:
            dict: "path", "serving_file", "bytes", "format".

        Example:
        ```python
        model.export("br.onnx", format="onnx")
        from keras_mlrnn.export.serving import load_artifact
        scores, sets = load_artifact("br.onnx")(images)
        ```
        """
        if kwargs:
            raise ValueError(f"export takes no {', '.join(sorted(kwargs))}: the input is fixed.")
        from keras_mlrnn.export.formats import export_model

        return export_model(self, filepath, format=format, verbose=verbose)

    @classmethod
    def from_preset(cls, preset, load_weights=True, **overrides):
        """Builds a model from a preset directory (see `keras_mlrnn.presets.saving`).

        Args:
            preset: str. A preset directory (config.json, model.weights.h5,
                metadata.json) or a built-in preset name.
            load_weights: bool. Load the preset's weights. Defaults to True.
            **overrides: constructor arguments replacing the preset's.
        """
        from keras_mlrnn import presets

        return presets.load_preset(preset, cls=cls, load_weights=load_weights, **overrides)

    def save_to_preset(self, preset_dir, metadata=None, **kwargs):
        """Writes this model as a preset directory (see `keras_mlrnn.presets.save_to_preset`).

        Keyword arguments: `overwrite`, `weights_dtype` ("float16" halves the
        file), `shared_backbone` (a backbone weights file to refer to instead
        of copying).
        """
        from keras_mlrnn import presets

        return presets.save_to_preset(self, preset_dir, metadata=metadata, **kwargs)


def default_metrics(num_classes):
    """The streaming metrics `compile` adds by default: mAP, CF1, OF1."""
    return [
        MeanAveragePrecision(num_classes),
        MultiLabelF1(num_classes, average="class"),
        MultiLabelF1(num_classes, average="overall"),
    ]


def _default_argument(cls, name):
    """The default of constructor argument `name` (the method's own, else the base's), or None."""
    for owner in (cls, MultiLabelModel):
        parameter = inspect.signature(owner.__init__).parameters.get(name)
        if parameter is not None and parameter.default is not inspect.Parameter.empty:
            return parameter.default
    return None


def _argument_kind(default):
    """ "a bool", "a number", "a string", or None (anything) for a default value."""
    if isinstance(default, bool):
        return "a bool (true / false)"
    if isinstance(default, (int, float)):
        return "a number"
    if isinstance(default, str):
        return "a string"
    return None


def _is_kind(value, kind):
    if kind.startswith("a bool"):
        return isinstance(value, bool)
    if kind == "a number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, str)
