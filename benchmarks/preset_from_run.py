"""Ships a finished run's best model as a float16 preset, scored again as loaded.

    python benchmarks/preset_from_run.py RUN PRESET [--data-dir D]

Writes PRESET (replacing a preset there, never other files) from
RUN/model.keras in float16, then scores the preset as loaded on the run's
test split (at the model's own image size) and records that table in its
metadata. The metadata's command is the run's: where the run was started
from another run's head or resumed with more fine-tuning epochs, the
command is rebuilt as the one `keras-mlrnn train` line that trains the same
two stages (the head's command with the run's `--fine-tune-*` options and
run directory), and `run_command` keeps what was recorded.
"""

import argparse
import json
import os
import re
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FINE_TUNE_FLAGS = {
    "--fine-tune-epochs": "fine_tune_epochs",
    "--fine-tune-learning-rate": "fine_tune_learning_rate",
    "--fine-tune-image-size": "fine_tune_image_size",
    "--run-dir": "run_dir",
}


def _read(path):
    with open(path) as f:
        return json.load(f)


def _same(text, value):
    """Whether a command's option text already says `value` (3e-5 and 3e-05 alike)."""
    try:
        return float(text) == float(value)
    except ValueError:
        return text == str(value)


def training_command(run):
    """The one `keras-mlrnn train` line behind `run` (see the module docstring)."""
    config = _read(os.path.join(run, "run_config.json"))
    command = config["command"]
    if not command.startswith("keras-mlrnn train --model"):
        head = _read(os.path.join(run, "head", "run_config.json"))["command"]
        command = head.split("  # ")[0]
    values = {**config, "run_dir": run}
    for flag, key in FINE_TUNE_FLAGS.items():
        found = re.search(rf"{flag} (\S+)", command)
        if found and values.get(key) is not None and not _same(found.group(1), values[key]):
            command = command.replace(found.group(0), f"{flag} {values[key]}")
    return command.replace(os.getcwd() + os.sep, "")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a finished run directory")
    parser.add_argument("preset", help="the preset directory to write")
    parser.add_argument("--data-dir", default=None, help="the data set's folder (the run's)")
    args = parser.parse_args()

    import keras

    import keras_mlrnn.models  # noqa: F401 (registers the model classes load_model needs)
    from keras_mlrnn import presets
    from keras_mlrnn.data.splits import load_splits
    from keras_mlrnn.evaluation.scoring import evaluate_model

    run = os.path.relpath(args.run)
    metrics = _read(os.path.join(run, "metrics.json"))
    if not metrics.get("finished"):
        raise SystemExit(f"{run} is not a finished run.")
    config = _read(os.path.join(run, "run_config.json"))
    metadata = {k: metrics[k] for k in ("dataset", "split", "num_test_images")}
    splits = load_splits(config["dataset"], args.data_dir or config.get("data_dir"))
    fit = ("train", "val") if config.get("train_on_val") else ("train",)
    metadata["num_train_images"] = sum(len(splits[name].labels) for name in fit)
    metadata["command"] = training_command(run)
    metadata["run_command"] = config["command"]
    metadata["shipped_with"] = "python " + " ".join(sys.argv)
    model = keras.saving.load_model(os.path.join(run, "model.keras"))
    model.save_to_preset(args.preset, metadata=metadata, overwrite=True, weights_dtype="float16")
    saved = presets.load_preset(args.preset)
    reports = evaluate_model(saved, splits["test"], top_k=config["top_k"])
    presets.update_metadata(args.preset, reports=reports)
    before = metrics["reports"]["predict_sets"]["mAP"]
    after = reports["predict_sets"]["mAP"]
    print(f"{args.preset}: test mAP {100 * before:.2f} (run) -> {100 * after:.2f} (float16 preset)")


if __name__ == "__main__":
    main()
