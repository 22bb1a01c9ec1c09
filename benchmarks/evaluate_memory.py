"""`keras-mlrnn evaluate` streams: its peak RSS over N and 10 N labelled photos.

Issue 36, build item 5 ("evaluate on large data uses the same streaming
path"): a labels CSV of N VOC 2007 photos of ../shared and one of 10 N
(ten symbolic links to each), every row labelled with scene class names in
turn (the values do not matter to memory), scored by the tiny `scenes`
preset (`--dataset csv --split all`), so decoding dominates. Prints the
wall time and peak RSS (polled every 0.1 s) of each command.

    python benchmarks/evaluate_memory.py --out runs/evaluate_memory
"""

import argparse
import csv
import glob
import os
import time

from predict_throughput import PHOTOS, linked_copies, watched_run


def _write_csv(path, photos, class_names):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["filename", "labels"])
        for i, photo in enumerate(photos):
            labels = {class_names[i % len(class_names)], class_names[(3 * i) % len(class_names)]}
            writer.writerow([photo, "|".join(sorted(labels))])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/evaluate_memory")
    parser.add_argument("--photos", type=int, default=4000)
    args = parser.parse_args()
    from keras_mlrnn.data.scenes import SCENE_CLASS_NAMES

    os.makedirs(args.out, exist_ok=True)
    stamp = time.strftime("%H%M%S")
    photos = sorted(glob.glob(os.path.join(PHOTOS, "*.jpg")))[: args.photos]
    linked = linked_copies(photos, os.path.join(args.out, f"links{stamp}"))
    rows = {}
    for copies in (1, 10):
        chosen = [p for p in linked if int(os.path.basename(p).split("_")[0]) < copies]
        path = os.path.join(args.out, f"labels{stamp}_{copies}x.csv")
        _write_csv(path, chosen, list(SCENE_CLASS_NAMES))
        argv = ["evaluate", "scenes", "--method", "binary-relevance", "--dataset", "csv",
                "--csv", path, "--split", "all"]  # fmt: skip
        wall, peak_mib, _ = watched_run(argv, ok=(0,))
        rows[copies] = (len(chosen), wall, peak_mib)
        print(f"{len(chosen)} photos: {wall:.0f} s wall, peak RSS {peak_mib:.0f} MiB", flush=True)
    ratio = rows[10][2] / rows[1][2]
    print(
        f"| evaluate, scenes preset | {rows[1][0]} photos {rows[1][2]:.0f} MiB | "
        f"{rows[10][0]} photos {rows[10][2]:.0f} MiB | ratio {ratio:.3f} |"
    )


if __name__ == "__main__":
    main()
