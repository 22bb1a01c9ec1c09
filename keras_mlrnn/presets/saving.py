"""Presets: a directory with `config.json`, `model.weights.h5` and `metadata.json`.

`save_to_preset(model, dir)` writes one; `load_preset(dir)` (behind every
model's `from_preset`) reads it back, checking the weights' sha256 against
`metadata.json` so a corrupted or swapped file fails loudly.

A preset trained on a frozen, published backbone may name that backbone's
weights file instead of copying it (`save_to_preset(...,
shared_backbone=FILE)`): `config.json` then holds the file's path relative
to the preset, `metadata.json` its sha256, and `head.weights.h5` the rest
of the model (`keras_mlrnn.presets.head_weights`). The shipped `voc2007_mobilenet_v2`
presets share one ImageNet MobileNetV2 this way. `weights_dtype="float16"`
stores floating weights rounded to half precision (half the file).

Finding a preset (file names, search path, remote handles) is in
`keras_mlrnn.presets.files`, and the names it takes in
`keras_mlrnn.presets.names`. This module stays near 400 lines because
saving and loading share one file format and its checks (sha256, the
shared backbone, float16 rounding): split apart, each half would have to
restate the other's. For the same reason `save_to_preset` and `load_preset`
pass 60 lines with their argument docs (about 55 and 50 of code).

Example:
```python
import keras_mlrnn as km
model = km.BinaryRelevance(num_classes=20, backbone="tiny", image_size=64)
km.presets.save_to_preset(model, "/tmp/my_preset")
same = km.BinaryRelevance.from_preset("/tmp/my_preset")
```
"""

import contextlib
import json
import os
import warnings

import keras

from keras_mlrnn.presets.files import (
    CONFIG_FILE,
    HEAD_WEIGHTS_FILE,
    METADATA_FILE,
    REMOTE_PREFIXES,
    REPLACED_SUFFIX,
    WEIGHTS_FILE,
    check_preset_target,
    fetch_preset,
    is_preset_dir,
    move_into_place,
    sha256_of,
    staging_directory,
    weights_search_path,
)
from keras_mlrnn.presets.names import (
    announce,
    cli_name,
    preset_names,
    trained_folder,
    trained_presets,
)
from keras_mlrnn.utils.files import write_json


def _load_builtin(preset, cls, load_weights, overrides):
    from keras_mlrnn.presets.configs import (
        PAPER_SUFFIX,
        TRAINED_PRESETS,
        builtin_config,
        paper_preset_names,
    )

    name = cli_name(cls)
    paper = preset in paper_preset_names()
    found, candidates = (None, []) if paper else trained_folder(preset, name)
    if found is not None:  # trained weights, shipped or in $KERAS_MLRNN_HOME
        return load_preset(found, cls=cls, load_weights=load_weights, **overrides)
    if not paper and preset in TRAINED_PRESETS:  # a data set's name: the zoo's model for it
        found, tried = trained_folder(TRAINED_PRESETS[preset], name)
        candidates += tried
        if found is not None:
            model = load_preset(found, cls=cls, load_weights=load_weights, **overrides)
            announce(preset, cls.__name__, found)
            return model
    config = builtin_config(cls, preset)
    if config is None:
        raise ValueError(
            f"Unknown preset {preset!r}: not a directory, and not a preset name of "
            f"{cls.__name__}: {', '.join(preset_names(cls))}."
        )
    if load_weights:
        dataset = preset.removesuffix(PAPER_SUFFIX)
        data = "" if dataset == "scenes" else f" --dataset {dataset} --data-dir DATA_DIR"
        trained = trained_presets(cls)
        looked = f" Looked in: {', '.join(candidates)}." if candidates else ""
        if paper:
            looked = f" Train them, then load them as {dataset!r}."
        raise FileNotFoundError(
            f"No trained weights for preset {preset!r} of {cls.__name__} (a configuration "
            f"only).{looked} Train them with: keras-mlrnn train --model {name}{data} "
            f"--save-preset $KERAS_MLRNN_HOME/presets/{dataset}/{name} (with KERAS_MLRNN_HOME "
            "set to a folder of yours, e.g. ~/.keras_mlrnn), or pass load_weights=False for "
            "the configured, untrained model. Presets of "
            f"{cls.__name__} with trained weights: {', '.join(trained) or 'none'}."
        )
    model = cls(**{**config, **overrides})
    model.build()
    return model


def _round_to_float16(weights_path):
    """Rewrites every floating dataset of an HDF5 weights file as float16 (Keras casts on load)."""
    import h5py
    import numpy as np

    def copy(name, obj):
        if isinstance(obj, h5py.Group):
            out.require_group(name).attrs.update(obj.attrs)
            return
        value = obj[()]
        if np.issubdtype(value.dtype, np.floating):
            value = value.astype(np.float16)
        out.create_dataset(name, data=value).attrs.update(obj.attrs)

    # A new file: HDF5 does not give back the space of a replaced dataset.
    rounded = weights_path + ".float16"
    with h5py.File(weights_path, "r") as src, h5py.File(rounded, "w") as out:
        out.attrs.update(src.attrs)
        src.visititems(copy)
    os.replace(rounded, weights_path)


def _check_shared_backbone(model, path):
    """Raises unless `model`'s backbone holds exactly the weights in the file `path`."""
    import numpy as np

    from keras_mlrnn.backbones import feature_extractors as backbones

    if model.backbone_name is None:
        raise ValueError("shared_backbone needs a named backbone (e.g. 'mobilenet_v2').")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"shared_backbone not found: {path}")
    reference = backbones.build_backbone(model.backbone_name, model.image_size, weights=path)
    for ours, theirs in zip(model.backbone.weights, reference.weights):
        if not np.array_equal(keras.ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(theirs)):
            raise ValueError(
                f"The model's backbone differs from {path} (first at {ours.path}): only a "
                "backbone frozen on exactly that file can be shared."
            )


def save_to_preset(
    model, preset_dir, metadata=None, overwrite=False, weights_dtype="float32", shared_backbone=None
):
    """Writes `model` as a preset directory.

    Args:
        model: a built `MultiLabelModel`.
        preset_dir: str. Directory to write; created if missing.
        metadata: dict or None. Extra metadata (data set, split, metric
            table, the command that trained the model).
        overwrite: bool. Replace an existing preset. Defaults to False.
        weights_dtype: str. "float32", or "float16" to store floating
            weights rounded to half precision. Defaults to "float32".
        shared_backbone: str or None. A backbone weights file holding
            exactly this model's (frozen) backbone: the preset refers to it
            by relative path instead of copying it, and stores the rest of
            the model in `head.weights.h5`. Defaults to None.

    Returns:
        str, the preset directory.
    """
    check_preset_target(preset_dir, overwrite)
    if weights_dtype not in ("float32", "float16"):
        raise ValueError(f"weights_dtype must be 'float32' or 'float16'; got {weights_dtype!r}.")
    if not model.built:
        model.build()
    if shared_backbone is not None:
        _check_shared_backbone(model, shared_backbone)
    target, preset_dir = preset_dir, staging_directory(preset_dir)  # written beside, then moved
    config_path = os.path.join(preset_dir, CONFIG_FILE)
    config = model.get_config()
    config["backbone_weights"] = None  # the weights files carry them
    spec = {"registered_name": keras.saving.get_registered_name(type(model)), "config": config}
    meta = dict(metadata or {})
    if shared_backbone is not None:
        from keras_mlrnn.presets.head_weights import save_head_weights

        relative = os.path.relpath(os.path.abspath(shared_backbone), os.path.abspath(preset_dir))
        spec["shared_backbone"] = relative.replace(os.sep, "/")
        weights_path = os.path.join(preset_dir, HEAD_WEIGHTS_FILE)
        save_head_weights(model, weights_path, dtype=weights_dtype)
        meta["backbone_sha256"] = sha256_of(shared_backbone)
    else:
        weights_path = os.path.join(preset_dir, WEIGHTS_FILE)
        # A compiled model's weights file also holds the optimizer's state (about
        # twice the weights for Adam); a preset keeps the model's weights only.
        bare = type(model).from_config(config)
        bare.build()
        bare.set_weights(model.get_weights())
        bare.save_weights(weights_path, overwrite=True)
        if weights_dtype == "float16":
            _round_to_float16(weights_path)
    with open(config_path, "w") as f:
        json.dump(spec, f, indent=2)
    from keras_mlrnn.version import __version__

    meta.update(
        {
            "weights_sha256": sha256_of(weights_path),
            "weights_dtype": weights_dtype,
            "keras_version": keras.__version__,
            "keras_mlrnn_version": __version__,
        }
    )
    with open(os.path.join(preset_dir, METADATA_FILE), "w") as f:
        json.dump(meta, f, indent=2)
    move_into_place(preset_dir, target)
    return target


def update_metadata(preset_dir, **entries):
    """Sets `entries` in a preset's `metadata.json` (e.g. the reports measured on the preset).

    The file is replaced whole (written beside, then renamed), never half-written.
    """
    path = os.path.join(preset_dir, METADATA_FILE)
    meta = _read_json(path)
    meta.update(entries)
    write_json(path, meta)


def _read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from e


def load_preset(preset, cls=None, load_weights=True, **overrides):
    """Builds the model a preset describes.

    Args:
        preset: str. A preset directory, a trained preset's name (e.g.
            "voc2007_mobilenet_v2" or "scenes", found on
            `weights_search_path()`), a data set's name ("coco", "voc2007":
            the zoo's trained model for it where installed, announced in one
            line; else its paper configuration), a paper configuration's
            name ("coco_paper", "voc2007_paper", "nuswide_paper": never
            trained weights, so with `load_weights=False`), or a URL / hub
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
    replaced = os.path.normpath(preset) + REPLACED_SUFFIX
    if not os.path.isdir(preset) and os.path.isdir(replaced):
        raise FileNotFoundError(
            f"{preset} is missing: a save that was replacing it was interrupted, and the "
            f"previous preset is whole in {replaced} (rename it back to {preset})."
        )
    if os.path.isdir(preset) and _is_builtin_name(preset, cls):
        if not is_preset_dir(preset):
            # A folder that happens to share a built-in name (./coco holding
            # the COCO images) does not hide the built-in preset.
            warnings.warn(
                f"{os.path.abspath(preset)} is a folder but holds no preset ({CONFIG_FILE}): "
                f"loading the built-in preset {preset!r} of {cls.__name__}.",
                UserWarning,
                stacklevel=2,
            )
            return _load_builtin(preset, cls, load_weights, overrides)
        warnings.warn(
            f"Loading the preset in the folder {os.path.abspath(preset)}, not the built-in "
            f"preset {preset!r} of the same name (rename the folder, or pass "
            f"{os.path.join('.', preset)!r}, to silence this).",
            UserWarning,
            stacklevel=2,
        )
    if not os.path.isdir(preset):
        if cls is None:
            raise ValueError(f"Unknown preset directory {preset!r}.")
        return _load_builtin(preset, cls, load_weights, overrides)
    config_path = os.path.join(preset, CONFIG_FILE)
    if not os.path.isfile(config_path):
        raise FileNotFoundError(f"{preset} is not a preset directory: {CONFIG_FILE} is missing.")
    spec = _read_json(config_path)
    preset_cls = cls
    if cls is None or spec["registered_name"] != keras.saving.get_registered_name(cls):
        preset_cls = keras.saving.get_registered_object(spec["registered_name"])
    if preset_cls is None:
        raise ValueError(
            f"{config_path} names the class {spec['registered_name']!r}, which is not "
            "registered: import the package that defines it first (for keras_mlrnn's "
            "models: `import keras_mlrnn.models`, or use <Class>.from_preset)."
        )
    if cls is not None and not issubclass(preset_cls, cls):
        raise ValueError(
            f"Preset {preset} holds a {preset_cls.__name__}, not a {cls.__name__}; "
            f"use {preset_cls.__name__}.from_preset."
        )
    model = preset_cls.from_config({**spec["config"], **overrides})
    model.build()
    if load_weights:
        _load_preset_weights(model, preset, spec)
    return model


def _is_builtin_name(preset, cls):
    """Whether `preset`, as written, is the bare name of a built-in or trained preset of `cls`."""
    from keras_mlrnn.presets.configs import builtin_config

    if cls is None or os.sep in preset or preset.startswith("."):
        return False
    return builtin_config(cls, preset) is not None or preset in trained_presets(cls)


def _checked(path, expected):
    """`path`, after checking it exists and (if `expected`) that its sha256 matches.

    With no expected sha256 (no `metadata.json`, or one without the entry)
    the file is used unchecked, with a warning.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Preset weights file not found: {path}")
    if expected is None:
        warnings.warn(
            f"{path}: no sha256 for it in the preset's {METADATA_FILE}, so it is loaded "
            "without a checksum (a corrupted or swapped file would go unnoticed).",
            UserWarning,
            stacklevel=3,
        )
        return path
    actual = sha256_of(path)
    if expected is not None and actual != expected:
        raise ValueError(
            f"sha256 mismatch for {path}: metadata.json expects {expected}, "
            f"the file has {actual}. The file is corrupted or was replaced."
        )
    return path


def _load_preset_weights(model, preset, spec):
    from keras_mlrnn.backbones.feature_extractors import load_backbone_weights
    from keras_mlrnn.presets.head_weights import load_head_weights

    meta_path = os.path.join(preset, METADATA_FILE)
    meta = _read_json(meta_path) if os.path.isfile(meta_path) else {}
    shared = spec.get("shared_backbone")
    if shared is None:
        path = _checked(os.path.join(preset, WEIGHTS_FILE), meta.get("weights_sha256"))
        with _readable(path):
            model.load_weights(path)
        return
    backbone = _checked(_shared_backbone_file(preset, shared), meta.get("backbone_sha256"))
    with _readable(backbone):
        load_backbone_weights(model.backbone, backbone)
    head = _checked(os.path.join(preset, HEAD_WEIGHTS_FILE), meta.get("weights_sha256"))
    with _readable(head):
        load_head_weights(model, head)


def _shared_backbone_file(preset, shared):
    """Where a preset's shared backbone is: its relative path, or else (a preset family
    installed apart from the main wheel) the file of that name in `backbones/` of a
    `weights_search_path()` root. Its sha256 is checked either way."""
    beside = os.path.normpath(os.path.join(preset, shared))
    candidates = [beside] + [
        os.path.join(root, "backbones", os.path.basename(shared)) for root in weights_search_path()
    ]
    return next((c for c in candidates if os.path.isfile(c)), beside)


@contextlib.contextmanager
def _readable(path):
    """Turns h5py's raw `OSError` on a damaged weights file into one naming the file, and
    Keras' multi-line shape mismatch (weights of another configuration) into one line."""
    try:
        yield
    except OSError as e:
        raise ValueError(
            f"{path} cannot be read as an HDF5 weights file ({e}). It is probably truncated "
            "or damaged (an interrupted download or copy): fetch or copy it again."
        ) from None
    except ValueError as e:
        first = " ".join(str(e).split())[:300]
        raise ValueError(
            f"{path} does not fit the model its folder's {CONFIG_FILE} describes (edited "
            f"config, or weights of another model?): {first}"
        ) from None


def preset_table(root, preset="scenes"):
    """Markdown table of the trained presets under `root/<preset>/`, from their metadata.

    One row per method: test mAP, CF1 / OF1 of the method's own decision
    (`predict_sets`) and at threshold 0.5, the input side in pixels, the
    weights' size, and the command that trained them. `weights/README.md`
    holds this table.
    """
    folder = os.path.join(root, preset)
    rows = [
        "| method | mAP | CF1 | OF1 | CF1 @0.5 | OF1 @0.5 | px | weights MB | command |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in sorted(os.listdir(folder)):
        meta_path = os.path.join(folder, name, METADATA_FILE)
        if not os.path.isfile(meta_path):
            continue
        meta = _read_json(meta_path)
        own, fixed = meta["reports"]["predict_sets"], meta["reports"]["threshold 0.5"]
        files = [os.path.join(folder, name, f) for f in (WEIGHTS_FILE, HEAD_WEIGHTS_FILE)]
        size = sum(os.path.getsize(f) for f in files if os.path.isfile(f)) / 2**20
        values = [own["mAP"], own["CF1"], own["OF1"], fixed["CF1"], fixed["OF1"]]
        cells = " | ".join(f"{100 * v:.2f}" for v in values)
        side = _read_json(os.path.join(folder, name, CONFIG_FILE))["config"]["image_size"]
        rows.append(f"| {name} | {cells} | {side} | {size:.1f} | `{meta['command']}` |")
    return "\n".join(rows)
