"""Two-stage training: the head on a frozen backbone, then the whole model.

All five papers fine-tune their CNN. On a CPU the cheap way there is the
recipe of `keras_mlrnn.training.runs.train(..., fine_tune_epochs=N)`:

1. **The head** (`run_dir/head/`, a complete run of its own): the backbone
   frozen, usually on cached features (`cache_features`), `epochs` at
   `learning_rate`, the best epoch by val mAP. Its `metrics.json` is the
   frozen model's table.
2. **The whole model**, from the head's best weights (the run directory's
   own files: `checkpoints/`, `history.csv`, `model.keras`,
   `metrics.json`): the backbone trainable with its BatchNormalization
   layers kept in inference mode (`freeze_batchnorm`: ImageNet statistics,
   which batches of 32 would only blur), Adam at `fine_tune_learning_rate`
   (default 3e-5) for at most `fine_tune_epochs`, on images (the run's
   augmentation: random flip and resized crop by default) at
   `fine_tune_image_size` (default: the head's size; the heads are
   size-independent, so a head trained on 224 px features fine-tunes at
   448), the best epoch by val mAP, stopped after `fine_tune_patience`
   epochs without a better one.

A kill in either stage is resumed by `train(run_dir, resume=True)`: an
unfinished head continues from its checkpoint, a finished one is reused,
and the second stage continues from its own checkpoint.

This module holds what the stages are made of (their options and the
second stage's model); `keras_mlrnn.training.runs.train` runs them.

Example (the same recipe by hand, e.g. on a GPU):
```python
import keras
import keras_mlrnn as km
from keras_mlrnn.data.splits import load_splits
from keras_mlrnn.training.fine_tuning import whole_model

splits = load_splits("scenes", sizes={"train": 256, "val": 64, "test": 64})
head = km.BinaryRelevance(20, backbone="tiny", image_size=64, backbone_trainable=False)
head.compile(optimizer=keras.optimizers.Adam(2e-3))
head.fit(splits["train"].dataset(64, 32, shuffle=True, augment="flip"), epochs=2)
model = whole_model(head, image_size=64)     # backbone trainable, batch norm frozen
model.compile(optimizer=keras.optimizers.Adam(3e-5, clipnorm=1.0))
model.fit(splits["train"].dataset(64, 32, shuffle=True, augment="flip"), epochs=1)
```
"""

import numpy as np

from keras_mlrnn.training.run_config import RECORDED

#: The options that belong to the second stage only (the head's run leaves them out).
FINE_TUNE_OPTIONS = (
    "fine_tune_epochs",
    "fine_tune_learning_rate",
    "fine_tune_image_size",
    "fine_tune_patience",
)
#: Options of the final model only: the head writes no preset.
_FINAL_ONLY = ("save_preset", "save_preset_dtype", "save_preset_backbone")


def head_options(config):
    """The options of the first stage's run: the run's own, the backbone frozen.

    The second stage's options and the preset options are left out; a run
    without a feature cache freezes the backbone through `model_args`.
    """
    left_out = FINE_TUNE_OPTIONS + _FINAL_ONLY + RECORDED  # RECORDED: written by the run
    options = {k: v for k, v in config.to_json().items() if k not in left_out}
    options["model_args"] = {**(config.model_args or {}), "backbone_trainable": False}
    return options


def second_stage_config(config):
    """The run's options as the second stage trains: its epochs, rate, size and patience.

    No feature cache (the backbone learns), no warm-up (the head is trained),
    and early stopping after `fine_tune_patience` epochs unless the run
    trains on val (then exactly `fine_tune_epochs`).
    """
    return config.replace(
        epochs=int(config.fine_tune_epochs),
        learning_rate=float(config.fine_tune_learning_rate),
        image_size=int(config.fine_tune_image_size or config.image_size),
        early_stopping=None if config.train_on_val else config.fine_tune_patience,
        cache_features=None,
        warmup_epochs=None,
    )


def check_fine_tune_options(config):
    """A ValueError naming the option when a two-stage run's options cannot work."""
    epochs = config.fine_tune_epochs
    if epochs is None:
        return
    if int(epochs) < 1:
        raise ValueError(f"fine_tune_epochs must be at least 1; got {epochs}.")
    if not float(config.fine_tune_learning_rate) > 0:
        raise ValueError(
            f"fine_tune_learning_rate must be positive; got {config.fine_tune_learning_rate}."
        )
    if (config.model_args or {}).get("backbone_trainable") is True:
        raise ValueError(
            "fine_tune_epochs trains the head on a frozen backbone first; drop "
            "backbone_trainable=true from model_args (the second stage unfreezes it)."
        )


def whole_model(head, image_size=None):
    """The second stage's model: `head`'s method and weights, its backbone trainable.

    Args:
        head: a trained `MultiLabelModel` (its backbone frozen or not).
        image_size: int or None. The new model's input side (None: the head's).
            Every method's head is independent of the feature map's size.

    Returns:
        A new model of `head`'s class with `backbone_trainable=True`,
        `freeze_batchnorm=True` and every weight of `head`.
    """
    head(np.zeros((1, head.image_size, head.image_size, 3), dtype="uint8"))  # built, if not yet
    config = head.get_config()
    config.update(
        backbone_trainable=True,
        freeze_batchnorm=True,
        image_size=int(image_size or head.image_size),
    )
    model = type(head).from_config(config)
    side = model.image_size
    model(np.zeros((1, side, side, 3), dtype="uint8"))  # builds every weight
    model.set_weights(head.get_weights())
    return model
