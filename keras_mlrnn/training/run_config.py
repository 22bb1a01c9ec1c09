"""A training run's configuration, typed: every option with its default, parsing, the resume rule.

No Keras: the command line's `--help` reads the defaults here. `RunConfig`
is what `keras_mlrnn.training.runs.train(run_dir, **options)` trains with
and what `run_config.json` holds; `keras_mlrnn.training.options` refuses
bad values before a run directory is touched. The options:

- model, dataset, data_dir, csv,
  backbone, backbone_weights, image_size, epochs, batch_size,
  learning_rate, seed, train/val/test_size, top_k;
- clipnorm: clip each gradient's norm;
- augment: the training images' augmentation, "flip" (default),
  "randaugment", "mixup", "cutmix" or "none"
  (`keras_mlrnn.data.augment`; with cache_features "flip",
  "randaugment" (a few cached RandAugment views per image,
  `keras_mlrnn.training.feature_cache.training_views`) or "none");
- ema: average the weights over the steps with this momentum
  (Adam's `use_ema`; e.g. 0.999): validation, the kept best
  model (so the test tables and the preset) use the averaged
  weights; the checkpoints hold both, so resume continues both;
- warmup_epochs: for methods trained in stages (order-free-rnn,
  multi-order-rnn), the first N of `epochs` train only the CNN and
  its confidence head (stage "features"), the rest the model's own
  stage (default "joint"): the papers' two steps in one run;
- model_args: dict of extra constructor arguments, e.g.
  {"use_attention": False};
- save_preset: a directory to write the best model to as a preset
  (its metadata then holds the test reports of the preset as
  saved, measured again after loading it);
- save_preset_dtype: "float16" stores the preset's weights in half
  precision; save_preset_backbone: a backbone weights file the
  preset refers to instead of copying its frozen backbone
  (`keras_mlrnn.presets.saving.save_to_preset`);
- checkpoint_steps: also checkpoint every N steps inside epochs;
- distribute: None, "data-parallel" or "multi-worker" (see
  `keras_mlrnn.training.distribute.data_parallel`; batch_size is global);
- cache_features: True or a directory (default `run_dir/features`):
  freeze the backbone (unless model_args sets backbone_trainable,
  which must then be False), compute its feature maps once per split
  (and the mirror view of the training images) and train the head
  on them (`keras_mlrnn.training.feature_cache`); reused on resume;
- train_on_val: fit on train + val for exactly `epochs` and keep
  the last epoch (for a final model, once the epochs were chosen
  on val; the val scores in the history and the tuned decision
  threshold then come from seen data);
- early_stopping: stop when the validation mAP has not improved
  for this many epochs (the best epoch's model is kept either
  way; on resume the count starts again).
- fine_tune_epochs: train in two stages (`keras_mlrnn.training.fine_tuning`):
  the head on a frozen backbone (`epochs`, `learning_rate`, with
  `cache_features` on cached maps) into `run_dir/head`, then the
  whole model from its best weights for at most this many epochs
  (batch norm frozen, on augmented images), the best epoch by val
  mAP kept; fine_tune_learning_rate (default 3e-5),
  fine_tune_image_size (default image_size) and
  fine_tune_patience (stop after that many epochs without a
  better val mAP; default 2) shape the second stage. On resume a
  finished head is reused; only fine_tune_epochs may grow.
- head_init: "prior" (default) starts the per-class sigmoid heads
  that the method declares in `prior_heads` at the training labels'
  prior, and the bias of those in `prior_bias_heads`
  (`keras_mlrnn.training.head_init.initialize_heads`); "random" keeps Keras'
  initialisers.

Example:
```python
from keras_mlrnn.training.run_config import RunConfig
config = RunConfig.from_options({"model": "cnn-rnn", "epochs": 3})
config.epochs, config.batch_size     # (3, 64)
```
"""

import ast
import dataclasses
import json

from keras_mlrnn.catalog import DEFAULT_METHOD

#: What `head_init` takes.
HEAD_INITS = ("prior", "random")


@dataclasses.dataclass
class RunConfig:
    """Every option of a training run (module docstring), and what the run records."""

    model: str = DEFAULT_METHOD
    dataset: str = "scenes"
    data_dir: str | None = None
    csv: str | None = None
    csv_delimiter: str | None = None
    backbone: str = "tiny"
    backbone_weights: str | None = None
    image_size: int = 64
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 2e-3
    seed: int = 0
    train_size: int | None = None
    val_size: int | None = None
    test_size: int | None = None
    top_k: int = 3
    model_args: dict | None = None
    save_preset: str | None = None
    save_preset_dtype: str | None = None
    save_preset_backbone: str | None = None
    checkpoint_steps: int | None = None
    distribute: str | None = None
    clipnorm: float | None = None
    augment: str = "flip"
    ema: float | None = None
    warmup_epochs: int | None = None
    cache_features: bool | str | None = None
    train_on_val: bool | None = None
    early_stopping: int | None = None
    head_init: str = "prior"
    # Two stages (keras_mlrnn.training.fine_tuning): the head, then the whole model.
    fine_tune_epochs: int | None = None
    fine_tune_learning_rate: float = 3e-5
    fine_tune_image_size: int | None = None
    fine_tune_patience: int = 2
    # Written by the run itself, never options:
    command: str | None = None
    backend: str | None = None
    class_names: list | None = None

    @classmethod
    def from_options(cls, options):
        """The options given (None: the default) over the defaults; unknown ones refused."""
        unknown = sorted(set(options) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"Unknown training options {unknown}; known: {sorted(DEFAULTS)}.")
        return cls(**{k: v for k, v in options.items() if v is not None})

    @classmethod
    def from_saved(cls, saved, path):
        """A `run_config.json`'s contents (`path` names it in the error of an unknown key)."""
        unknown = sorted(set(saved) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"{path} holds options this version does not know: {unknown}.")
        return cls(**saved)

    def to_json(self):
        """A dict of every field, for `run_config.json`."""
        return dataclasses.asdict(self)

    def replace(self, **changes):
        """A copy with `changes`."""
        return dataclasses.replace(self, **changes)

    def resumed(self, options, where):
        """This saved configuration, with the larger epoch count `options` may give.

        Resuming continues the same run: any other given option that differs
        is refused, naming it. The count that may grow is `epochs`, or in a
        two-stage run `fine_tune_epochs` (its head's epochs are fixed).

        Returns:
            (RunConfig, bool): the configuration, and whether the count grew.
        """
        growing = "fine_tune_epochs" if self.fine_tune_epochs else "epochs"
        flag = "--" + growing.replace("_", "-")
        given = {k: v for k, v in options.items() if v is not None}
        saved = self.to_json()
        differ = {k: (saved.get(k), v) for k, v in given.items() if k != growing and saved[k] != v}
        if differ:
            listed = ", ".join(f"{k} (saved {a!r}, given {b!r})" for k, (a, b) in differ.items())
            raise ValueError(
                f"--resume {where}: options differ from its run_config.json: {listed}. A resumed "
                f"run keeps its options (only {flag} may grow); start a new run for other ones."
            )
        epochs, before = given.get(growing, saved[growing]), saved[growing]
        if epochs < before:
            raise ValueError(f"--resume {where}: {flag} {epochs} is fewer than the run's {before}.")
        if epochs == before:
            return self, False
        print(f"Resuming {where}: training on to {epochs} epochs (was {before}).")
        return self.replace(**{growing: epochs}), True


#: What the run records besides its options.
RECORDED = ("command", "backend", "class_names")
#: Every option and its default (what `--help` shows).
DEFAULTS = {f.name: f.default for f in dataclasses.fields(RunConfig) if f.name not in RECORDED}


def parse_value(text):
    """A constructor argument from text: JSON or a Python literal, else the string itself.

    `false` and `False`, `null` and `None`, `0.1`, `[1, 2]`,
    `{"gamma_neg": 2}` are values; any other text is a string. Text that
    opens a list or a dict but parses as neither is refused (ValueError),
    rather than passed on as a string.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        pass
    if text.strip()[:1] in "[{" and text.strip():
        raise ValueError(
            f"{text!r} is neither valid JSON nor a Python literal (quote the keys: "
            '{"gamma_neg": 2}).'
        )
    return text


def parse_model_args(items):
    """`["use_attention=false", "label_order=rare_first"]` -> dict (JSON values, else strings)."""
    parsed = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--model-arg expects KEY=VALUE, got {item!r}.")
        parsed[key] = parse_value(value)
    return parsed
