"""Label a photo collection: stream batches through a model, write results as they come.

`label_collection(model, paths, out)` decodes the photos in parallel
(`keras_mlrnn.data.image_stream`), predicts batch by batch, and appends each
batch's rows to `out` at once (flushed), so a kill loses at most the batch
in flight and memory does not grow with the number of photos:
- `out` ending in `.csv`: `path,labels,scores`, labels the method's decision
  (`predict_sets`) joined by `;`, scores the `top` best as `name:score`;
  with `all_scores`, one column per class instead of `scores`;
- `.jsonl`: one JSON object a line, `{"path", "labels", "scores"}`.
`resume=True` skips the paths already in `out` (and those already in the
errors file); a torn last line is cut off first. A file that cannot be read
never stops the run: it is named, with why, in the errors file
(`<out>.errors.csv`) and counted in the summary. A progress bar (images/s,
ETA) is drawn on a terminal; elsewhere a plain line every 10 s.

Example:
```python
from keras_mlrnn.evaluation.labelling import label_collection
summary = label_collection(model, paths, "labels.csv", batch_size=32)
summary["labelled"], summary["failed"], summary["images_per_second"]
```
"""

import csv
import json
import os
import sys
import time

import numpy as np

ERRORS_SUFFIX = ".errors.csv"


def _columns(class_names, all_scores):
    return ["path", "labels", *(class_names if all_scores else ["scores"])]


def _cut_torn_line(path):
    """Cuts a last line that a kill left without its newline; returns the whole lines."""
    with open(path, "rb") as f:
        data = f.read()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        with open(path, "r+b") as f:
            f.truncate(end)
    return data[:end].decode("utf-8").splitlines()


def done_paths(out, columns=None):
    """The paths already written to `out` (CSV or JSON lines), after cutting a torn last line.

    Raises:
        ValueError: a CSV whose header is not `columns` (another model or options).
    """
    lines = _cut_torn_line(out)
    if out.endswith(".csv"):
        rows = list(csv.reader(lines))
        if rows and columns is not None and rows[0] != columns:
            raise ValueError(
                f"{out} has the columns {rows[0][:4]}..., not this run's {columns[:4]}...: "
                "resume with the same model and options, or write another --out."
            )
        return {row[0] for row in rows[1:] if row}
    return {json.loads(line)["path"] for line in lines if line.strip()}


class _Writer:
    """Appends result rows to a CSV or JSON-lines file, flushed after each batch."""

    def __init__(self, out, class_names, top, all_scores, append):
        self.names, self.top, self.all_scores = list(class_names), top, all_scores
        self.csv = out.endswith(".csv")
        self.file = open(out, "a" if append else "x", newline="", encoding="utf-8")
        self.rows = csv.writer(self.file) if self.csv else None
        if self.csv and not append:
            self.rows.writerow(_columns(self.names, all_scores))

    def write(self, paths, scores, sets):
        for path, score, chosen in zip(paths, scores, sets):
            order = np.argsort(-score, kind="stable")  # best first; ties: lower class index
            labels = [self.names[c] for c in order if chosen[c] > 0]
            best = order if self.all_scores else order[: self.top]
            if self.csv and self.all_scores:
                self.rows.writerow([path, ";".join(labels), *(f"{s:.6g}" for s in score)])
            elif self.csv:
                top = ";".join(f"{self.names[c]}:{score[c]:.4f}" for c in best)
                self.rows.writerow([path, ";".join(labels), top])
            else:
                scores_out = {self.names[c]: round(float(score[c]), 6) for c in best}
                line = {"path": path, "labels": labels, "scores": scores_out}
                self.file.write(json.dumps(line) + "\n")
        self.file.flush()

    def close(self):
        self.file.close()


class _Progress:
    """A Keras progress bar on a terminal; a plain line every 10 s in a log."""

    def __init__(self, total, enabled=True):
        self.total, self.done, self.start, self.last = total, 0, time.time(), 0.0
        self.enabled = enabled and total > 0
        self.bar = None
        if self.enabled and sys.stderr.isatty():
            import keras

            self.bar = keras.utils.Progbar(total, unit_name="image", stateful_metrics=["images/s"])

    def update(self, count):
        self.done += count
        now = time.time()
        rate = self.done / max(now - self.start, 1e-9)
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(self.done, [("images/s", rate)])
        elif now - self.last >= 10 or self.done == self.total:
            eta = (self.total - self.done) / max(rate, 1e-9)
            print(f"labelled {self.done}/{self.total} ({rate:.1f} images/s, ETA {eta:.0f} s)",
                  file=sys.stderr, flush=True)  # fmt: skip
            self.last = now


def _failure_reason(path):
    from keras_mlrnn.data.images import header_problem

    return header_problem(path) or "could not be decoded"  # a missing file is named there


def _read_errors(errors_path):
    if not os.path.isfile(errors_path):
        return set()
    with open(errors_path, newline="", encoding="utf-8") as f:
        return {row[0] for row in list(csv.reader(f))[1:] if row}


def label_collection(
    model,
    paths,
    out,
    batch_size=32,
    top=5,
    all_scores=False,
    resume=False,
    errors=None,
    progress=True,
):
    """Labels `paths` with `model`, appending to `out` batch by batch.

    Args:
        model: a `MultiLabelModel`.
        paths: list of str, the image files (`keras_mlrnn.data.image_inputs`).
        out: str. A `.csv` or `.jsonl` file; it must not exist unless `resume`.
        batch_size: int. Images per prediction batch. Defaults to 32.
        top: int. Scores written per image (the best). Defaults to 5.
        all_scores: bool. Every class's score instead. Defaults to False.
        resume: bool. Continue `out`: skip the paths it (and the errors file)
            already holds. Defaults to False.
        errors: str or None. The errors file; defaults to `out` + ".errors.csv".
        progress: bool. Progress bar or lines on stderr. Defaults to True.

    Returns:
        dict: "labelled", "failed", "skipped" (done before), "total",
        "seconds" and "images_per_second" (timed from the end of the first
        batch: start-up and tracing left out; None when there was one batch),
        "out", "errors".

    Raises:
        FileExistsError: `out` exists and `resume` is False.
        ValueError: `out` is neither .csv nor .jsonl, or does not match.
    """
    if not out.endswith((".csv", ".jsonl")):
        raise ValueError(f"--out {out}: write a .csv or a .jsonl file.")
    names = model.class_names or [f"class_{c}" for c in range(model.num_classes)]
    errors = errors or out + ERRORS_SUFFIX
    skipped = set()
    if os.path.exists(out):
        if not resume:
            raise FileExistsError(f"{out} exists: add --resume to continue it, or another --out.")
        skipped = done_paths(out, _columns(names, all_scores)) | _read_errors(errors)
    todo = [p for p in paths if p not in skipped]
    writer = _Writer(out, names, top, all_scores, append=os.path.exists(out))
    try:
        with _ErrorLog(errors) as error_log:
            counts = _label(
                model, todo, batch_size, writer, error_log, _Progress(len(todo), progress)
            )
    finally:
        writer.close()
    labelled, failed, timed, seconds = counts
    return {
        "labelled": labelled, "failed": failed, "skipped": len(paths) - len(todo),
        "total": len(paths), "seconds": seconds,
        "images_per_second": timed / seconds if timed else None,
        "out": out, "errors": errors,
    }  # fmt: skip


class _ErrorLog:
    """The errors file: `path,reason` rows, appended and flushed as failures are found."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        new = not os.path.exists(self.path)
        self.file = open(self.path, "a", newline="", encoding="utf-8")
        self.rows = csv.writer(self.file)
        if new:
            self.rows.writerow(["path", "reason"])
        return self

    def add(self, paths):
        for path in paths:
            self.rows.writerow([path, _failure_reason(path)])
        self.file.flush()

    def __exit__(self, *exc):
        self.file.close()


def _label(model, todo, batch_size, writer, error_log, bar):
    """The loop: predict each decoded batch, write it, name the files the stream skipped.

    Returns:
        (labelled, failed, images timed, seconds timed): timed from the end of
        the first batch, so start-up and tracing are left out.
    """
    from keras_mlrnn.data.image_stream import image_stream
    from keras_mlrnn.models.batched_method import BatchedMethod

    runner = BatchedMethod(model, "scores_and_sets")
    labelled = failed = timed = expected = 0  # expected: the next index the stream owes
    start = None
    for images, indices in image_stream(todo, model.image_size, batch_size) if todo else ():
        result = runner.predict_on_batch(images)
        writer.write(
            [todo[i] for i in indices], np.asarray(result["scores"]), np.asarray(result["sets"])
        )
        delivered = set(indices.tolist())
        gone = [todo[i] for i in range(expected, int(indices[-1]) + 1) if i not in delivered]
        error_log.add(gone)
        expected = int(indices[-1]) + 1
        labelled, failed = labelled + len(indices), failed + len(gone)
        bar.update(len(indices) + len(gone))
        if start is None:
            start = time.time()
        else:
            timed += len(indices)
    error_log.add(todo[expected:])  # failures after the last readable image
    failed += len(todo) - expected
    return labelled, failed, timed, (time.time() - start if start else 0.0)
