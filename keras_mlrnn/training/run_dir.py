"""The files of a run directory: their names, reading and writing them, who holds it (no Keras).

A run directory written by `keras_mlrnn.training.runs.train` holds `run_config.json`
(every option of `DEFAULTS`, as used), `metrics.json`, `history.csv`,
`checkpoints/`, `model.keras` and `training_curves.png`; a two-stage run
(`fine_tune_epochs`) also `head/`, its first stage, a run directory itself.

`RunDirectory` is the one place that spells those paths and reads and
writes them; train, evaluate, predict and compare all go through it.

Example:
```python
from keras_mlrnn.training.run_dir import RunDirectory
run = RunDirectory("runs/br")
run.model_path                      # 'runs/br/model.keras'
run.read_config()                   # the options it was trained with, or None
```
"""

import contextlib
import json
import os
import shutil
import socket
import time

from keras_mlrnn.training.run_config import DEFAULTS
from keras_mlrnn.utils.files import write_json

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; runs are not guarded there
    fcntl = None

RUN_CONFIG = "run_config.json"
METRICS = "metrics.json"
HISTORY = "history.csv"
#: The history.csv column of each epoch's wall seconds (`callbacks.TimedCSVLogger`).
EPOCH_SECONDS = "epoch_seconds"
MODEL_FILE = "model.keras"
CHECKPOINTS = "checkpoints"
#: Who holds a run directory now: process id, host and start time (see `RunDirectory.owned`).
OWNER = ".owner"
#: The subdirectory of a two-stage run (fine_tune_epochs) that holds its first stage.
HEAD_DIR = "head"


def _read_json(path):
    """A JSON file's contents, None if it is missing; a ValueError naming it if it is broken."""
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from None


class RunDirectoryInUse(FileExistsError):
    """Another process is training into this run directory; the message names it."""


class RunDirectory:
    """One training run's folder: the paths of its files, its options, its results.

    Args:
        path: str. The run directory (need not exist yet).
    """

    def __init__(self, path):
        self.path = str(path)

    def __repr__(self):
        return f"RunDirectory({self.path!r})"

    def _join(self, name):
        return os.path.join(self.path, name)

    @property
    def config_path(self):
        return self._join(RUN_CONFIG)

    @property
    def metrics_path(self):
        return self._join(METRICS)

    @property
    def history_path(self):
        return self._join(HISTORY)

    @property
    def model_path(self):
        return self._join(MODEL_FILE)

    @property
    def checkpoints(self):
        return self._join(CHECKPOINTS)

    @property
    def report_path(self):
        """`metrics.md`: the test tables as Markdown."""
        return self._join("metrics.md")

    @property
    def curves_path(self):
        return self._join("training_curves.png")

    @property
    def head(self):
        """A two-stage run's first stage (the head on a frozen backbone): a `RunDirectory`."""
        return RunDirectory(self._join(HEAD_DIR))

    @property
    def features(self):
        """The default feature-cache folder of the run."""
        return self._join("features")

    # ------------------------------------------------------------ config
    def read_config(self):
        """The saved options over `DEFAULTS`, or None if the run has no `run_config.json`."""
        saved = _read_json(self.config_path)
        return None if saved is None else {**DEFAULTS, **saved}

    def write_config(self, config):
        """Saves the run's options (`run_config.json`)."""
        write_json(self.config_path, config)

    # ----------------------------------------------------------- results
    def read_metrics(self):
        """`metrics.json` (the test reports), or None before the run finished."""
        return _read_json(self.metrics_path)

    def write_metrics(self, result):
        """Saves the test reports (`metrics.json`)."""
        write_json(self.metrics_path, result)

    def is_finished(self):
        """Whether the run wrote its final `metrics.json`."""
        metrics = self.read_metrics()
        return bool(metrics and metrics.get("finished"))

    def has_trained(self):
        """Whether the folder holds anything training produced (a checkpoint or a model).

        A two-stage run's head counts: a run in its second stage's start has
        only the head's files.
        """
        checkpoints = self.checkpoints
        trained = os.path.isdir(checkpoints) and bool(os.listdir(checkpoints))
        if trained or os.path.isfile(self.model_path):
            return True
        return os.path.isdir(self.head.path) and self.head.has_trained()

    def history(self):
        """The per-epoch rows of `history.csv` as a numpy structured array, or None."""
        import numpy as np

        path = self.history_path
        if not os.path.isfile(path) or os.path.getsize(path) == 0:
            return None
        return np.atleast_1d(np.genfromtxt(path, delimiter=",", names=True))

    def logged_seconds(self):
        """The summed `EPOCH_SECONDS` of the history's epochs.

        0.0 when the history is empty or was written without the column.
        """
        history = self.history()
        if history is None or EPOCH_SECONDS not in (history.dtype.names or ()):
            return 0.0
        return float(history[EPOCH_SECONDS].sum())

    def best_logged(self, key):
        """The largest value of `key` in the history, or None if there is none yet."""
        rows = self.history()
        if rows is None or key not in (rows.dtype.names or ()) or not rows.size:
            return None
        return float(rows[key].max())

    # ------------------------------------------------------------- owner
    @contextlib.contextmanager
    def owned(self):
        """Holds the run directory for this process while the `with` block runs.

        An exclusive `flock` on the folder itself: a second process that
        wants it is refused at once with `RunDirectoryInUse` naming the
        owner (its `.owner` file), and the kernel releases the lock when the
        owner exits, however it exits, so a crash leaves nothing stuck.
        Creates the folder if it is missing (and writes nothing else). No
        lock where `fcntl` is missing (Windows).
        """
        os.makedirs(self.path, exist_ok=True)
        if fcntl is None:
            yield
            return
        descriptor = os.open(self.path, os.O_RDONLY)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = _read_owner(os.path.join(self.path, OWNER))
                raise RunDirectoryInUse(
                    f"{self.path} is in use by another training process ({owner}); wait for it "
                    "to finish or stop it, or choose another --run-dir."
                ) from None
            try:
                yield
            finally:
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(self.path, OWNER))
        finally:
            os.close(descriptor)  # releases the lock

    def write_owner(self):
        """Records this process as the run's owner (read when another is refused)."""
        since = time.strftime("%Y-%m-%d %H:%M:%S")
        write_json(
            os.path.join(self.path, OWNER),
            {"pid": os.getpid(), "host": socket.gethostname(), "since": since},
        )

    # ------------------------------------------------------------ create
    def prepare(self, overwrite=False, resume=False):
        """The saved options on `resume`; else an empty folder for a new run (returns None).

        A folder that never trained (no checkpoint, no model: e.g. it
        failed on bad data) is replaced without `overwrite`; a trained one
        only with it; a folder that is no run directory never.
        """
        if resume:
            saved = self.read_config()
            if saved is None:
                raise FileNotFoundError(f"Cannot resume: {self.path} holds no {RUN_CONFIG}.")
            return saved
        if os.path.isdir(self.path) and set(os.listdir(self.path)) - {OWNER}:
            if not os.path.isfile(self.config_path):
                raise FileExistsError(
                    f"{self.path} exists and is not a keras-mlrnn run directory; choose "
                    "another --run-dir (nothing there is touched)."
                )
            if not overwrite and self.has_trained():
                raise FileExistsError(
                    f"{self.path} already holds a run. Pass --resume to continue it or "
                    "--overwrite to replace it."
                )
            # Emptied, not removed: the folder itself carries the owner's lock.
            for name in os.listdir(self.path):
                entry = os.path.join(self.path, name)
                if os.path.isdir(entry) and not os.path.islink(entry):
                    shutil.rmtree(entry)
                else:
                    os.remove(entry)
        os.makedirs(self.path, exist_ok=True)
        return None


def check_writable(path, option):
    """A PermissionError naming `option` and `path` unless `path` (or, where it is still to
    be made, the nearest folder above it) can be written: found before any work."""
    here = os.path.abspath(os.fspath(path))
    while not os.path.exists(here):
        parent = os.path.dirname(here)
        if parent == here:
            break
        here = parent
    if not os.access(here, os.W_OK | os.X_OK):
        raise PermissionError(
            f"{option} {path}: {here} is not writable (read-only folder or file system); "
            "choose another place or change its permissions (nothing was done)."
        )


def _read_owner(path):
    """ "process P on host H since T" from an `.owner` file, or a plain phrase without one."""
    try:
        with open(path) as f:
            owner = json.load(f)
        return f"process {owner['pid']} on {owner['host']} since {owner['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that has not yet said which"


def read_config(run_dir):
    """The options saved in `run_dir/run_config.json` over `DEFAULTS`, or None if there is none."""
    return RunDirectory(run_dir).read_config()
