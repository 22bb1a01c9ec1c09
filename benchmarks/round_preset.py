"""Stores trained presets' weights in float16 (half the file) and measures them again.

For each preset directory: load it, write it back with
`weights_dtype="float16"` (its metadata kept: data set, command, ...), then
score the rounded preset on its data set's test split and record that
table, so the metadata describes the weights as shipped.

    python benchmarks/round_preset.py weights/scenes/* --dataset scenes
"""

import argparse
import json
import os
import shutil
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("presets", nargs="+", help="preset directories")
    parser.add_argument("--dataset", default="scenes", help="the data set whose test split scores")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()

    from keras_mlrnn import presets
    from keras_mlrnn.data.splits import load_splits
    from keras_mlrnn.evaluation.scoring import evaluate_model

    for preset in args.presets:
        with open(os.path.join(preset, presets.METADATA_FILE)) as f:
            metadata = json.load(f)
        if metadata.get("weights_dtype") == "float16":
            print(f"{preset}: already float16")
            continue
        model = presets.load_preset(preset)
        kept = {k: v for k, v in metadata.items() if not k.endswith("sha256")}
        kept["rounded_with"] = "python " + " ".join(sys.argv)
        with tempfile.TemporaryDirectory() as tmp:
            staged = os.path.join(tmp, "preset")
            model.save_to_preset(staged, metadata=kept, weights_dtype="float16")
            rounded = presets.load_preset(staged)
            test = load_splits(args.dataset, args.data_dir, image_size=rounded.image_size)["test"]
            reports = evaluate_model(rounded, test)
            presets.update_metadata(staged, reports=reports)
            shutil.rmtree(preset)
            shutil.copytree(staged, preset)
        before = metadata["reports"]["predict_sets"]["mAP"]
        print(f"{preset}: mAP {100 * before:.2f} -> {100 * reports['predict_sets']['mAP']:.2f}")


if __name__ == "__main__":
    main()
