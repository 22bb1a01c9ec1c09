"""The fine-tuned table: each method's frozen head beside its fine-tuned model.

Reads the runs of `benchmarks/fine_tune.sh`
(`ROOT/<method>/size<S>_lr<LR>/seed<k>/`, each a two-stage run with its head
in `head/`) and scores each finished one on the test photos (`--dataset`,
default voc2007: 1,000 photos), its head (frozen MobileNetV2, 224 px) and its
fine-tuned model: mAP, VOC 11-point mAP, CF1 / OF1 at top-3 and under the
method's own decision (`predict_sets`), F1_I, train seconds (head; both
stages) and the per-class AP.

Each run is scored once and kept as one JSON line in the record
`benchmarks/scores/<dataset>_fine_tune.jsonl`, which is committed: the table
is built from the record, so the seeds of several sessions (whose run folders
may be gone) are counted together. For each method and side the stage-2
learning rate is the one with the best val mAP (`choose`: at seed 0, or the
mean over the seeds every candidate rate ran); the table gives the mean +-
std over that rate's seeds and the per-class deltas.

    python benchmarks/fine_tune_table.py --root runs/voc_ft > runs/voc_ft/table.md

With `--choices` it prints instead, for each method, the recipe its final
model (`benchmarks/fine_tune_presets.sh`) repeats on train + val:
"METHOD SIDE HEAD_LR HEAD_EPOCHS LR EPOCHS", the side and stage-2 rate with
the best val mAP, the best stage-2 epoch of its seed-0 run, and the head's
best epoch (median over the seeds that record it). It reads the record only.
"""

import argparse
import glob
import json
import math
import os
import statistics
import time

from table_scores import HERE, best_val, class_names, shared_splits, test_row

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

KEYS = ("mAP", "voc11", "CF1@3", "OF1@3", "CF1", "OF1", "F1_I")


def record_path(dataset):
    """The committed record of scored fine-tuning runs for `dataset`."""
    return os.path.join(HERE, "scores", f"{dataset}_fine_tune.jsonl")


def _key(entry):
    return entry["method"], int(entry["side"]), entry["lr"], int(entry["seed"])


def read_record(path):
    """{(method, side, lr, seed): entry} from the JSON lines at `path` (empty if none)."""
    entries = {}
    if os.path.isfile(path):
        with open(path) as f:
            for number, line in enumerate(f, 1):
                if line.strip():
                    try:
                        entry = json.loads(line)
                    except json.JSONDecodeError as error:
                        raise SystemExit(f"{path}:{number}: not a JSON line ({error})")
                    entries[_key(entry)] = entry
    return entries


def finished_runs(root):
    """{(method, side, lr, seed): run folder} for every finished two-stage run under `root`."""
    runs = {}
    for run in sorted(glob.glob(os.path.join(root, "*-*", "size*_lr*", "seed*"))):
        path = os.path.join(run, "metrics.json")
        if not os.path.isfile(path):
            continue
        with open(path) as f:
            metrics = json.load(f)
        if not metrics.get("finished") or "head" not in metrics:
            continue
        config, seed = os.path.split(run)
        method_dir, name = os.path.split(config)
        side, lr = name[4:].split("_lr")
        runs[(os.path.basename(method_dir), int(side), lr, int(seed[4:]))] = run
    return runs


def _json_row(row):
    """A `test_row` with its per-class APs as a list (NaN, a class without positives: null)."""
    aps = [None if math.isnan(ap) else round(float(ap), 6) for ap in row["aps"]]
    return {**{k: round(float(row[k]), 6) for k in KEYS}, "aps": aps}


def score_run(key, run, test):
    """The record's entry for the finished run `run`: val choices and both models' test rows."""
    import keras

    def score(folder):
        model = keras.saving.load_model(os.path.join(folder, "model.keras"))
        scores, sets = model.predict_scores_and_sets(test.dataset(model.image_size, 32))
        return _json_row(test_row(test, scores, sets))

    with open(os.path.join(run, "metrics.json")) as f:
        metrics = json.load(f)
    with open(os.path.join(run, "head", "run_config.json")) as f:
        head_lr = json.load(f)["learning_rate"]
    head_seconds = metrics["head"]["train_seconds"]
    method, side, lr, seed = key
    return {
        "method": method, "side": side, "lr": lr, "seed": seed, "head_lr": head_lr,
        "head_val": best_val(os.path.join(run, "head")), "val": best_val(run),
        "head_seconds": head_seconds, "seconds": round(head_seconds + metrics["train_seconds"], 1),
        "head": score(os.path.join(run, "head")), "tuned": score(run),
        "source": f"{run}, scored {time.strftime('%Y-%m-%d')}",
    }  # fmt: skip


def update_record(root, dataset, data_dir, path):
    """Score the finished runs under `root` that the record lacks and append them to it."""
    record = read_record(path)
    missing = {k: run for k, run in finished_runs(root).items() if k not in record}
    if not missing:
        return record
    import keras_mlrnn.models  # noqa: F401 (registers the model classes load_model needs)

    test = shared_splits(dataset, data_dir)["test"]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    for key, run in sorted(missing.items()):
        entry = score_run(key, run, test)
        with open(path, "a") as f:  # one line per run: an interrupted update keeps the others
            f.write(json.dumps(entry) + "\n")
        record[key] = entry
    return record


def choose(entries):
    """{(method, side): (chosen lr, [(lr, (val mAP, best epoch, epochs run) at seed 0,
    mean val mAP over the common seeds), ...], common seeds)}.

    The candidates are the stage-2 rates run at seed 0. Each is judged by its
    mean best val mAP over the seeds that every candidate ran (seed 0 alone
    where only seed 0 ran them all): one seed's val mAP on 500 photos moves
    by a point between seeds, as much as the rates differ.
    """
    by_side = {}
    for (method, side, lr, seed), entry in entries.items():
        by_side.setdefault((method, side), {}).setdefault(lr, {})[seed] = entry["val"]
    chosen = {}
    for key, runs in sorted(by_side.items()):
        rates = sorted((lr for lr in runs if 0 in runs[lr]), key=float)
        common = sorted(set.intersection(*(set(runs[lr]) for lr in rates)))
        candidates = [
            (lr, tuple(runs[lr][0]), statistics.mean(runs[lr][seed][0] for seed in common))
            for lr in rates
        ]
        chosen[key] = (max(candidates, key=lambda c: c[2])[0], candidates, common)
    return chosen


def _print_choices(entries):
    """One line per method: its final model's recipe, from the record.

    The side and stage-2 rate with the best val mAP (`choose`; sides compared
    at seed 0) and the best stage-2 epoch of its seed-0 run; the head's rate,
    and its epochs as the median over the seeds whose head's best val epoch
    the record holds (seed 0's rows of session 14 were transcribed without it).
    """
    chosen = choose(entries)
    for method in sorted({method for method, _ in chosen}):
        sides = {}
        for (m, side), (lr, candidates, _) in chosen.items():
            if m == method:
                sides[side] = (lr, {c[0]: c[1] for c in candidates}[lr])
        side = max(sides, key=lambda s: sides[s][1][0])
        lr, (_, epochs, _) = sides[side]
        head_epochs = {
            seed: entry["head_val"][1]
            for (m, _, _, seed), entry in entries.items()
            if m == method and entry.get("head_val")
        }
        if not head_epochs:
            raise SystemExit(f"{method}: the record holds no head's best epoch")
        median = statistics.median(head_epochs.values())
        head_lr = entries[(method, side, lr, 0)]["head_lr"]
        print(method, side, head_lr, int(median + 0.5), lr, epochs)


def _cell(values):
    import numpy as np

    values = 100 * np.asarray(values, dtype=float)
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{values.mean():.2f} +- {values.std():.2f}"


def print_tables(entries, class_names):
    """The stage-2 rate table, the test table and the per-class table, in markdown."""
    import numpy as np

    chosen = choose(entries)
    print("## Stage-2 learning rate (val mAP at seed 0, best epoch / epochs run)\n")
    print("| method | side | lr: val mAP (epoch/run) ... | seeds judged | chosen |")
    print("|---|---|---|---|---|")
    for (method, side), (lr, candidates, common) in chosen.items():
        cells = ", ".join(
            f"{c}: {100 * v:.2f} ({e}/{n})" + (f", mean {100 * m:.2f}" if len(common) > 1 else "")
            for c, (v, e, n), m in candidates
        )
        seeds = ", ".join(str(seed) for seed in common)
        print(f"| {method} | {side} | {cells} | {seeds} | {lr} |")

    rows = []
    for (method, side), (lr, *_) in chosen.items():
        seeds = [e for key, e in sorted(entries.items()) if key[:3] == (method, side, lr)]
        rows.append((method, side, lr, seeds))

    print("\n## Test split\n")
    print("| method | model | side | lr (stage 2) | seeds | mAP | mAP (VOC 11-pt) | CF1 top-3 | "
          "OF1 top-3 | CF1 own | OF1 own | F1_I own | train s |")  # fmt: skip
    print("|---" * 13 + "|")
    for method, side, lr, seeds in rows:
        for name, part, size, rate, seconds in (
            ("frozen head", "head", 224, "-", "head_seconds"),
            ("fine-tuned", "tuned", side, lr, "seconds"),
        ):
            cells = " | ".join(_cell([e[part][k] for e in seeds]) for k in KEYS)
            mean_seconds = np.mean([e[seconds] for e in seeds])
            print(f"| {method} | {name} | {size} | {rate} | {len(seeds)} | {cells} | "
                  f"{mean_seconds:.0f} |")  # fmt: skip

    print("\n## Per-class test AP: fine-tuned (delta over the frozen head), mean over seeds\n")
    columns = [f"{method} {side}" for method, side, *_ in rows]
    print("| class | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for c, name in enumerate(class_names):
        cells = []
        for *_, seeds in rows:
            after = [e["tuned"]["aps"][c] for e in seeds]
            before = [e["head"]["aps"][c] for e in seeds]
            if None in after:  # a class without a positive test photo
                cells.append("-")
                continue
            after, before = 100 * np.mean(after), 100 * np.mean(before)
            cells.append(f"{after:.1f} ({after - before:+.1f})")
        print(f"| {name} | " + " | ".join(cells) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="runs/voc_ft")
    parser.add_argument("--dataset", default="voc2007", help="voc2007, or coco (coco_small)")
    parser.add_argument("--data-dir", default=None, help="default: ../shared/data/<its folder>")
    parser.add_argument("--record", help="default: benchmarks/scores/<dataset>_fine_tune.jsonl")
    parser.add_argument("--choices", action="store_true", help="print the presets' recipes")
    args = parser.parse_args()
    path = args.record or record_path(args.dataset)
    if args.choices:
        _print_choices(read_record(path))
        return
    entries = update_record(args.root, args.dataset, args.data_dir, path)
    print_tables(entries, class_names(args.dataset))


if __name__ == "__main__":
    main()
