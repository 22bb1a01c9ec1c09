"""Loading a preset: built-in names, folders and remote handles to a built model, weights verified.

`load_preset(dir)` (behind every model's `from_preset`) reads what
`keras_mlrnn.presets.saving.save_to_preset` wrote, checking the weights'
sha256 against `metadata.json` so a corrupted or swapped file fails loudly.
"""

import contextlib
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
    fetch_preset,
    is_preset_dir,
    read_json,
    sha256_of,
    weights_search_path,
)
from keras_mlrnn.presets.names import (
    announce,
    cli_name,
    preset_names,
    trained_folder,
    trained_presets,
)


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
    if os.path.isdir(preset) and _is_builtin_name(preset, cls) and _prefers_builtin(preset, cls):
        return _load_builtin(preset, cls, load_weights, overrides)
    if not os.path.isdir(preset):
        if cls is None:
            raise ValueError(f"Unknown preset directory {preset!r}.")
        return _load_builtin(preset, cls, load_weights, overrides)
    config_path = os.path.join(preset, CONFIG_FILE)
    if not os.path.isfile(config_path):
        raise FileNotFoundError(f"{preset} is not a preset directory: {CONFIG_FILE} is missing.")
    spec = read_json(config_path)
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
    meta = read_json(meta_path) if os.path.isfile(meta_path) else {}
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


def _prefers_builtin(preset, cls):
    """For a folder named like a built-in preset of `cls`: whether the built-in one is meant.

    A folder that holds no preset (./coco holding the COCO images) does not
    hide the built-in preset; a preset folder wins, with a warning either way.
    """
    if not is_preset_dir(preset):
        # A folder that happens to share a built-in name (./coco holding
        # the COCO images) does not hide the built-in preset.
        warnings.warn(
            f"{os.path.abspath(preset)} is a folder but holds no preset ({CONFIG_FILE}): "
            f"loading the built-in preset {preset!r} of {cls.__name__}.",
            UserWarning,
            stacklevel=3,
        )
        return True
    warnings.warn(
        f"Loading the preset in the folder {os.path.abspath(preset)}, not the built-in "
        f"preset {preset!r} of the same name (rename the folder, or pass "
        f"{os.path.join('.', preset)!r}, to silence this).",
        UserWarning,
        stacklevel=3,
    )
    return False
