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

`beam_search` is over 60 lines (about 85 of code): the step's scoring,
masking, finishing and re-ranking of beams read one after the other as
the search does them; split into helpers, each would pass the same
eight arrays of beam state (open and finished paths) in and out.
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
            with `N = B * beam_size`; `state` is any nest of `(N, ...)` tensors,
            reordered with the beams at every step. Per-image constants
            (image features) belong outside it: tile them once with
            `tile_beams` and let `step_fn` capture them.
        initial_state: nest of `(B, ...)` tensors, the state before step 0
            (B may be dynamic).
        num_tokens: int. V, the vocabulary size (including END, if any).
        end_token: int or None. Index of END in the vocabulary; None ends
            paths by `stop_threshold` instead.
        start_token: int. The token fed at step 0 (may lie outside [0, V)).
        beam_size: int. K. Defaults to 3.
        max_length: int. Most labels in a path. Defaults to 5.
        min_length: int. Fewest labels before END is allowed. Defaults to 0.
        stop_threshold: float or scalar tensor, with `end_token=None`: the
            lowest path probability a path may reach by adding a label.

    Returns:
        dict of tensors:
        - `tokens` `(B, max_length)` int32, the best path, END-padded;
        - `length` `(B,)` int32, its number of labels;
        - `log_prob` `(B,)` float32, its score;
        - `max_probs` `(B, V)` float32: for each token, the largest
          probability any step of the best path gave it.
    """
    if beam_size < 1 or max_length < 1:
        raise ValueError(f"beam_size and max_length must be >= 1; got {beam_size}, {max_length}.")
    if min_length > max_length:
        raise ValueError(f"min_length ({min_length}) exceeds max_length ({max_length}).")
    if (end_token is None) == (stop_threshold is None):
        raise ValueError("Give exactly one of end_token and stop_threshold.")
    K, V, L = beam_size, num_tokens, max_length
    pad = V if end_token is None else end_token  # fills unused path slots
    B = ops.shape(keras.tree.flatten(initial_state)[0])[0]
    state = keras.tree.map_structure(lambda s: tile_beams(s, K), initial_state)
    tokens = ops.full((B * K,), start_token, dtype="int32")
    # Only beam 0 is open at the start; the others are copies that must not win.
    alive_score = ops.tile(ops.convert_to_tensor([[0.0] + [NEG_INF] * (K - 1)]), (B, 1))
    alive_paths = ops.full((B, K, L), pad, dtype="int32")
    alive_used = ops.zeros((B, K, V), dtype="float32")
    alive_max = ops.zeros((B, K, V), dtype="float32")
    done_score = ops.full((B, K), NEG_INF, dtype="float32")
    done_paths = ops.full((B, K, L), pad, dtype="int32")
    done_length = ops.zeros((B, K), dtype="int32")
    done_max = ops.zeros((B, K, V), dtype="float32")
    if end_token is None:
        end_hot = ops.zeros((V,), dtype="float32")
        floor = ops.log(ops.cast(stop_threshold, "float32"))
    else:
        end_hot = ops.convert_to_tensor(np.eye(V, dtype="float32")[end_token])
    positions = ops.arange(L)

    for step in range(L + 1):
        log_probs, state = step_fn(tokens, state, step)
        # Log-probabilities in float32 whatever the compute dtype.
        log_probs = ops.reshape(ops.cast(log_probs, "float32"), (-1, K, V))
        step_max = ops.maximum(alive_max, ops.exp(log_probs))

        # Paths growing by one label: never END, never a label already used.
        grow = alive_score[:, :, None] + log_probs
        grow = ops.where(ops.logical_or(alive_used > 0, end_hot > 0), NEG_INF, grow)
        if end_token is None:
            grow = ops.where(grow < floor, NEG_INF, grow)
            # A path ends when no label keeps it above the floor (or at L).
            stuck = ops.max(grow, axis=-1) <= NEG_INF / 2
            end_score = alive_score
            if step < L:
                end_score = ops.where(stuck, alive_score, NEG_INF)
        else:
            # Paths closing now with END.
            end_score = alive_score + log_probs[:, :, end_token]
            if step < min_length:
                end_score = ops.full((B, K), NEG_INF, dtype="float32")
        pool_score = ops.concatenate([done_score, end_score], axis=1)
        done_score, keep = top_k_by_sort(pool_score, K)
        done_paths = _gather(ops.concatenate([done_paths, alive_paths], axis=1), keep)
        done_length = _gather(
            ops.concatenate([done_length, ops.full((B, K), step, dtype="int32")], axis=1), keep
        )
        done_max = _gather(ops.concatenate([done_max, step_max], axis=1), keep)
        if step == L:
            break

        alive_score, flat = top_k_by_sort(ops.reshape(grow, (-1, K * V)), K)
        parent = flat // V
        token = ops.cast(flat % V, "int32")
        alive_paths = _gather(alive_paths, parent)
        alive_paths = ops.where(positions == step, token[:, :, None], alive_paths)
        alive_used = _gather(alive_used, parent) + ops.one_hot(token, V)
        alive_max = _gather(step_max, parent)
        state = keras.tree.map_structure(lambda s: _gather_beams(s, parent, K), state)
        tokens = ops.reshape(token, (-1,))

    # top_k sorted the finished pool: slot 0 is the best path.
    return {
        "tokens": done_paths[:, 0],
        "length": done_length[:, 0],
        "log_prob": done_score[:, 0],
        "max_probs": done_max[:, 0],
    }


def path_to_multi_hot(tokens, length, num_classes):
    """Multi-hot `(B, C)` of the first `length` tokens of each path `(B, L)`."""
    valid = ops.arange(tokens.shape[1])[None, :] < length[:, None]
    safe = ops.where(valid, tokens, 0)
    hot = ops.one_hot(safe, num_classes) * ops.cast(valid, "float32")[..., None]
    return ops.minimum(ops.sum(hot, axis=1), 1.0)
