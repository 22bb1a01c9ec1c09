"""`keras-mlrnn predict DIR --out` against the same model's predict on decoded arrays.

Side by side in one run, on the VOC 2007 photos of ../shared (issue 36):
1. streaming: `keras-mlrnn predict JPEGImages --preset voc2007 --method M
   --out FILE.csv` in a subprocess: its images/s after the first batch (what
   it prints), wall time and peak RSS;
2. arrays: the photos decoded beforehand (`read_images`, not timed), then
   `model.predict_scores_and_sets(x, batch_size=32)` timed: images/s;
3. memory: the streaming command with the tiny `scenes` preset (decoding
   dominates) over N and 10 N paths to the same photos (symbolic links),
   peak RSS of each;
4. start-up: one photo, the command's wall time, and the parts measured
   in-process (importing keras_mlrnn and TensorFlow, loading the preset,
   the first prediction). Peak RSS: the command's process, polled every 0.1 s.

    python benchmarks/predict_throughput.py --method binary-relevance --out runs/predict
"""

import argparse
import glob
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PHOTOS = os.path.join(HERE, "..", "..", "shared", "data", "voc2007", "VOCdevkit", "VOC2007",
                      "JPEGImages")  # fmt: skip


def watched_run(argv, ok=(0, 2)):
    """Runs `keras-mlrnn ARGV`; (wall seconds, peak RSS in MiB polled every 0.1 s, stderr).

    A status outside `ok` (predict's 2: some files unreadable) stops the benchmark."""
    import psutil

    cli = [sys.executable, "-m", "keras_mlrnn.cli", *argv]
    start = time.time()
    process = subprocess.Popen(cli, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    watched, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.1)
    stderr = process.communicate()[1]
    if process.returncode not in ok:
        raise SystemExit(stderr[-2000:])
    return time.time() - start, peak / 2**20, stderr


def linked_copies(photos, folder, copies=10):
    """`copies` symbolic links to each photo in `folder` (`<copy>_<name>`); their paths, sorted."""
    os.makedirs(folder)
    for copy in range(copies):
        for path in photos:
            name = f"{copy}_{os.path.basename(path)}"
            os.symlink(os.path.abspath(path), os.path.join(folder, name))
    folder = os.path.abspath(folder)
    return [os.path.join(folder, name) for name in sorted(os.listdir(folder))]


def _command(args, inputs, out, preset="voc2007", method=None):
    """Runs the predict command; its wall time, printed images/s and peak RSS (polled)."""
    argv = ["predict", *inputs, "--preset", preset, "--method", method or args.method, "--out", out]
    wall, peak_mib, stderr = watched_run(argv)
    rate = re.search(r"\(([\d.]+) images/s after the first batch\)", stderr)
    return {"wall": wall, "rate": float(rate.group(1)) if rate else None, "peak_mib": peak_mib}


STARTUP = """
import time; t0 = time.time()
from keras_mlrnn.cli.quiet_import import import_tensorflow_quietly; import_tensorflow_quietly()
import keras, keras_mlrnn.models as models; t1 = time.time()
model = models.MODELS[{method!r}].from_preset("voc2007"); t2 = time.time()
from keras_mlrnn.data.images import read_image
model.predict_scores_and_sets(read_image({photo!r}, model.image_size)[None]); t3 = time.time()
print(f"imports {{t1 - t0:.1f}} s, preset {{t2 - t1:.1f}} s, first prediction {{t3 - t2:.1f}} s")
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="binary-relevance")
    parser.add_argument("--out", default="runs/predict")
    parser.add_argument("--photos", type=int, default=4000)
    parser.add_argument("--memory-only", action="store_true", help="part 3 only")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    photos = sorted(glob.glob(os.path.join(PHOTOS, "*.jpg")))[: args.photos]
    stamp = time.strftime("%H%M%S")

    # 3. memory first (the smallest RSS in RUSAGE_CHILDREN is the first child's)
    linked = linked_copies(photos, os.path.join(args.out, f"links{stamp}"))
    small = os.path.join(args.out, f"list{stamp}_1x.txt")
    large = os.path.join(args.out, f"list{stamp}_10x.txt")
    with open(small, "w") as f:  # absolute: a list's relative paths are read from its folder
        f.write("\n".join(p for p in linked if os.path.basename(p).startswith("0_")) + "\n")
    with open(large, "w") as f:
        f.write("\n".join(linked) + "\n")
    one_x = _command(args, [small], os.path.join(args.out, f"mem{stamp}_1x.csv"), "scenes")
    ten_x = _command(args, [large], os.path.join(args.out, f"mem{stamp}_10x.csv"), "scenes")
    print(f"| peak RSS, scenes preset | {len(photos)} paths {one_x['peak_mib']:.0f} MiB "
          f"({one_x['rate']:.0f} images/s) | {10 * len(photos)} paths "
          f"{ten_x['peak_mib']:.0f} MiB ({ten_x['rate']:.0f} images/s) | "
          f"ratio {ten_x['peak_mib'] / one_x['peak_mib']:.3f} |", flush=True)  # fmt: skip
    if args.memory_only:
        return

    # 1. streaming, the real preset: the folder itself when it is labelled whole
    everything = len(photos) == len(glob.glob(os.path.join(PHOTOS, "*.jpg")))
    listed = os.path.join(args.out, f"list{stamp}_photos.txt")
    with open(listed, "w") as f:
        f.write("\n".join(os.path.abspath(p) for p in photos) + "\n")
    source = PHOTOS if everything else listed
    stream = _command(args, [source], os.path.join(args.out, f"stream{stamp}.csv"))

    # 2. arrays
    import keras_mlrnn as km
    from keras_mlrnn.data.images import read_images
    from keras_mlrnn.models import MODELS

    model = MODELS[args.method].from_preset("voc2007")
    images = read_images(photos, model.image_size)
    model.predict_scores_and_sets(images[:64], batch_size=32)  # trace, warm up
    start = time.time()
    model.predict_scores_and_sets(images, batch_size=32)
    array_rate = len(images) / (time.time() - start)
    del images

    # 4. start-up for one photo
    one = _command(args, [photos[0]], os.path.join(args.out, f"one{stamp}.csv"))
    print(f"| {args.method} ({model.image_size} px) | stream {stream['rate']:.1f} images/s "
          f"(wall {stream['wall']:.0f} s for {len(photos)}) | arrays {array_rate:.1f} images/s | "
          f"ratio {stream['rate'] / array_rate:.2f} |")  # fmt: skip
    code = STARTUP.format(method=args.method, photo=photos[0])
    parts = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    print(f"| start-up, one photo | command wall {one['wall']:.1f} s | {parts.strip()} |")
    del km


if __name__ == "__main__":
    main()
