"""Presets: a directory with `config.json`, `model.weights.h5` and `metadata.json`.

`save_to_preset(model, dir)` writes one, whole or not at all (staged beside
the target, then moved); `keras_mlrnn.presets.loading.load_preset` reads it back.

A preset trained on a frozen, published backbone may name that backbone's
weights file instead of copying it (`save_to_preset(...,
shared_backbone=FILE)`): `config.json` then holds the file's path relative
to the preset, `metadata.json` its sha256, and `head.weights.h5` the rest
of the model (`keras_mlrnn.presets.head_weights`). The shipped `voc2007_mobilenet_v2`
presets share one ImageNet MobileNetV2 this way. `weights_dtype="float16"`
stores floating weights rounded to half precision (half the file).

Finding a preset (file names, search path, remote handles) is in
`keras_mlrnn.presets.files`, and the names it takes in
`keras_mlrnn.presets.names`.

Example:
```python
import keras_mlrnn as km
model = km.BinaryRelevance(num_classes=20, backbone="tiny", image_size=64)
km.presets.save_to_preset(model, "/tmp/my_preset")
same = km.BinaryRelevance.from_preset("/tmp/my_preset")
```
"""

import json
import os

import keras

from keras_mlrnn.presets.files import (
    CONFIG_FILE,
    HEAD_WEIGHTS_FILE,
    METADATA_FILE,
    WEIGHTS_FILE,
    check_preset_target,
    move_into_place,
    read_json,
    sha256_of,
    staging_directory,
)
from keras_mlrnn.utils.files import write_json


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
    weights_path = _write_weights(model, preset_dir, spec, meta, weights_dtype, shared_backbone)
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


def _write_weights(model, preset_dir, spec, meta, weights_dtype, shared_backbone):
    """Writes the preset's weights file (whole, or the head beside a shared backbone); its path."""
    config = spec["config"]
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
    return weights_path


def update_metadata(preset_dir, **entries):
    """Sets `entries` in a preset's `metadata.json` (e.g. the reports measured on the preset).

    The file is replaced whole (written beside, then renamed), never half-written.
    """
    path = os.path.join(preset_dir, METADATA_FILE)
    meta = read_json(path)
    meta.update(entries)
    write_json(path, meta)


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
        meta = read_json(meta_path)
        own, fixed = meta["reports"]["predict_sets"], meta["reports"]["threshold 0.5"]
        files = [os.path.join(folder, name, f) for f in (WEIGHTS_FILE, HEAD_WEIGHTS_FILE)]
        size = sum(os.path.getsize(f) for f in files if os.path.isfile(f)) / 2**20
        values = [own["mAP"], own["CF1"], own["OF1"], fixed["CF1"], fixed["OF1"]]
        cells = " | ".join(f"{100 * v:.2f}" for v in values)
        side = read_json(os.path.join(folder, name, CONFIG_FILE))["config"]["image_size"]
        rows.append(f"| {name} | {cells} | {side} | {size:.1f} | `{meta['command']}` |")
    return "\n".join(rows)
