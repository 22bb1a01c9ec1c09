"""The stage-2 rate rule of `benchmarks/fine_tune_table.py`, on hand-made record entries."""

import os
import sys

BENCHMARKS = os.path.join(os.path.dirname(__file__), "..", "benchmarks")


def _choose(entries):
    sys.path.insert(0, BENCHMARKS)
    try:
        from fine_tune_table import choose
    finally:
        sys.path.remove(BENCHMARKS)
    return choose(entries)


def _entry(val, epoch=3, run=5):
    return {"val": [val, epoch, run]}


def test_seed_zero_decides_where_only_seed_zero_ran_every_rate():
    entries = {
        ("br", 224, "3e-5", 0): _entry(0.84),
        ("br", 224, "1e-4", 0): _entry(0.83),
        ("br", 224, "3e-5", 1): _entry(0.70),  # a seed only one rate ran: not judged
    }
    lr, candidates, seeds = _choose(entries)[("br", 224)]
    assert (lr, seeds) == ("3e-5", [0])
    assert [c[0] for c in candidates] == ["3e-5", "1e-4"]


def test_the_mean_over_the_common_seeds_decides():
    # Seed 0 prefers 1e-4 (0.83 > 0.82); over seeds 0-2 3e-5 leads: 0.82 vs 0.8033.
    entries = {("rnn", 224, "1e-4", s): _entry(v) for s, v in enumerate((0.83, 0.80, 0.78))}
    entries.update({("rnn", 224, "3e-5", s): _entry(v) for s, v in enumerate((0.82, 0.81, 0.83))})
    entries[("rnn", 224, "3e-5", 3)] = _entry(0.10)  # seed 3 ran one rate only
    lr, candidates, seeds = _choose(entries)[("rnn", 224)]
    assert (lr, seeds) == ("3e-5", [0, 1, 2])
    means = {c[0]: c[2] for c in candidates}
    assert abs(means["3e-5"] - 0.82) < 1e-9 and abs(means["1e-4"] - 0.80333333) < 1e-6
