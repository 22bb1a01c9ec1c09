"""Scores shipped presets on their data set's test split again, beside their metadata's mAP.

What a change to the input pipeline (a decoder, a resize) does to the
shipped numbers: one line per preset and rule. Read-only unless `--write`,
which puts the new tables in each preset's metadata (`reports`) and records
the rescoring (`rescored`: the command, the reason, each rule's mAP before),
so the metadata describes the preset as the code now scores it.

    python benchmarks/rescore_presets.py weights/voc2007_mobilenet_v2/* --dataset voc2007 \\
        --data-dir ../shared/data/voc2007 [--write "why"]
"""

import argparse
import datetime
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("presets", nargs="+", help="preset directories")
    parser.add_argument("--dataset", required=True, help="the data set whose test split scores")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--write", metavar="WHY", help="store the new tables, with this reason")
    args = parser.parse_args()

    from keras_mlrnn import presets
    from keras_mlrnn.data.splits import load_splits
    from keras_mlrnn.evaluation.scoring import evaluate_model

    test = load_splits(args.dataset, data_dir=args.data_dir)["test"]
    print("| preset | rule | metadata mAP | scored now | change |")
    print("|---|---|---|---|---|")
    for preset in args.presets:
        with open(os.path.join(preset, presets.METADATA_FILE)) as f:
            recorded = json.load(f)["reports"]
        reports = evaluate_model(presets.load_preset(preset), test)
        for rule, report in reports.items():
            before, now = 100 * recorded[rule]["mAP"], 100 * report["mAP"]
            print(f"| {preset} | {rule} | {before:.2f} | {now:.2f} | {now - before:+.2f} |",
                  flush=True)  # fmt: skip
        if args.write:
            rescored = {
                "date": datetime.date.today().isoformat(),
                "command": "python " + " ".join(sys.argv),
                "why": args.write,
                "mAP_before": {rule: recorded[rule]["mAP"] for rule in recorded},
            }
            presets.update_metadata(preset, reports=reports, rescored=rescored)


if __name__ == "__main__":
    main()
