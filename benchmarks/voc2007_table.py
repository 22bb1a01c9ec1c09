"""The frozen-backbone table: the learning-rate search on val, then every method over seeds.

Reads the runs of `benchmarks/voc2007.sh` (`ROOT/lr<LR>/<method>/seed<k>/`),
picks each method's learning rate by its best validation mAP at seed 0 (the
same three-point grid and epoch budget for every method), and scores each
chosen run's best model on the test split (`--dataset`: voc2007, 1,000
photos, by default; coco, the 176 of coco_small) from the cached
backbone features: mAP (scikit-learn AP, "difficult" masked) and VOC 11-point
mAP, CF1 / OF1 at top-3 and under the method's own decision
(`predict_sets`), F1_I; mean +- std over seeds; per-class AP. Adds the
linear probe (scikit-learn logistic regression, C=0.1, on the average-pooled
features of the train split) and the label-frequency line.

    python benchmarks/voc2007_table.py --root runs/voc > runs/voc/table.md
"""

import argparse
import glob
import json
import os

from table_scores import best_val, shared_splits, test_row

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _ap_cell(ap):
    """A per-class AP in percent, or "-" for a class without a positive test photo."""
    import numpy as np

    return "-" if np.isnan(ap) else f"{100 * ap:.1f}"


def _mean_std(values):
    import numpy as np

    values = 100 * np.asarray(values)
    return f"{values.mean():.2f} +- {values.std():.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="runs/voc")
    parser.add_argument("--features", default=None, help="the cache folder (ROOT/features)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--dataset", default="voc2007", help="voc2007, or coco (coco_small)")
    parser.add_argument("--data-dir", default=None, help="default: ../shared/data/<its folder>")
    parser.add_argument(
        "--choices", action="store_true", help="print only 'method lr best_epoch' per method"
    )
    args = parser.parse_args()

    import keras
    import numpy as np

    from keras_mlrnn.metrics.multilabel import multilabel_report
    from keras_mlrnn.training.feature_cache import FeatureCache

    splits = shared_splits(args.dataset, args.data_dir)
    test, train = splits["test"], splits["train"]
    features = args.features or os.path.join(args.root, "features")
    lr_dirs = sorted(
        glob.glob(os.path.join(args.root, "lr*")), key=lambda d: float(os.path.basename(d)[2:])
    )
    methods = sorted(
        {os.path.basename(m) for d in lr_dirs for m in glob.glob(os.path.join(d, "*-*"))}
    )

    if args.choices:
        for method in methods:
            runs = [os.path.join(d, method, "seed0") for d in lr_dirs]
            done = [r for r in runs if os.path.isfile(os.path.join(r, "metrics.json"))]
            if not done:
                continue
            best = max(done, key=lambda r: best_val(r)[0])
            lr = os.path.basename(os.path.dirname(os.path.dirname(best)))[2:]
            print(method, lr, best_val(best)[1])
        return
    print("## Learning-rate search (seed 0; best validation mAP, at epoch / epochs run)\n")
    print(
        "| method | " + " | ".join(f"lr {os.path.basename(d)[2:]}" for d in lr_dirs) + " | chosen |"
    )
    print("|---" * (len(lr_dirs) + 2) + "|")
    chosen = {}
    for method in methods:
        cells, best = [], None
        for d in lr_dirs:
            run = os.path.join(d, method, "seed0")
            if not os.path.isfile(os.path.join(run, "metrics.json")):
                cells.append("-")
                continue
            val, epoch, ran = best_val(run)
            cells.append(f"{100 * val:.2f} ({epoch}/{ran})")
            if best is None or val > best[0]:
                best = (val, d, epoch)
        if best is None:
            continue
        chosen[method] = best
        print(f"| {method} | " + " | ".join(cells) + f" | {os.path.basename(best[1])[2:]} |")

    rows, per_class = [], {}
    for method, (_, lr_dir, _) in chosen.items():
        results = []
        for seed in args.seeds:
            run = os.path.join(lr_dir, method, f"seed{seed}")
            if not os.path.isfile(os.path.join(run, "metrics.json")):
                continue
            with open(os.path.join(run, "metrics.json")) as f:
                metrics = json.load(f)
            model = keras.saving.load_model(os.path.join(run, "model.keras"))
            cache = FeatureCache(features, model, verbose=False)
            data = cache.batches(test, "test", 64)
            scores = model.predict(data, verbose=0)
            sets = model.predict_sets(data)
            row = test_row(test, scores, sets)
            assert abs(row["mAP"] - metrics["reports"]["predict_sets"]["mAP"]) < 1e-4, run
            results.append(
                {**row, "seconds": metrics["train_seconds"], "params": model.count_params()}
            )
        if not results:
            continue
        per_class[method] = np.mean([r["aps"] for r in results], axis=0)
        rows.append((method, os.path.basename(lr_dir)[2:], results))

    keys = ("mAP", "voc11", "CF1@3", "OF1@3", "CF1", "OF1", "F1_I")
    print(f"\n## Test split ({len(test.labels)} photos), mean +- std over seeds\n")
    print("| method | lr | seeds | mAP | mAP (VOC 11-pt) | CF1 top-3 | OF1 top-3 | CF1 own | "
          "OF1 own | F1_I own | train s | parameters |")  # fmt: skip
    print("|---" * 12 + "|")
    for method, lr, results in rows:
        cells = " | ".join(_mean_std([r[k] for r in results]) for k in keys)
        seconds = np.mean([r["seconds"] for r in results])
        print(f"| {method} | {lr} | {len(results)} | {cells} | {seconds:.0f} | "
              f"{results[0]['params']:,} |")  # fmt: skip

    # The linear probe and the constant predictor, on the same cached features.
    from keras_mlrnn.training.probe import linear_probe_scores

    first = rows[0][0]
    any_model = keras.saving.load_model(
        os.path.join(chosen[first][1], first, "seed0", "model.keras")
    )
    probe = linear_probe_scores(FeatureCache(features, any_model, verbose=False), train, test)
    probe_report = multilabel_report(test.labels, probe, mask=test.mask)
    constant = np.broadcast_to(train.labels.mean(0), test.labels.shape)
    print(
        f"\nLinear probe (scikit-learn LogisticRegression C=0.1 per class on the average-pooled "
        f"features of the {len(train.labels):,} train photos, image view only): mAP "
        f"{100 * probe_report['mAP']:.2f}, VOC 11-pt "
        f"{100 * multilabel_report(test.labels, probe, mask=test.mask, ap='voc11')['mAP']:.2f}. "
        f"Label-frequency (constant) predictor mAP: "
        f"{100 * multilabel_report(test.labels, constant, mask=test.mask)['mAP']:.2f}."
    )

    print("\n## Per-class test AP (mean over seeds)\n")
    names = test.class_names
    print("| class | " + " | ".join(per_class) + " |")
    print("|---" * (len(per_class) + 1) + "|")
    for c, name in enumerate(names):
        cells = [_ap_cell(per_class[m][c]) for m in per_class]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
