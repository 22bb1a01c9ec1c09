"""Presets: a directory with `config.json`, `model.weights.h5` and `metadata.json`.

`save_to_preset(model, dir)` writes one; `load_preset(dir)` (behind every
model's `from_preset`) reads it back, checking the weights' sha256 against
`metadata.json` so a corrupted or swapped file fails loudly.

Example:
```python
import keras_mlrnn as km
model = km.BinaryRelevance(num_classes=20, backbone="tiny", image_size=64)
km.presets.save_to_preset(model, "/tmp/my_preset")
same = km.BinaryRelevance.from_preset("/tmp/my_preset")
```
"""

import hashlib
import json
import os

import keras

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"


def weights_search_path():
    """Where trained weights of built-in presets are looked for, in order.

    `$KERAS_MLRNN_HOME/presets`, then `weights/` inside the installed package
    (package data), then `weights/` at the top of a source checkout. A
    preset lives in `<root>/<preset>/<model-cli-name>/` (e.g.
    `weights/scenes/order-free-rnn/`).
    """
    here = os.path.dirname(os.path.abspath(__file__))
    roots = []
    if os.environ.get("KERAS_MLRNN_HOME"):
        roots.append(os.path.join(os.environ["KERAS_MLRNN_HOME"], "presets"))
    roots += [os.path.join(here, "weights"), os.path.join(os.path.dirname(here), "weights")]
    return roots


REMOTE_PREFIXES = ("http://", "https://", "file://", "hf://")


def _find_preset_dir(root):
    """The folder under `root` (itself included) that holds a `config.json`."""
    for folder, _, files in sorted(os.walk(root)):
        if CONFIG_FILE in files:
            return folder
    raise FileNotFoundError(f"No {CONFIG_FILE} inside the downloaded preset {root}.")


def fetch_preset(handle, cache_dir=None):
    """Downloads a remote preset with `keras.utils.get_file`; returns the local directory.

    Args:
        handle: str. An archive URL (`https://.../preset.tar.gz` or `.zip`,
            also `file://`), a folder URL ending in "/" holding the three
            preset files, or a Hugging Face handle `hf://owner/repo` (its
            main branch's files).
        cache_dir: str or None. Keras' cache folder (default `$KERAS_HOME`
            or `~/.keras`); files land in `keras_mlrnn_presets/`.

    Returns:
        str, a preset directory.
    """
    if handle.startswith("hf://"):
        handle = f"https://huggingface.co/{handle[len('hf://') :].strip('/')}/resolve/main/"
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in handle.split("://", 1)[1])
    if handle.endswith("/"):
        for file in (CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE):
            path = keras.utils.get_file(
                fname=file,
                origin=handle + file,
                cache_dir=cache_dir,
                cache_subdir=os.path.join("keras_mlrnn_presets", name),
            )
        return os.path.dirname(path)
    path = keras.utils.get_file(
        fname=name, origin=handle, extract=True, cache_dir=cache_dir,
        cache_subdir="keras_mlrnn_presets",
    )  # fmt: skip
    return _find_preset_dir(path if os.path.isdir(path) else os.path.dirname(path))


def _cli_name(cls):
    from keras_mlrnn.models import MODELS

    return next((name for name, klass in MODELS.items() if klass is cls), cls.__name__)


def _load_builtin(preset, cls, load_weights, overrides):
    from keras_mlrnn.preset_configs import DATASET_CLASSES, builtin_config

    config = builtin_config(cls.__name__, preset)
    if config is None:
        raise ValueError(
            f"Unknown preset {preset!r}: not a directory, and not a built-in preset name "
            f"(built-in: {sorted(DATASET_CLASSES)})."
        )
    name = _cli_name(cls)
    candidates = [os.path.join(root, preset, name) for root in weights_search_path()]
    found = next((c for c in candidates if os.path.isfile(os.path.join(c, CONFIG_FILE))), None)
    if found is not None:
        return load_preset(found, cls=cls, load_weights=load_weights, **overrides)
    if load_weights:
        data = "" if preset == "scenes" else f" --dataset {preset} --data-dir DATA_DIR"
        raise FileNotFoundError(
            f"No trained weights for preset {preset!r} of {cls.__name__}. Looked in: "
            + ", ".join(candidates)
            + f". Train them with: keras-mlrnn train --model {name}{data} "
            f"--save-preset {candidates[0]} (set KERAS_MLRNN_HOME to choose the folder), "
            "or pass load_weights=False for the configured, untrained model."
        )
    model = cls(**{**config, **overrides})
    model.build()
    return model


def sha256_of(path):
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_to_preset(model, preset_dir, metadata=None, overwrite=False):
    """Writes `model` as a preset directory.

    Args:
        model: a built `MultiLabelModel`.
        preset_dir: str. Directory to write; created if missing.
        metadata: dict or None. Extra metadata (data set, split, metric
            table, the command that trained the model).
        overwrite: bool. Replace an existing preset. Defaults to False.

    Returns:
        str, the preset directory.
    """
    config_path = os.path.join(preset_dir, CONFIG_FILE)
    if os.path.exists(config_path) and not overwrite:
        raise FileExistsError(
            f"{preset_dir} already holds a preset; pass overwrite=True to replace it."
        )
    os.makedirs(preset_dir, exist_ok=True)
    if not model.built:
        model.build()
    config = model.get_config()
    config["backbone_weights"] = None  # the weights file carries them
    with open(config_path, "w") as f:
        json.dump(
            {"registered_name": keras.saving.get_registered_name(type(model)), "config": config},
            f,
            indent=2,
        )
    weights_path = os.path.join(preset_dir, WEIGHTS_FILE)
    # A compiled model's weights file also holds the optimizer's state (about
    # twice the weights for Adam); a preset keeps the model's weights only.
    bare = type(model).from_config(config)
    bare.build()
    bare.set_weights(model.get_weights())
    bare.save_weights(weights_path, overwrite=True)
    from keras_mlrnn import __version__

    meta = dict(metadata or {})
    meta.update(
        {
            "weights_sha256": sha256_of(weights_path),
            "keras_version": keras.__version__,
            "keras_mlrnn_version": __version__,
        }
    )
    with open(os.path.join(preset_dir, METADATA_FILE), "w") as f:
        json.dump(meta, f, indent=2)
    return preset_dir


def _read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from e


def load_preset(preset, cls=None, load_weights=True, **overrides):
    """Builds the model a preset describes.

    Args:
        preset: str. A preset directory, a built-in preset name ("coco",
            "voc2007", "nuswide", "scenes": the paper's configuration for the
            class, weights from `weights_search_path()`), or a URL / hub
            handle (`https://...tar.gz`, `hf://owner/repo`; see `fetch_preset`).
        cls: the class asked for (e.g. `km.BinaryRelevance`) or None for
            whatever class the preset holds.
        load_weights: bool. Load and verify the weights. Defaults to True.
        **overrides: constructor arguments replacing the preset's.

    Returns:
        A built model.
    """
    if preset.startswith(REMOTE_PREFIXES):
        preset = fetch_preset(preset)
    if not os.path.isdir(preset):
        if cls is None:
            raise ValueError(f"Unknown preset directory {preset!r}.")
        return _load_builtin(preset, cls, load_weights, overrides)
    config_path = os.path.join(preset, CONFIG_FILE)
    if not os.path.isfile(config_path):
        raise FileNotFoundError(f"{preset} is not a preset directory: {CONFIG_FILE} is missing.")
    spec = _read_json(config_path)
    preset_cls = keras.saving.get_registered_object(spec["registered_name"])
    if preset_cls is None:
        raise ValueError(f"{config_path} names an unknown class {spec['registered_name']!r}.")
    if cls is not None and not issubclass(preset_cls, cls):
        raise ValueError(
            f"Preset {preset} holds a {preset_cls.__name__}, not a {cls.__name__}; "
            f"use {preset_cls.__name__}.from_preset."
        )
    model = preset_cls.from_config({**spec["config"], **overrides})
    model.build()
    if load_weights:
        weights_path = os.path.join(preset, WEIGHTS_FILE)
        if not os.path.isfile(weights_path):
            raise FileNotFoundError(f"Preset {preset} has no weights file {WEIGHTS_FILE}.")
        meta_path = os.path.join(preset, METADATA_FILE)
        expected = (
            _read_json(meta_path).get("weights_sha256") if os.path.isfile(meta_path) else None
        )
        actual = sha256_of(weights_path)
        if expected is not None and actual != expected:
            raise ValueError(
                f"sha256 mismatch for {weights_path}: metadata.json expects {expected}, "
                f"the file has {actual}. The file is corrupted or was replaced."
            )
        model.load_weights(weights_path)
    return model


def preset_table(root, preset="scenes"):
    """Markdown table of the trained presets under `root/<preset>/`, from their metadata.

    One row per method: test mAP, CF1 / OF1 of the method's own decision
    (`predict_sets`) and at threshold 0.5, the weights' size, and the command
    that trained them. `weights/README.md` holds this table.
    """
    folder = os.path.join(root, preset)
    rows = [
        "| method | mAP | CF1 | OF1 | CF1 @0.5 | OF1 @0.5 | weights MB | command |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in sorted(os.listdir(folder)):
        meta_path = os.path.join(folder, name, METADATA_FILE)
        if not os.path.isfile(meta_path):
            continue
        meta = _read_json(meta_path)
        own, fixed = meta["reports"]["predict_sets"], meta["reports"]["threshold 0.5"]
        size = os.path.getsize(os.path.join(folder, name, WEIGHTS_FILE)) / 2**20
        values = [own["mAP"], own["CF1"], own["OF1"], fixed["CF1"], fixed["OF1"]]
        cells = " | ".join(f"{100 * v:.2f}" for v in values)
        rows.append(f"| {name} | {cells} | {size:.1f} | `{meta['command']}` |")
    return "\n".join(rows)
