"""Checks for the exercises of "Deep and bidirectional RNNs".

Signatures the exercises ask for (time-major layout, as torch.nn.RNN without batch_first):

* ``deep_bidirectional_num_params(D, H, K, L) -> int``: the parameters of
  ``torch.nn.RNN(D, H, num_layers=L, bidirectional=True)`` (torch's two bias vectors per layer
  and direction, as the chapter counts) with an output head o_t = c + V [y_t; z_t] on its output,
  V (K, 2H), c (K,).
* ``deep_bidirectional_output(layers, x) -> output`` (T, B, 2H): the output of an L-layer
  bidirectional RNN built from L pairs ``(forward_rnn, backward_rnn)`` of one-layer
  unidirectional companion RNNs, one pair per layer, the first of each pair reading its input
  left to right, the second right to left.
* ``final_states(layer_outputs, H) -> h_n`` (2L, B, H): the final states of an L-layer
  bidirectional RNN, read off the outputs of its layers, ``layer_outputs`` (L, T, B, 2H).
* ``lookahead_output(forward_rnn, backward_rnn, x, w) -> output`` (T, B, 2H): a bidirectional
  layer whose backward direction may look only w steps ahead: at step t it reads x_{t+w}, ...,
  x_t (fewer at the end of the sequence), starting from a zero state (the streaming compromise
  of the chapter; transfer).

The references run :class:`companion.RNN` itself (a bidirectional layer holding the same
weights) or are the named functions below, each the check's own answer; a student's function
that calls them, or builds companion's or torch's RNN to do the exercise's job, is refused.
The driver is :mod:`companion.checks.core`.
"""
from __future__ import annotations

import numpy as np

from ..layers import RNN
from .core import (
    Answer,
    Case,
    Exercise,
    Feedback,
    Wrong,
    grading_check,
    hidden_cases,
    make_rng,
    registry,
    run_check,
    single,
    size,
    torch_function,
)

__all__ = ["check_deep_bidirectional_num_params", "check_deep_bidirectional_output", "check_final_states",
           "check_lookahead_output", "deep_bidirectional_num_params", "reference_deep_bidirectional_output",
           "reference_final_states", "reference_lookahead_output", "CHECKS"]

_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _rnn_classes():
    """companion's and torch's RNN: building one (and reading its count or copying weights into
    it) does these exercises' job."""
    return (RNN, torch_function("nn.RNN"))


# --------------------------------------------------------------------------- counting

def deep_bidirectional_num_params(D: int, H: int, K: int, L: int) -> int:
    """The check's own answer: companion's L-layer bidirectional RNN counted, plus the head V (K, 2H), c (K,)."""
    return RNN(D, H, num_layers=L, bidirectional=True, seed=0).num_parameters() + K * 2 * H + K


def _count(D, H, K, L, *, directions=2, upper_in=None, biases=2, head_in=None, every_layer_reads_x=False,
           head=True):
    """A count with one knob turned: how the slips are made."""
    upper_in = directions * H if upper_in is None else upper_in
    head_in = directions * H if head_in is None else head_in
    first = H * (D + H + biases)
    upper = H * ((D if every_layer_reads_x else upper_in) + H + biases)
    return directions * (first + (L - 1) * upper) + (K * head_in + K if head else 0)


def _count_case(rng, slips):
    while True:
        low, high = (24, 64) if hidden_cases() else (2, 24)
        D, H, K = (int(v) for v in rng.choice(np.arange(low, high), size=3, replace=False))
        case = (D, H, K, size(rng, 2, 5))
        counts = [_count(*case)] + [slip(*case) for _, slip in slips]
        if len(set(counts)) == len(counts):         # every slip tells itself apart
            return case


@grading_check
def check_deep_bidirectional_num_params(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``deep_bidirectional_num_params(D, H, K, L)``: torch.nn.RNN(D, H, num_layers=L,
    bidirectional=True) with an output head on its (T, B, 2H) output."""
    rng = make_rng(seed)
    slips = [("layers above the first read [y_t; z_t] of the layer below: their weight_ih is (H, 2H), "
              "not (H, H)", lambda D, H, K, L: _count(D, H, K, L, upper_in=H)),
             ("only the first layer reads x (size D); every layer above reads the 2H-wide output of the "
              "layer below", lambda D, H, K, L: _count(D, H, K, L, every_layer_reads_x=True)),
             ("bidirectional doubles every layer: each layer has a forward and a backward direction, "
              "each with its own weights",
              lambda D, H, K, L: _count(D, H, K, L, directions=1, upper_in=2 * H, head_in=2 * H)),
             ("the head reads [y_t; z_t], of size 2H: V is (K, 2H), not (K, H)",
              lambda D, H, K, L: _count(D, H, K, L, head_in=H)),
             ("torch keeps two bias vectors per layer and direction (bias_ih and bias_hh), as this "
              "chapter counts", lambda D, H, K, L: _count(D, H, K, L, biases=1)),
             ("the output head is missing: V (K, 2H) and c (K,) count too",
              lambda D, H, K, L: _count(D, H, K, L, head=False))]
    cases = [_count_case(rng, slips) for _ in range(4)]

    def unpack(r, case):
        if isinstance(r, (bool, np.bool_)) or not isinstance(r, (int, np.integer, float, np.floating)):
            raise ValueError(f"expected a number, got {type(r).__name__}")
        return {"count": np.asarray(r, dtype=np.float64)}

    num = lambda f: (lambda *case: {"count": np.asarray(f(*case), dtype=np.float64)})
    return run_check("parameters of a deep bidirectional RNN with a head", fn, cases, unpack,
                     num(deep_bidirectional_num_params), [(h, num(s)) for h, s in slips],
                     forbid=(deep_bidirectional_num_params, *_rnn_classes()))


# --------------------------------------------------------------------------- a deep bidirectional RNN from pairs

def _pairs(bi):
    """One (forward, backward) pair of one-layer unidirectional RNNs per layer of ``bi``."""
    pairs = []
    for layer in range(bi.num_layers):
        D_in = bi.params[f"weight_ih_l{layer}"].shape[1]
        pair = []
        for sfx in ("", "_reverse"):
            one = RNN(D_in, bi.hidden_size, seed=0)
            for name in _NAMES:
                one.params[f"{name}_l0"][...] = bi.params[f"{name}_l{layer}{sfx}"]
            pair.append(one)
        pairs.append(tuple(pair))
    return pairs


def reference_deep_bidirectional_output(layers, x):
    """The check's own answer: companion's bidirectional RNN holding the pairs' weights, run on x."""
    fwd0 = layers[0][0]
    bi = RNN(fwd0.input_size, fwd0.hidden_size, num_layers=len(layers), bidirectional=True, seed=0)
    for layer, pair in enumerate(layers):
        for sfx, one in zip(("", "_reverse"), pair, strict=True):
            for name in _NAMES:
                bi.params[f"{name}_l{layer}{sfx}"][...] = one.params[f"{name}_l0"]
    return bi(x)[0]


def _deep_case(rng):
    T, B, D, H, L = size(rng, 3, 7), size(rng, 1, 4), size(rng, 2, 5), size(rng, 2, 5), size(rng, 2, 4)
    bi = RNN(D, H, num_layers=L, bidirectional=True, seed=int(rng.integers(2 ** 31)))
    return Case((_pairs(bi), rng.normal(0, 1, (T, B, D))))


def _stack_slip(layer_output, last=True):
    """A slip: the student's loop over the layers with ``layer_output(f, b, inp)`` for one layer."""
    def slip(layers, x):
        inp, outs = x, []
        for f, b in layers:
            inp = layer_output(f, b, inp)
            outs.append(inp)
        return {"output": outs[-1] if last else outs[0]}
    return slip


@grading_check
def check_deep_bidirectional_output(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``deep_bidirectional_output(layers, x) -> output`` (T, B, 2H), ``layers`` a list of
    (forward_rnn, backward_rnn) pairs, one per layer."""
    rng = make_rng(seed)
    cases = [_deep_case(rng) for _ in range(3)]
    cat = lambda a, b: np.concatenate([a, b], axis=-1)
    right = lambda f, b, inp: cat(f(inp)[0], b(inp[::-1])[0][::-1])
    slips = [("the backward RNN's output is still in reversed time: flip it back (its row k belongs to "
              "step T - k) before you concatenate", _stack_slip(lambda f, b, inp: cat(f(inp)[0], b(inp[::-1])[0]))),
             ("the backward RNN must read the REVERSED input; run on it as it is, it is a second forward RNN",
              _stack_slip(lambda f, b, inp: cat(f(inp)[0], b(inp)[0]))),
             ("the forward direction comes first: [y_t; z_t], forward in [..., :H], backward in [..., H:]",
              _stack_slip(lambda f, b, inp: cat(b(inp[::-1])[0][::-1], f(inp)[0]))),
             ("that is the first layer's output: each layer reads the [y_t; z_t] of the layer below, and "
              "the output is the LAST layer's", _stack_slip(right, last=False))]
    return run_check("a deep bidirectional RNN from one-directional RNNs", fn, cases, single("output"),
                     lambda layers, x: {"output": reference_deep_bidirectional_output(layers, x)}, slips,
                     forbid=(reference_deep_bidirectional_output, *_rnn_classes()))


# --------------------------------------------------------------------------- final states of every layer

def reference_final_states(layer_outputs, H):
    """The check's own answer: for each layer, the forward direction's state at t = T and the
    backward direction's at t = 1, in the order layer by layer, forward before backward."""
    rows = []
    for out in layer_outputs:
        rows += [out[-1, :, :H], out[0, :, H:]]
    return np.stack(rows)


def _final_case(rng):
    T, B, D, H, L = size(rng, 3, 7), size(rng, 1, 4), size(rng, 2, 5), size(rng, 2, 5), size(rng, 2, 4)
    bi = RNN(D, H, num_layers=L, bidirectional=True, seed=int(rng.integers(2 ** 31)))
    _, h_n = bi(rng.normal(0, 1, (T, B, D)))
    tr = bi.traces           # each layer's output: its two directions' h, side by side
    outs = np.stack([np.concatenate([tr[f"l{k}"]["h"], tr[f"l{k}_reverse"]["h"]], axis=-1) for k in range(L)])
    return Case((outs, H), hidden=(h_n,))


@grading_check
def check_final_states(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``final_states(layer_outputs, H) -> h_n`` (2L, B, H) of an L-layer bidirectional RNN,
    ``layer_outputs`` (L, T, B, 2H) the outputs of its layers."""
    rng = make_rng(seed)
    cases = [_final_case(rng) for _ in range(3)]

    def slip(f_t, b_t, layer_major=True, nested=False, last_only=False):
        def s(outs, H, h_n):
            per_layer = [(o[f_t, :, :H], o[b_t, :, H:]) for o in outs]
            if last_only:
                per_layer = per_layer[-1:]
            if nested:
                return {"h_n": np.stack([np.stack(p) for p in per_layer])}
            rows = [r for p in per_layer for r in p] if layer_major else \
                [p[0] for p in per_layer] + [p[1] for p in per_layer]
            return {"h_n": np.stack(rows)}
        return s

    slips = [("the backward direction ends at t = 1 (index 0), where it has read the whole sequence right "
              "to left: its final state is output[0, :, H:], not output[-1, :, H:]", slip(-1, -1)),
             ("the forward direction ends at the last step: its final state is output[-1, :, :H]", slip(0, 0)),
             ("both ends swapped: forward ends at t = T (index -1), backward at t = 1 (index 0)", slip(0, -1)),
             ("h_n's rows go layer by layer, forward before backward (row layer * 2 + direction): "
              "layer 1 forward, layer 1 backward, layer 2 forward, ...; you put every forward row first",
              slip(-1, 0, layer_major=False)),
             ("h_n keeps the final states of EVERY layer, (2L, B, H), not only the last layer's",
              slip(-1, 0, last_only=True)),
             ("h_n is (2L, B, H): one row per layer and direction, not (L, 2, B, H)", slip(-1, 0, nested=True))]
    return run_check("final states of a deep bidirectional RNN", fn, cases, single("h_n"),
                     lambda outs, H, h_n: {"h_n": reference_final_states(outs, H)}, slips,
                     forbid=(reference_final_states,))


# --------------------------------------------------------------------------- a look-ahead window

def _windowed(backward_rnn, x, w, window, pick=-1):
    """z_t for every t: ``backward_rnn`` run from a zero state over ``window(x, t, w)``, row ``pick`` of
    its output (how the reference and the slips differ)."""
    return np.stack([backward_rnn(window(x, t, w))[0][pick] for t in range(len(x))])


_AHEAD = lambda x, t, w: x[t:t + w + 1][::-1]          # x_{t+w}, ..., x_t: right to left


def reference_lookahead_output(forward_rnn, backward_rnn, x, w):
    """The check's own answer: [y_t; z_t] with z_t the backward RNN's state after reading
    x_{t+w}, ..., x_t (cut at the end of the sequence), from a zero state."""
    return np.concatenate([forward_rnn(x)[0], _windowed(backward_rnn, x, w, _AHEAD)], axis=-1)


def _lookahead_case(rng):
    T, B, D, H = size(rng, 3, 8), size(rng, 1, 4), size(rng, 2, 5), size(rng, 2, 5)
    bi = RNN(D, H, bidirectional=True, seed=int(rng.integers(2 ** 31)))
    fwd, bwd = _pairs(bi)[0]
    w = int(rng.integers(1, T - 1))            # a window shorter than the sequence: 1 <= w <= T - 2
    return Case((fwd, bwd, rng.normal(0, 1, (T, B, D)), w))


@grading_check
def check_lookahead_output(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``lookahead_output(forward_rnn, backward_rnn, x, w) -> output`` (T, B, 2H): the backward
    half at step t has read x_{t+w}, ..., x_t only."""
    rng = make_rng(seed)
    cases = [_lookahead_case(rng) for _ in range(3)]
    cat = lambda a, b: {"output": np.concatenate([a, b], axis=-1)}

    def slip(window, pick=-1, swap=False):
        def s(f, b, x, w):
            z = _windowed(b, x, w, window, pick)
            return cat(z, f(x)[0]) if swap else cat(f(x)[0], z)
        return s

    slips = [("that is the full bidirectional output: with a look-ahead of w steps, z_t may read "
              "x_t, ..., x_{t+w} only", slip(lambda x, t, w: x[t:][::-1])),
             ("the window holds w + 1 inputs, x_t to x_{t+w}: you stopped at x_{t+w-1}",
              slip(lambda x, t, w: x[t:t + w][::-1])),
             ("the backward direction reads its window right to left, x_{t+w} first and x_t last: "
              "reverse the window", slip(lambda x, t, w: x[t:t + w + 1])),
             ("z_t is the backward state after reading the whole window down to x_t: the LAST row of "
              "the output of the run on the reversed window, not the first", slip(_AHEAD, pick=0)),
             ("the look-ahead window is in the future: x_t, ..., x_{t+w}, not x_{t-w}, ..., x_t",
              slip(lambda x, t, w: x[max(t - w, 0):t + 1])),
             ("the forward direction comes first: [y_t; z_t]", slip(_AHEAD, swap=True))]
    return run_check("a bidirectional layer with a look-ahead window", fn, cases, single("output"),
                     lambda f, b, x, w: {"output": reference_lookahead_output(f, b, x, w)}, slips,
                     forbid=(reference_lookahead_output,))


# --------------------------------------------------------------------------- what a test needs
# Written as a student would: not with the references or the slips above.

def _num_params(D, H, K, L):
    layer_1 = 2 * H * (D + H + 2)              # forward and backward: weight_ih (H, D), weight_hh, 2 biases
    upper = 2 * H * (2 * H + H + 2)            # weight_ih (H, 2H): the layer reads [y_t; z_t]
    return layer_1 + (L - 1) * upper + K * 2 * H + K


def _deep_output(layers, x):
    inp = x
    for forward_rnn, backward_rnn in layers:
        y, _ = forward_rnn(inp)
        z_rev, _ = backward_rnn(inp[::-1])
        inp = np.concatenate([y, z_rev[::-1]], axis=-1)
    return inp


def _deep_not_flipped_back(layers, x):
    inp = x
    for forward_rnn, backward_rnn in layers:
        inp = np.concatenate([forward_rnn(inp)[0], backward_rnn(inp[::-1])[0]], axis=-1)
    return inp


def _final_states(layer_outputs, H):
    rows = []
    for out in layer_outputs:
        rows.append(out[-1, :, :H])            # forward: ends at t = T
        rows.append(out[0, :, H:])             # backward: ends at t = 1
    return np.stack(rows)


def _lookahead(forward_rnn, backward_rnn, x, w):
    y, _ = forward_rnn(x)
    z = np.zeros_like(y)
    for t in range(len(x)):
        window = x[t:t + w + 1]                # x_t .. x_{t+w}, cut at the end
        out, h_n = backward_rnn(window[::-1])  # read right to left, from a zero state
        z[t] = h_n[0]                          # its last state: it has read x_t
    return np.concatenate([y, z], axis=-1)


def _copy_by_building(layers, x):
    """Copying: build companion's bidirectional layer with the pairs' weights, as the chapter does."""
    import companion
    fwd0 = layers[0][0]
    bi = companion.RNN(fwd0.input_size, fwd0.hidden_size, num_layers=len(layers), bidirectional=True)
    for k, (f, b) in enumerate(layers):
        for name in _NAMES:
            bi.params[f"{name}_l{k}"][...] = f.params[f"{name}_l0"]
            bi.params[f"{name}_l{k}_reverse"][...] = b.params[f"{name}_l0"]
    return bi(x)[0]


#: the checks of this module: each with a correct answer and hand-written wrong ones
CHECKS = registry(
    Exercise(check_deep_bidirectional_num_params, _num_params,
             (Wrong(lambda D, H, K, L: 2 * H * (D + H + 2) + (L - 1) * 2 * H * (H + H + 2) + 2 * H * K + K,
                    "(H, 2H), not (H, H)"),
              Wrong(lambda D, H, K, L: 2 * H * (D + H + 2) + (L - 1) * 2 * H * (3 * H + 2), "head is missing")),
             chapter="04", kind="apply", points=2,
             skill="count a deep bidirectional RNN with a head from its weight shapes (upper layers read 2H)",
             copying=lambda D, H, K, L: deep_bidirectional_num_params(D, H, K, L)),
    Exercise(check_deep_bidirectional_output, _deep_output,
             (Wrong(lambda layers, x: _deep_output(layers[:1], x), "LAST layer's"),
              Wrong(_deep_not_flipped_back, "still in reversed time")),
             chapter="04", kind="apply", points=3,
             skill="build a deep bidirectional RNN from one-directional layers: reverse, re-reverse, stack",
             copying=_copy_by_building),
    Exercise(check_final_states, _final_states,
             (Wrong(lambda outs, H: np.stack([r for o in outs for r in (o[-1, :, :H], o[-1, :, H:])]),
                    "backward direction ends at t = 1"),
              Wrong(lambda outs, H: np.stack([o[-1, :, :H] for o in outs] + [o[0, :, H:] for o in outs]),
                    "layer by layer")),
             chapter="04", kind="apply", points=2,
             skill="know where each direction of each layer ends and how h_n orders layers and directions",
             copying=lambda outs, H: reference_final_states(outs, H)),
    Exercise(check_lookahead_output, _lookahead,
             (Wrong(lambda f, b, x, w: np.concatenate([f(x)[0], b(x[::-1])[0][::-1]], -1), "full bidirectional"),
              Wrong(lambda f, b, x, w: np.concatenate(
                  [f(x)[0], np.stack([b(x[t:t + w + 1][::-1])[0][0] for t in range(len(x))])], -1), "LAST row")),
             chapter="04", kind="transfer", points=3,
             skill="turn the backward direction into a look-ahead window of w steps (streaming with a delay)",
             copying=lambda f, b, x, w: reference_lookahead_output(f, b, x, w)),
)
