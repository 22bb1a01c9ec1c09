"""Where presets live: their file names, the built-in search path, remote handles.

`keras_mlrnn.presets.saving` reads and writes the files; this module only finds
them: a local folder, a built-in name's folder on the search path, or a
remote handle (archive or folder URL, `hf://owner/repo`) fetched with
`keras.utils.get_file` into Keras' cache.

Example:
```python
from keras_mlrnn.presets.files import is_preset_dir, weights_search_path
weights_search_path()[-1]          # the source checkout's weights/ folder
is_preset_dir("weights/scenes/binary-relevance")   # True in a checkout
```
"""

import hashlib
import json
import os
import shutil

import keras

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
HEAD_WEIGHTS_FILE = "head.weights.h5"
METADATA_FILE = "metadata.json"


#: The entry-point group of the installed preset families (`keras-mlrnn-voc2007`, ...).
WEIGHTS_ENTRY_POINTS = "keras_mlrnn.weights"


def weights_search_path():
    """Where trained weights of built-in presets are looked for, in order.

    `$KERAS_MLRNN_HOME/presets`, then the folders of the installed preset
    families (the packages registered under `WEIGHTS_ENTRY_POINTS`, e.g.
    `keras_mlrnn_voc2007` of `pip install "keras-mlrnn[voc2007]"`), then
    `weights/` inside the installed package (package data: `scenes`), then
    `weights/` at the top of a source checkout. A preset lives in
    `<root>/<preset>/<model-cli-name>/` (e.g. `weights/scenes/order-free-rnn/`).
    """
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # keras_mlrnn/
    roots = []
    if os.environ.get("KERAS_MLRNN_HOME"):
        roots.append(os.path.join(os.environ["KERAS_MLRNN_HOME"], "presets"))
    roots += _family_folders()
    roots += [os.path.join(package, "weights"), os.path.join(os.path.dirname(package), "weights")]
    return roots


def _family_folders():
    """The folders of the packages registered under `WEIGHTS_ENTRY_POINTS` (not imported)."""
    import importlib.metadata
    import importlib.util

    folders = []
    for entry in sorted(importlib.metadata.entry_points(group=WEIGHTS_ENTRY_POINTS),
                        key=lambda e: e.name):  # fmt: skip
        spec = importlib.util.find_spec(entry.value)
        if spec is not None and spec.submodule_search_locations:
            folders.append(list(spec.submodule_search_locations)[0])
    return folders


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


def sha256_of(path):
    """Hex sha256 of a file, read in chunks (presets' and checkpoints' sums)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_preset_dir(path):
    """Whether `path` is a folder holding a preset (`config.json`)."""
    return os.path.isfile(os.path.join(path, CONFIG_FILE))


#: The files a preset folder written by `keras_mlrnn.presets.saving.save_to_preset` may hold.
PRESET_FILES = (CONFIG_FILE, WEIGHTS_FILE, HEAD_WEIGHTS_FILE, METADATA_FILE)
#: Suffixes of a save's folders beside the target: the new preset being written, and
#: the old one while the two trade places.
STAGING_SUFFIX, REPLACED_SUFFIX = ".partial", ".replaced"


def check_preset_target(preset_dir, overwrite=False):
    """Refuses, before any work, a folder a preset may not be written to.

    A missing or empty folder is fine; a preset written by this package is
    replaced only with `overwrite`; a folder holding anything else (the
    user's own files) never is.

    Raises:
        FileExistsError: naming the folder and what it holds.
    """
    preset_dir = os.fspath(preset_dir)
    if not os.path.exists(preset_dir):
        return
    if not os.path.isdir(preset_dir):
        raise FileExistsError(f"--save-preset {preset_dir} is a file, not a folder.")
    entries = sorted(os.listdir(preset_dir))
    if not entries:
        return
    foreign = [name for name in entries if name not in PRESET_FILES]
    if foreign or not is_preset_dir(preset_dir):
        listed = ", ".join((foreign or entries)[:5])
        raise FileExistsError(
            f"--save-preset {preset_dir} holds files that are not a keras-mlrnn preset "
            f"({listed}); choose another folder (nothing there is touched)."
        )
    if not overwrite:
        raise FileExistsError(
            f"--save-preset {preset_dir} already holds a preset; pass --overwrite "
            "(Python: overwrite=True) to replace it."
        )


def staging_directory(preset_dir):
    """An empty folder beside `preset_dir` to write the new preset into (same depth)."""
    staging = os.path.normpath(os.fspath(preset_dir)) + STAGING_SUFFIX
    if os.path.isdir(staging):  # a save killed before its swap: only our files
        if not set(os.listdir(staging)) <= set(PRESET_FILES):
            raise FileExistsError(f"{staging} holds files this package did not write.")
        shutil.rmtree(staging)
    os.makedirs(staging)
    return staging


def move_into_place(staging, preset_dir):
    """Puts the finished preset in `staging` at `preset_dir`, replacing any old one.

    Two renames on one file system: the old preset steps aside to
    `<preset_dir>.replaced`, the new one takes its name, then the old is
    deleted. A kill never leaves neither: between the renames the old one is
    whole at `.replaced` (and `load_preset` says so).
    """
    preset_dir = os.path.normpath(os.fspath(preset_dir))
    if not os.path.exists(preset_dir):
        os.rename(staging, preset_dir)
        return
    replaced = preset_dir + REPLACED_SUFFIX
    if os.path.isdir(replaced):
        shutil.rmtree(replaced)
    if os.path.isdir(preset_dir) and not os.listdir(preset_dir):
        os.rmdir(preset_dir)
        os.rename(staging, preset_dir)
        return
    os.rename(preset_dir, replaced)
    os.rename(staging, preset_dir)
    shutil.rmtree(replaced)


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from e
