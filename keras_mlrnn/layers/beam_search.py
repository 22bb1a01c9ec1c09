"""On-device beam search over label sequences, vectorised over batch and beams.

Beams are folded into the batch: the step function always sees `B * K`
rows, and the loop runs a fixed number of steps (`max_length + 1`), so the
whole search traces into one graph and compiles once (no Python loop over
images, no host round trip inside a step). Stopping early "when no open
path can beat the best finished one" needs no data-dependent exit: every
step adds a log-probability <= 0, so once that holds it keeps holding and
the remaining steps cannot change the answer.

A path is a sequence of distinct labels (repeats are masked: the output is
a set). Two ways to end one:
- with an END token (`end_token` given, CNNRNN): the score is the sum of
  the log-probabilities of its tokens, END included; at step `max_length`
  only END is allowed;
- by a probability floor (`end_token=None`, OrderFreeRNN eq. 11): the score
  is the sum of the chosen labels' log-probabilities; a label may extend a
  path only while the path's probability stays >= `stop_threshold`, and a
  path ends when no label can (or at `max_length`).
Greedy decoding is `beam_size=1`.

The beams' state is two dicts of arrays, `alive` (open paths: "score"
`(B, K)`, "paths" `(B, K, L)`, "used" and "max" `(B, K, V)`) and `done`
(finished paths: "score", "paths", "length", "max"); each step scores the
ways to grow and to end (`_grow_and_end`), keeps the best finished
(`_keep_finished`) and the best open (`_extend`).

`step_fn(tokens (N,), state, step) -> (log_probs (N, V), state)` sees
`N = B * beam_size` rows; `state` is any nest of `(N, ...)` tensors,
reordered with the beams at every step. Per-image constants (image
features) belong outside it: tile them once with `tile_beams` and let
`step_fn` capture them.
"""

import keras
import numpy as np
from keras import ops

# Finite "minus infinity": keeps -inf - -inf = NaN out of the sums.
NEG_INF = -1e9


def _gather(x, index):
    """`x[b, index[b, k], ...]` for `x` `(B, K', ...)` and `index` `(B, K)`."""
    index = ops.cast(index, "int32")
    for _ in range(len(x.shape) - 2):
        index = ops.expand_dims(index, -1)
    return ops.take_along_axis(x, index, axis=1)


def _gather_beams(x, parent, beam_size):
    """Reorders the beams of a folded `(B*K, ...)` tensor by `parent` `(B, K)`."""
    rest = tuple(x.shape[1:])
    x = ops.reshape(x, (-1, beam_size) + rest)
    return ops.reshape(_gather(x, parent), (-1,) + rest)


def tile_beams(x, beam_size):
    """Repeats each row of `(B, ...)` `beam_size` times: `(B*K, ...)`, beams adjacent."""
    return ops.repeat(x, beam_size, axis=0)


def describe_beam_search(beam_size, max_length, ending):
    """The decision of a beam-search method in words, for a served model's description."""
    return (
        f"beam search over label sequences (beam {beam_size}, at most {max_length} labels, "
        f"{ending}): sets are the best path's labels, not a function of the scores"
    )


def top_k_by_sort(x, k):
    """`(values, indices)` of the `k` largest of each row of `x`: `ops.top_k` by a sort.

    Ties go to the lower index, as with `ops.top_k`. Written with `argsort`
    because JAX's `top_k` lowers to an operation that TensorFlow's SavedModel
    loader of the same era cannot read, so a model exported from JAX would
    not load; a sort of one row of beams is cheap.
    """
    indices = ops.cast(ops.argsort(-x, axis=-1)[:, :k], "int32")
    return ops.take_along_axis(x, indices, axis=-1), indices


def beam_search(
    step_fn,
    initial_state,
    num_tokens,
    end_token,
    start_token,
    beam_size=3,
    max_length=5,
    min_length=0,
    stop_threshold=None,
):
    """Finds the most probable label sequence of each image.

    Args:
        step_fn: callable `(tokens (N,), state, step) -> (log_probs (N, V), state)`
            (see the module docstring).
        initial_state: nest of `(B, ...)` tensors, the state before step 0.
        num_tokens: int. V, the vocabulary size (including END, if any).
        end_token: int or None. END's index; None ends paths by `stop_threshold`.
        start_token: int. The token fed at step 0 (may lie outside [0, V)).
        beam_size: int. K. Defaults to 3.
        max_length: int. Most labels in a path. Defaults to 5.
        min_length: int. Fewest labels before END is allowed. Defaults to 0.
        stop_threshold: float or scalar tensor, with `end_token=None`: the
            lowest path probability a path may reach by adding a label.

    Returns:
        dict: "tokens" `(B, max_length)` int32 (the best path, END-padded),
        "length" `(B,)` int32, "log_prob" `(B,)` float32, "max_probs" `(B, V)`
        float32 (each token's largest probability over the best path's steps).
    """
    _check_search(beam_size, max_length, min_length, end_token, stop_threshold)
    K, V, L = beam_size, num_tokens, max_length
    B = ops.shape(keras.tree.flatten(initial_state)[0])[0]
    state = keras.tree.map_structure(lambda s: tile_beams(s, K), initial_state)
    tokens = ops.full((B * K,), start_token, dtype="int32")
    alive, done = _start(B, K, V, L, pad=V if end_token is None else end_token)
    ending = {"end_token": end_token, "min_length": min_length, "max_length": L}
    if end_token is None:
        ending["floor"] = ops.log(ops.cast(stop_threshold, "float32"))
    for step in range(L + 1):
        log_probs, state = step_fn(tokens, state, step)
        # Log-probabilities in float32 whatever the compute dtype.
        log_probs = ops.reshape(ops.cast(log_probs, "float32"), (-1, K, V))
        step_max = ops.maximum(alive["max"], ops.exp(log_probs))
        grow, end_score = _grow_and_end(alive, log_probs, step, ending)
        done = _keep_finished(done, end_score, alive["paths"], step_max, step)
        if step == L:
            break
        alive, parent, token = _extend(alive, grow, step_max, step)
        state = keras.tree.map_structure(lambda s: _gather_beams(s, parent, K), state)
        tokens = ops.reshape(token, (-1,))
    # top_k sorted the finished pool: slot 0 is the best path.
    return {
        "tokens": done["paths"][:, 0],
        "length": done["length"][:, 0],
        "log_prob": done["score"][:, 0],
        "max_probs": done["max"][:, 0],
    }


def _check_search(beam_size, max_length, min_length, end_token, stop_threshold):
    """A ValueError naming the bad argument of `beam_search`."""
    if beam_size < 1 or max_length < 1:
        raise ValueError(f"beam_size and max_length must be >= 1; got {beam_size}, {max_length}.")
    if min_length > max_length:
        raise ValueError(f"min_length ({min_length}) exceeds max_length ({max_length}).")
    if (end_token is None) == (stop_threshold is None):
        raise ValueError("Give exactly one of end_token and stop_threshold.")


def _start(B, K, V, L, pad):
    """The beams before step 0: `(alive, done)`; only beam 0 is open (the others must not win)."""
    alive = {
        "score": ops.tile(ops.convert_to_tensor([[0.0] + [NEG_INF] * (K - 1)]), (B, 1)),
        "paths": ops.full((B, K, L), pad, dtype="int32"),
        "used": ops.zeros((B, K, V), dtype="float32"),
        "max": ops.zeros((B, K, V), dtype="float32"),
    }
    done = {
        "score": ops.full((B, K), NEG_INF, dtype="float32"),
        "paths": ops.full((B, K, L), pad, dtype="int32"),
        "length": ops.zeros((B, K), dtype="int32"),
        "max": ops.zeros((B, K, V), dtype="float32"),
    }
    return alive, done


def _grow_and_end(alive, log_probs, step, ending):
    """`(grow (B, K, V), end_score (B, K))`: each open path's score grown by each label, or ended.

    Growing never adds END or a label already used; below the floor
    (`stop_threshold`) it is not allowed. A path ends with END (`end_token`,
    not before `min_length`), or, without END, when no label keeps it above
    the floor (or at `max_length`).
    """
    V = log_probs.shape[-1]
    end_token = ending["end_token"]
    end_hot = ops.zeros((V,), dtype="float32")
    if end_token is not None:
        end_hot = ops.convert_to_tensor(np.eye(V, dtype="float32")[end_token])
    grow = alive["score"][:, :, None] + log_probs
    grow = ops.where(ops.logical_or(alive["used"] > 0, end_hot > 0), NEG_INF, grow)
    if end_token is None:
        grow = ops.where(grow < ending["floor"], NEG_INF, grow)
        stuck = ops.max(grow, axis=-1) <= NEG_INF / 2
        end_score = alive["score"]
        if step < ending["max_length"]:
            end_score = ops.where(stuck, alive["score"], NEG_INF)
        return grow, end_score
    end_score = alive["score"] + log_probs[:, :, end_token]
    if step < ending["min_length"]:
        end_score = ops.full(ops.shape(end_score), NEG_INF, dtype="float32")
    return grow, end_score


def _keep_finished(done, end_score, alive_paths, step_max, step):
    """The K best of the finished paths and those ending at this step."""
    K = ops.shape(end_score)[1]
    score, keep = top_k_by_sort(ops.concatenate([done["score"], end_score], axis=1), K)
    lengths = ops.full(ops.shape(end_score), step, dtype="int32")
    return {
        "score": score,
        "paths": _gather(ops.concatenate([done["paths"], alive_paths], axis=1), keep),
        "length": _gather(ops.concatenate([done["length"], lengths], axis=1), keep),
        "max": _gather(ops.concatenate([done["max"], step_max], axis=1), keep),
    }


def _extend(alive, grow, step_max, step):
    """The K best grown paths: `(alive, parent (B, K), token (B, K))` after this step."""
    K, V, L = grow.shape[1], grow.shape[2], alive["paths"].shape[2]
    score, flat = top_k_by_sort(ops.reshape(grow, (-1, K * V)), K)
    parent = flat // V
    token = ops.cast(flat % V, "int32")
    paths = _gather(alive["paths"], parent)
    paths = ops.where(ops.arange(L) == step, token[:, :, None], paths)
    alive = {
        "score": score,
        "paths": paths,
        "used": _gather(alive["used"], parent) + ops.one_hot(token, V),
        "max": _gather(step_max, parent),
    }
    return alive, parent, token


def path_to_multi_hot(tokens, length, num_classes):
    """Multi-hot `(B, C)` of the first `length` tokens of each path `(B, L)`."""
    valid = ops.arange(tokens.shape[1])[None, :] < length[:, None]
    safe = ops.where(valid, tokens, 0)
    hot = ops.one_hot(safe, num_classes) * ops.cast(valid, "float32")[..., None]
    return ops.minimum(ops.sum(hot, axis=1), 1.0)
