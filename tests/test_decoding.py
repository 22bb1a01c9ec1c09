import itertools

import numpy as np
import pytest
from keras import ops

from keras_mlrnn.layers.beam_search import beam_search, path_to_multi_hot

TABLE_SIZE = 97


def _table(num_tokens, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2.0, size=(TABLE_SIZE, num_tokens))
    return logits - np.log(np.exp(logits).sum(1, keepdims=True))  # log-softmax rows


def _history_code(code, token, num_tokens):
    return (code * (num_tokens + 1) + token + 1) % TABLE_SIZE


def make_stub(table, num_tokens, image_offsets):
    """A step function whose distribution depends on the whole history and the image."""
    table_t = ops.convert_to_tensor(table.astype(np.float32))

    def step_fn(tokens, state, step):
        code = state["code"]
        code = ops.where(
            step == 0, code, _history_code(code, ops.cast(tokens, "float32"), num_tokens)
        )
        row = ops.cast(ops.mod(code, TABLE_SIZE), "int32")
        return ops.take(table_t, row, axis=0), {"code": code}

    return step_fn, {"code": ops.convert_to_tensor(image_offsets.astype(np.float32))}


def brute_force(table, offset, num_tokens, end, max_length, min_length=0):
    """Best END-closed sequence of distinct labels by exhaustive enumeration."""
    labels = [t for t in range(num_tokens) if t != end]
    best = (-np.inf, None)
    for n in range(min_length, max_length + 1):
        for seq in itertools.permutations(labels, n):
            code, score = float(offset), 0.0
            for t, token in enumerate(list(seq) + [end]):
                if t > 0:
                    code = _history_code(code, seq[t - 1], num_tokens)
                score += table[int(code) % TABLE_SIZE, token]
            if score > best[0]:
                best = (score, seq)
    return best


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("min_length", [0, 1])
def test_wide_beam_equals_brute_force(seed, min_length):
    num_labels, max_length = 3, 3
    V, end = num_labels + 1, num_labels
    table = _table(V, seed)
    offsets = np.array([0.0, 5.0, 11.0])
    step_fn, state = make_stub(table, V, offsets)
    # 6 = the most partial paths at any depth (3 * 2 * 1): nothing is ever pruned.
    out = beam_search(
        step_fn,
        state,
        V,
        end,
        start_token=end,
        beam_size=6,
        max_length=max_length,
        min_length=min_length,
    )
    for b in range(3):
        score, seq = brute_force(table, offsets[b], V, end, max_length, min_length)
        n = int(out["length"][b])
        assert tuple(np.asarray(out["tokens"][b, :n])) == seq
        assert float(out["log_prob"][b]) == pytest.approx(score, abs=1e-4)


@pytest.mark.parametrize("beam_size", [1, 2, 4])
def test_narrow_beams_return_a_consistent_valid_path(beam_size):
    V, end, max_length = 6, 5, 4
    table = _table(V, 7)
    offsets = np.arange(8, dtype=np.float64) * 3
    step_fn, state = make_stub(table, V, offsets)
    out = beam_search(
        step_fn, state, V, end, start_token=end, beam_size=beam_size, max_length=max_length
    )
    for b in range(8):
        n = int(out["length"][b])
        seq = list(np.asarray(out["tokens"][b, :n]))
        assert len(set(seq)) == n and end not in seq  # a set of labels
        assert all(t == end for t in np.asarray(out["tokens"][b, n:]))
        # the reported score is the path's true score, END included
        code, score = offsets[b], 0.0
        for t, token in enumerate(seq + [end]):
            if t > 0:
                code = _history_code(code, seq[t - 1], V)
            score += table[int(code) % TABLE_SIZE, token]
        assert float(out["log_prob"][b]) == pytest.approx(score, abs=1e-4)


def test_finished_path_beats_every_open_path_at_the_end():
    # A step function where END is very likely at step 1: the search must return the
    # 1-label path, since every longer path only adds negative log-probabilities.
    V, end = 4, 3

    def step_fn(tokens, state, step):
        logits = np.full((2, V), -5.0, np.float32)
        logits[:, 0] = -0.1 if step == 0 else -5.0
        if step >= 1:
            logits[:, end] = -0.01
        return ops.convert_to_tensor(logits), state

    out = beam_search(
        step_fn, {"s": ops.zeros((1, 1))}, V, end, start_token=end, beam_size=2, max_length=3
    )
    assert int(out["length"][0]) == 1 and int(out["tokens"][0, 0]) == 0
    assert float(out["log_prob"][0]) == pytest.approx(-0.11, abs=1e-5)


def test_max_probs_track_the_best_path():
    V, end = 3, 2
    dist = [np.log([0.7, 0.2, 0.1]), np.log([0.3, 0.3, 0.4])]

    def step_fn(tokens, state, step):
        return ops.convert_to_tensor(np.tile(dist[min(step, 1)], (1, 1)).astype(np.float32)), state

    out = beam_search(
        step_fn, {"s": ops.zeros((1, 1))}, V, end, start_token=end, beam_size=1, max_length=2
    )
    # greedy: label 0 (0.7), then END (0.4)
    assert int(out["length"][0]) == 1
    np.testing.assert_allclose(np.asarray(out["max_probs"][0]), [0.7, 0.3, 0.4], atol=1e-6)


def test_path_to_multi_hot():
    tokens = ops.convert_to_tensor(np.array([[2, 0, 3], [1, 3, 3]], np.int32))
    length = ops.convert_to_tensor(np.array([2, 1], np.int32))
    np.testing.assert_array_equal(
        np.asarray(path_to_multi_hot(tokens, length, 3)), [[1, 0, 1], [0, 1, 0]]
    )


def brute_force_threshold(log_table, offset, num_labels, max_length, threshold):
    """Best maximal path under a probability floor, by exhaustive enumeration."""
    log_floor = np.log(threshold)

    def log_p(seq, token):
        code = float(offset)
        for t in range(1, len(seq) + 1):
            code = _history_code(code, seq[t - 1], num_labels)
        return log_table[int(code) % TABLE_SIZE, token]

    best = (-np.inf, None)
    for n in range(0, max_length + 1):
        for seq in itertools.permutations(range(num_labels), n):
            score = sum(log_p(seq[:t], seq[t]) for t in range(n))
            if any(sum(log_p(seq[:t], seq[t]) for t in range(m)) < log_floor for m in range(n + 1)):
                continue
            extendable = n < max_length and any(
                score + log_p(seq, c) >= log_floor for c in range(num_labels) if c not in seq
            )
            if not extendable and score > best[0]:
                best = (score, seq)
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("threshold", [0.05, 0.3])
def test_threshold_mode_wide_beam_equals_brute_force(seed, threshold):
    num_labels, max_length = 3, 3
    rng = np.random.default_rng(seed)
    log_table = np.log(1 / (1 + np.exp(-rng.normal(1.0, 2.0, size=(TABLE_SIZE, num_labels)))))
    offsets = np.array([0.0, 4.0, 9.0, 13.0])
    table_t = ops.convert_to_tensor(log_table.astype(np.float32))

    def step_fn(tokens, state, step):
        code = state["code"]
        if step > 0:
            code = _history_code(code, ops.cast(tokens, "float32"), num_labels)
        row = ops.cast(ops.mod(code, TABLE_SIZE), "int32")
        return ops.take(table_t, row, axis=0), {"code": code}

    out = beam_search(
        step_fn,
        {"code": ops.convert_to_tensor(offsets.astype(np.float32))},
        num_labels,
        None,
        start_token=num_labels,
        beam_size=6,
        max_length=max_length,
        stop_threshold=threshold,
    )
    for b in range(len(offsets)):
        score, seq = brute_force_threshold(log_table, offsets[b], num_labels, max_length, threshold)
        n = int(out["length"][b])
        assert tuple(np.asarray(out["tokens"][b, :n])) == seq
        assert float(out["log_prob"][b]) == pytest.approx(score, abs=1e-4)
