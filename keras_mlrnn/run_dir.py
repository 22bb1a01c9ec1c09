"""The files of a run directory and the training options' defaults (no Keras needed).

A run directory written by `keras_mlrnn.runs.train` holds `run_config.json`
(every option of `DEFAULTS`, as used), `metrics.json`, `history.csv`,
`checkpoints/`, `model.keras` and `training_curves.png`.

Example:
```python
from keras_mlrnn.run_dir import DEFAULTS, read_config
DEFAULTS["epochs"]          # 10
# read_config("runs/br")    # the options a run was trained with, or None
```
"""

import json
import os

RUN_CONFIG = "run_config.json"
METRICS = "metrics.json"
HISTORY = "history.csv"
MODEL_FILE = "model.keras"
CHECKPOINTS = "checkpoints"

# Every option of `keras_mlrnn.runs.train` and its default.
DEFAULTS = {
    "model": "binary-relevance",
    "dataset": "scenes",
    "data_dir": None,
    "csv": None,
    "csv_delimiter": None,
    "backbone": "tiny",
    "backbone_weights": None,
    "image_size": 64,
    "epochs": 10,
    "batch_size": 64,
    "learning_rate": 2e-3,
    "seed": 0,
    "train_size": None,
    "val_size": None,
    "test_size": None,
    "top_k": 3,
    "model_args": None,
    "save_preset": None,
    "save_preset_dtype": None,
    "save_preset_backbone": None,
    "checkpoint_steps": None,
    "distribute": None,
    "clipnorm": None,
    "warmup_epochs": None,
    "cache_features": None,
    "train_on_val": None,
    "early_stopping": None,
    "head_init": "prior",
}


def read_config(run_dir):
    """The options saved in `run_dir/run_config.json` over `DEFAULTS`, or None if there is none."""
    path = os.path.join(run_dir, RUN_CONFIG)
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            saved = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from None
    return {**DEFAULTS, **saved}
