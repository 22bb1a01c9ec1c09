"""Import TensorFlow without the start-up lines its C++ side prints before any setting applies.

TensorFlow 2.21 on some CPUs writes "WARNING: All log messages before
absl::InitializeLog() is called are written to STDERR" and an "oneDNN
custom operations are on" line to the process's stderr while it loads,
whatever `TF_CPP_MIN_LOG_LEVEL` says. The CLI imports TensorFlow through
`import_tensorflow_quietly` once, with file descriptor 2 pointed at a
temporary file, and passes on every other line it wrote (an import error
still prints its traceback: Python raises it after stderr is restored).

Example:
```python
from keras_mlrnn.cli.quiet_import import import_tensorflow_quietly
import_tensorflow_quietly()  # True: TensorFlow is imported, nothing printed
```
"""

import importlib.util
import json
import os
import sys
import tempfile

#: Substrings of the lines left out: TensorFlow's start-up notices, not problems.
NOISE = ("absl::InitializeLog()", "oneDNN custom operations are on", "cpu_feature_guard")


def keras_backend_name():
    """The backend Keras will load, read as Keras does, without importing Keras.

    `KERAS_BACKEND` if set, else the "backend" of `keras.json` in
    `KERAS_HOME` (default `~/.keras`), else "tensorflow".
    """
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json")) as f:
            return json.load(f).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):  # absent, unreadable or not a JSON object
        return "tensorflow"


def import_tensorflow_quietly():
    """Imports TensorFlow with its start-up notices dropped; False where it is not installed.

    Does nothing (True) when TensorFlow is already imported.
    """
    if "tensorflow" in sys.modules:
        return True
    if importlib.util.find_spec("tensorflow") is None:
        return False
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode(errors="replace")
            kept = [line for line in text.splitlines() if not any(n in line for n in NOISE)]
            if kept:
                print("\n".join(kept), file=sys.stderr)
    return True
