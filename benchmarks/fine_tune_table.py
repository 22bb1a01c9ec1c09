"""The fine-tuned table: each method's frozen head beside its fine-tuned model.

Reads the runs of `benchmarks/fine_tune.sh`
(`ROOT/<method>/size<S>_lr<LR>/seed<k>/`, each a two-stage run with its head
in `head/`). For each method and fine-tuning side it picks the stage-2
learning rate by the best val mAP at seed 0, then scores every seed's head
(frozen MobileNetV2, 224 px) and fine-tuned model on the test photos
(`--dataset`, default voc2007: 1,000 photos):
mAP, VOC 11-point mAP, CF1 / OF1 at top-3 and under the method's own
decision (`predict_sets`), F1_I, train seconds (head; both stages), and
the per-class AP with the fine-tuned minus frozen deltas.

    python benchmarks/fine_tune_table.py --root runs/voc_ft > runs/voc_ft/table.md

With `--choices` it prints instead, for each method, the recipe its final
model (`benchmarks/fine_tune_presets.sh`) repeats on train + val:
"METHOD SIDE HEAD_LR HEAD_EPOCHS LR EPOCHS", the side and stage-2 rate with
the best val mAP at seed 0 and the best epochs of that run's two stages.
"""

import argparse
import glob
import json
import os

from table_scores import best_val, shared_splits, test_row

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

KEYS = ("mAP", "voc11", "CF1@3", "OF1@3", "CF1", "OF1", "F1_I")


def _choose(root):
    """{(method, side): (lr, run config folder, (val mAP, best epoch, epochs run))} at seed 0.

    Each side's stage-2 learning rate is the one with the best val mAP.
    """
    chosen = {}
    for method_dir in sorted(glob.glob(os.path.join(root, "*-*"))):
        method = os.path.basename(method_dir)
        by_side = {}
        for config in glob.glob(os.path.join(method_dir, "size*_lr*")):
            side, lr = os.path.basename(config)[4:].split("_lr")
            seed0 = os.path.join(config, "seed0")
            if os.path.isfile(os.path.join(seed0, "metrics.json")):
                by_side.setdefault(int(side), []).append((lr, config, best_val(seed0)))
        for side, candidates in sorted(by_side.items()):
            candidates.sort(key=lambda c: float(c[0]))
            chosen[(method, side)] = (max(candidates, key=lambda c: c[2][0]), candidates)
    return chosen


def _print_choices(chosen):
    """One line per method: its final model's recipe (the side with the best val mAP)."""
    methods = sorted({method for method, _ in chosen})
    for method in methods:
        sides = {side: best for (m, side), (best, _) in chosen.items() if m == method}
        side = max(sides, key=lambda s: sides[s][2][0])
        lr, config, (_, epochs, _) = sides[side]
        head = os.path.join(config, "seed0", "head")
        with open(os.path.join(head, "run_config.json")) as f:
            head_lr = json.load(f)["learning_rate"]
        _, head_epochs, _ = best_val(head)
        print(method, side, head_lr, head_epochs, lr, epochs)


def _score(run_dir, test, seconds):
    """The table's numbers for the model in `run_dir`, scored on the test photos."""
    import keras

    model = keras.saving.load_model(os.path.join(run_dir, "model.keras"))
    scores, sets = model.predict_scores_and_sets(test.dataset(model.image_size, 32))
    return {**test_row(test, scores, sets), "seconds": seconds}


def _cell(values):
    import numpy as np

    values = 100 * np.asarray(values)
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{values.mean():.2f} +- {values.std():.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="runs/voc_ft")
    parser.add_argument("--dataset", default="voc2007", help="voc2007, or coco (coco_small)")
    parser.add_argument("--data-dir", default=None, help="default: ../shared/data/<its folder>")
    parser.add_argument("--choices", action="store_true", help="print the presets' recipes")
    args = parser.parse_args()
    chosen = _choose(args.root)
    if args.choices:
        _print_choices(chosen)
        return

    import numpy as np

    import keras_mlrnn.models  # noqa: F401 (registers the model classes load_model needs)

    test = shared_splits(args.dataset, args.data_dir)["test"]
    print("## Stage-2 learning rate (val mAP at seed 0, best epoch / epochs run)\n")
    print("| method | side | " + "lr: val mAP (epoch/run) ... | chosen |")
    print("|---|---|---|---|")
    for (method, side), (best, candidates) in sorted(chosen.items()):
        cells = ", ".join(f"{lr}: {100 * v:.2f} ({e}/{n})" for lr, _, (v, e, n) in candidates)
        print(f"| {method} | {side} | {cells} | {best[0]} |")

    rows = []
    for (method, side), ((lr, config, _), _) in sorted(chosen.items()):
        heads, tuned = [], []
        for run in sorted(glob.glob(os.path.join(config, "seed*"))):
            path = os.path.join(run, "metrics.json")
            if not os.path.isfile(path):
                continue
            with open(path) as f:
                metrics = json.load(f)
            if not metrics.get("finished"):
                continue
            head_seconds = metrics["head"]["train_seconds"]
            heads.append(_score(os.path.join(run, "head"), test, head_seconds))
            tuned.append(_score(run, test, head_seconds + metrics["train_seconds"]))
        if tuned:
            rows.append((method, side, lr, heads, tuned))

    print(f"\n## Test split ({len(test.labels)} photos)\n")
    print("| method | model | side | lr (stage 2) | seeds | mAP | mAP (VOC 11-pt) | CF1 top-3 | "
          "OF1 top-3 | CF1 own | OF1 own | F1_I own | train s |")  # fmt: skip
    print("|---" * 13 + "|")
    for method, side, lr, heads, tuned in rows:
        for name, results, size, rate in (("frozen head", heads, 224, "-"),
                                          ("fine-tuned", tuned, side, lr)):  # fmt: skip
            cells = " | ".join(_cell([r[k] for r in results]) for k in KEYS)
            seconds = np.mean([r["seconds"] for r in results])
            print(f"| {method} | {name} | {size} | {rate} | {len(results)} | {cells} | "
                  f"{seconds:.0f} |")  # fmt: skip

    print("\n## Per-class test AP: fine-tuned (delta over the frozen head)\n")
    names = test.class_names
    columns = [f"{method} {side}" for method, side, *_ in rows]
    print("| class | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for c, name in enumerate(names):
        cells = []
        for _, _, _, heads, tuned in rows:
            after = 100 * np.mean([r["aps"][c] for r in tuned])
            before = 100 * np.mean([r["aps"][c] for r in heads])
            no_positive = np.isnan(after)  # a class without a positive test photo
            cells.append("-" if no_positive else f"{after:.1f} ({after - before:+.1f})")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
