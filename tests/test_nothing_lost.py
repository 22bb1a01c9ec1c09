"""Nothing the user made is lost: one process per run directory, presets never half-replaced."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import keras_mlrnn as km
from keras_mlrnn.cli.commands import main
from keras_mlrnn.presets.loading import load_preset
from keras_mlrnn.presets.saving import save_to_preset
from keras_mlrnn.training.run_dir import RunDirectory
from tests.fixtures import scenes_run
from tests.models.tiny import TINY

RUN = scenes_run(512, epochs=3, batch_size=32)


def _start(run_dir, *extra):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [
        sys.executable,
        "-m",
        "keras_mlrnn.cli",
        "train",
        *RUN,
        "--run-dir",
        run_dir,
    ]
    return subprocess.Popen([*command, *extra], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def _wait_for(condition, process, seconds=300):
    deadline = time.time() + seconds
    while time.time() < deadline and process.poll() is None and not condition():
        time.sleep(0.1)
    assert process.poll() is None, "the first run ended before the second could start"


@pytest.mark.large
def test_a_second_process_is_refused_naming_the_owner_and_a_killed_owner_leaves_no_lock(tmp_path):
    run = RunDirectory(tmp_path / "run")
    first = _start(run.path, "--epochs", "200")  # long enough to be killed, not to finish
    try:
        _wait_for(lambda: os.path.isfile(run.config_path), first)
        second = subprocess.run(
            [sys.executable, "-m", "keras_mlrnn.cli", "train", *RUN, "--run-dir", run.path,
             "--overwrite"],
            capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )  # fmt: skip
        assert second.returncode == 2
        assert f"in use by another training process (process {first.pid} on" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
        assert first.poll() is None  # the first run goes on, its folder untouched
        _wait_for(lambda: os.path.isfile(run.history_path), first)
        os.kill(first.pid, signal.SIGKILL)  # a crash: the kernel drops the lock
        first.wait()
    finally:
        if first.poll() is None:
            first.kill()
    assert main(["train", *RUN, "--run-dir", run.path, "--overwrite"]) == 0
    assert run.read_metrics()["finished"]
    assert not os.path.exists(os.path.join(run.path, ".owner"))


def test_a_refused_run_touches_nothing_and_a_foreign_preset_folder_is_refused_before_training(
    tmp_path, capsys
):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "model.weights.h5").write_bytes(b"my own weights")
    (mine / "metadata.json").write_text('{"mine": true}')
    run = tmp_path / "run"
    code = main(["train", *RUN, "--run-dir", str(run), "--save-preset", str(mine), "--overwrite"])
    assert code == 2
    error = capsys.readouterr().err
    assert "not a keras-mlrnn preset" in error and str(mine) in error
    assert (mine / "model.weights.h5").read_bytes() == b"my own weights"
    assert not run.exists()  # refused before any training


def test_an_existing_preset_is_refused_before_training_unless_overwrite(tmp_path, capsys):
    model = km.BinaryRelevance(**TINY[km.BinaryRelevance])
    preset = str(tmp_path / "preset")
    save_to_preset(model, preset)
    before = open(os.path.join(preset, "metadata.json")).read()
    code = main(["train", *RUN, "--run-dir", str(tmp_path / "run"), "--save-preset", preset])
    assert code == 2 and "already holds a preset; pass --overwrite" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
    assert open(os.path.join(preset, "metadata.json")).read() == before
    with pytest.raises(FileExistsError, match="already holds a preset"):
        save_to_preset(model, preset)


def test_a_preset_is_replaced_whole_and_an_interrupted_swap_keeps_the_old_one(
    tmp_path, monkeypatch
):
    first = km.BinaryRelevance(**TINY[km.BinaryRelevance])
    preset = str(tmp_path / "preset")
    save_to_preset(first, preset, metadata={"which": "first"})
    second = km.BinaryRelevance(**TINY[km.BinaryRelevance])
    save_to_preset(second, preset, metadata={"which": "second"}, overwrite=True)
    with open(os.path.join(preset, "metadata.json")) as f:
        assert json.load(f)["which"] == "second"
    assert sorted(os.listdir(tmp_path)) == ["preset"]  # nothing left beside it

    # A kill between the two renames: the old preset is whole beside the target.
    real_rename = os.rename

    def killed_after_first_rename(source, target):
        real_rename(source, target)
        if target.endswith(".replaced"):
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "rename", killed_after_first_rename)
    with pytest.raises(KeyboardInterrupt):
        save_to_preset(first, preset, metadata={"which": "third"}, overwrite=True)
    monkeypatch.setattr(os, "rename", real_rename)
    with pytest.raises(FileNotFoundError, match="previous preset is whole in .*preset.replaced"):
        load_preset(preset)
    os.rename(preset + ".replaced", preset)  # what the message says to do
    assert load_preset(preset).count_params() == second.count_params()
    with open(os.path.join(preset, "metadata.json")) as f:
        assert json.load(f)["which"] == "second"


def test_read_only_places_are_named_before_any_work(tmp_path, capsys, monkeypatch):
    locked = str(tmp_path / "locked")
    os.makedirs(locked)
    real_access = os.access
    # As root every folder is writable: make "locked" read-only in os.access's eyes.
    monkeypatch.setattr(os, "access", lambda p, m: p != locked and real_access(p, m))
    for argv, option in (
        (["--run-dir", os.path.join(locked, "run")], "--run-dir"),
        (["--run-dir", str(tmp_path / "run"), "--save-preset", os.path.join(locked, "p")],
         "--save-preset"),
    ):  # fmt: skip
        assert main(["train", *RUN, *argv]) == 2
        err = capsys.readouterr().err
        assert f"error: {option} " in err and f"{locked} is not writable" in err
        assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists() and os.listdir(locked) == []


def test_a_full_disk_is_one_line_and_the_run_resumes_once_there_is_room(tmp_path, capsys):
    import errno

    run = str(tmp_path / "run")
    real_write = RunDirectory.write_metrics

    def full_disk(self, result):
        raise OSError(errno.ENOSPC, "No space left on device", self.metrics_path)

    RunDirectory.write_metrics = full_disk
    try:
        assert main(["train", *RUN, "--epochs", "2", "--run-dir", run]) == 2
    finally:
        RunDirectory.write_metrics = real_write
    err = capsys.readouterr().err
    assert "no space left on the device writing" in err and "--resume" in err
    assert len(err.strip().splitlines()) == 1
    assert main(["train", "--resume", run]) == 0  # room again: it finishes
    assert RunDirectory(run).read_metrics()["finished"]


@pytest.mark.large
def test_a_preset_save_killed_at_any_moment_leaves_a_whole_preset(tmp_path):
    """A process re-saving a preset over and over is SIGKILLed three times, at other moments:
    each time the folder loads whole, or (killed between the two renames) the previous
    preset is whole at `<folder>.replaced`, as load_preset then says."""
    preset = str(tmp_path / "preset")
    save_to_preset(km.BinaryRelevance(**TINY[km.BinaryRelevance]), preset)
    script = (
        "import sys, keras_mlrnn as km\n"
        "from keras_mlrnn.presets.saving import save_to_preset\n"
        "from tests.models.tiny import TINY\n"
        "model = km.BinaryRelevance(**TINY[km.BinaryRelevance])\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        f"    save_to_preset(model, {preset!r}, overwrite=True)\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    for delay in (0.3, 0.7, 1.1):
        process = subprocess.Popen([sys.executable, "-c", script], env=env,
                                   stdout=subprocess.PIPE, text=True)  # fmt: skip
        try:
            assert process.stdout.readline().strip() == "ready"
            time.sleep(delay)
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        finally:
            if process.poll() is None:
                process.kill()
        if not os.path.isdir(preset):  # killed between the renames: the old one stands aside
            os.rename(preset + ".replaced", preset)
        assert load_preset(preset).count_params() > 0
