"""Where presets live: their file names, the built-in search path, remote handles.

`keras_mlrnn.presets` reads and writes the files; this module only finds
them: a local folder, a built-in name's folder on the search path, or a
remote handle (archive or folder URL, `hf://owner/repo`) fetched with
`keras.utils.get_file` into Keras' cache.

Example:
```python
from keras_mlrnn.preset_files import is_preset_dir, weights_search_path
weights_search_path()[-1]          # the source checkout's weights/ folder
is_preset_dir("weights/scenes/binary-relevance")   # True in a checkout
```
"""

import os

import keras

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
HEAD_WEIGHTS_FILE = "head.weights.h5"
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


def is_preset_dir(path):
    """Whether `path` is a folder holding a preset (`config.json`)."""
    return os.path.isfile(os.path.join(path, CONFIG_FILE))
