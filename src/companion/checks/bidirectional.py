"""Checks for the exercises of "Deep and bidirectional RNNs".

Signatures the exercises ask for (time-major layout, as torch.nn.RNN without batch_first):

* ``rnn_shapes(T, B, D, H, num_layers, bidirectional) -> (output_shape, h_n_shape)``: the shapes
  of ``output, h_n = torch.nn.RNN(D, H, num_layers, bidirectional=...)(x)`` for x of shape (T, B, D).
* ``bidirectional_output(forward_rnn, backward_rnn, x) -> output`` (T, B, 2H): the output of a
  one-layer bidirectional RNN built from two one-layer unidirectional companion RNNs, the
  first reading x left to right, the second right to left.
* ``final_states(output, H) -> h_n`` (2, B, H): the final states of a one-layer bidirectional RNN
  read off its output (T, B, 2H).

Every reference is computed by running :class:`companion.RNN` itself (the driver is
:mod:`companion.checks.core`).
"""
from __future__ import annotations

import numpy as np

from ..layers import RNN
from .core import Answer, Case, Exercise, Feedback, Wrong, grading_check, make_rng, registry, run_check, single, size

__all__ = ["check_rnn_shapes", "check_bidirectional_output", "check_final_states", "CHECKS"]


# --------------------------------------------------------------------------- shapes

def _shape_case(rng, bidirectional):
    T, B, D, H = (int(v) for v in rng.choice(np.arange(2, 12), size=4, replace=False))
    return (T, B, D, H, size(rng, 2, 5), bidirectional)


def _shape_ref(T, B, D, H, L, bi):
    out, h_n = RNN(D, H, num_layers=L, bidirectional=bi, seed=0)(np.zeros((T, B, D)))
    return {"output_shape": np.array(out.shape), "h_n_shape": np.array(h_n.shape)}


def _shape_slip(out_fn, hn_fn):
    def slip(T, B, D, H, L, bi):
        nd = 2 if bi else 1
        return {"output_shape": np.array(out_fn(T, B, H, L, nd)), "h_n_shape": np.array(hn_fn(T, B, H, L, nd))}
    return slip


_OUT = lambda T, B, H, L, nd: (T, B, nd * H)
_HN = lambda T, B, H, L, nd: (L * nd, B, H)


@grading_check
def check_rnn_shapes(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``rnn_shapes(T, B, D, H, num_layers, bidirectional) -> (output_shape, h_n_shape)``."""
    rng = make_rng(seed)
    cases = [_shape_case(rng, True), _shape_case(rng, False), _shape_case(rng, True), _shape_case(rng, True)]

    def unpack(r, case):
        if not isinstance(r, (tuple, list)) or len(r) != 2:
            raise ValueError(f"expected a tuple (output_shape, h_n_shape), got {type(r).__name__}")
        return {"output_shape": np.array(tuple(r[0])), "h_n_shape": np.array(tuple(r[1]))}

    slips = [("output holds the last layer only, but both directions of it: (T, B, num_directions * H)",
              _shape_slip(lambda T, B, H, L, nd: (T, B, H), _HN)),
             ("output holds the LAST layer only (the layers below feed it): (T, B, num_directions * H), "
              "not num_layers * num_directions * H",
              _shape_slip(lambda T, B, H, L, nd: (T, B, L * nd * H), _HN)),
             ("h_n keeps one row per layer AND direction: (num_layers * num_directions, B, H); "
              "the directions are not concatenated along the last axis",
              _shape_slip(_OUT, lambda T, B, H, L, nd: (L, B, nd * H))),
             ("h_n keeps one row per layer and direction: (num_layers * num_directions, B, H)",
              _shape_slip(_OUT, lambda T, B, H, L, nd: (L, B, H))),
             ("h_n is the state after the last step of each layer and direction: it has no time axis",
              _shape_slip(_OUT, lambda T, B, H, L, nd: (T, L * nd, B, H))),
             ("time-major layout (batch_first=False): output is (T, B, ...), not (B, T, ...)",
              _shape_slip(lambda T, B, H, L, nd: (B, T, nd * H), _HN))]
    return run_check("shapes of a deep bidirectional RNN", fn, cases, unpack, _shape_ref, slips)


# --------------------------------------------------------------------------- two directions

def _bi_case(rng):
    T, B, D, H = size(rng, 3, 7), size(rng, 1, 4), size(rng, 2, 5), size(rng, 2, 5)
    bi = RNN(D, H, bidirectional=True, seed=int(rng.integers(2 ** 31)))
    fwd, bwd = RNN(D, H, seed=0), RNN(D, H, seed=0)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        fwd.params[f"{name}_l0"][...] = bi.params[f"{name}_l0"]
        bwd.params[f"{name}_l0"][...] = bi.params[f"{name}_l0_reverse"]
    # the student gets the two one-directional RNNs and x; the reference runs bi, their union
    return Case((fwd, bwd, rng.normal(0, 1, (T, B, D))), hidden=(bi,))


def _bi_ref(fwd, bwd, x, bi):
    return {"output": bi(x)[0]}


@grading_check
def check_bidirectional_output(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``bidirectional_output(forward_rnn, backward_rnn, x) -> output`` (T, B, 2H)."""
    rng = make_rng(seed)
    cases = [_bi_case(rng) for _ in range(3)]

    def slip(combine):
        def s(fwd, bwd, x, bi):
            return {"output": combine(fwd(x)[0], bwd(x[::-1])[0][::-1], bwd(x[::-1])[0], bwd(x)[0])}
        return s

    slips = [("the backward RNN's output is still in reversed time: flip it back (y_b[::-1]) so row t "
              "belongs to x_t", slip(lambda f, b, b_rev, b_plain: np.concatenate([f, b_rev], -1))),
             ("the backward RNN must read the REVERSED sequence x[::-1]; run on x it is a second forward RNN",
              slip(lambda f, b, b_rev, b_plain: np.concatenate([f, b_plain], -1))),
             ("the forward direction comes first: output[..., :H] is forward, output[..., H:] is backward",
              slip(lambda f, b, b_rev, b_plain: np.concatenate([b, f], -1)))]
    return run_check("bidirectional output from two RNNs", fn, cases, single("output"), _bi_ref, slips)


# --------------------------------------------------------------------------- final states

def _final_case(rng):
    T, B, D, H = size(rng, 3, 7), size(rng, 1, 4), size(rng, 2, 5), size(rng, 2, 5)
    bi = RNN(D, H, bidirectional=True, seed=int(rng.integers(2 ** 31)))
    out, h_n = bi(rng.normal(0, 1, (T, B, D)))
    return Case((out, H), hidden=(h_n,))


@grading_check
def check_final_states(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``final_states(output, H) -> h_n`` (2, B, H) of a one-layer bidirectional RNN."""
    rng = make_rng(seed)
    cases = [_final_case(rng) for _ in range(3)]

    def slip(f_t, b_t, order=(0, 1)):
        def s(out, H, h_n):
            parts = [out[f_t, :, :H], out[b_t, :, H:]]
            return {"h_n": np.stack([parts[order[0]], parts[order[1]]])}
        return s

    slips = [("the backward direction ends at t = 1 (index 0), where it has read the whole sequence "
              "right to left: h_n[1] = output[0, :, H:], not output[-1, :, H:]", slip(-1, -1)),
             ("the forward direction ends at the last step: h_n[0] = output[-1, :, :H]", slip(0, 0)),
             ("both ends swapped: forward ends at t = T (index -1), backward at t = 1 (index 0)", slip(0, -1)),
             ("h_n[0] is the forward direction, h_n[1] the backward one", slip(-1, 0, order=(1, 0)))]
    ref = lambda out, H, h_n: {"h_n": h_n}
    return run_check("final states of a bidirectional RNN", fn, cases, single("h_n"), ref, slips)


# --------------------------------------------------------------------------- what a test needs
# Written as a student would: not with the references or the slips above.

def _shapes(T, B, D, H, num_layers, bidirectional):
    nd = 2 if bidirectional else 1
    return (T, B, nd * H), (num_layers * nd, B, H)


def _bidirectional_output(fwd, bwd, x):
    y_f, _ = fwd(x)
    y_b, _ = bwd(x[::-1])
    return np.concatenate([y_f, y_b[::-1]], axis=-1)


#: the checks of this module: each with a correct answer and hand-written wrong ones
CHECKS = registry(
    Exercise(check_rnn_shapes, _shapes,
             (Wrong(lambda T, B, D, H, L, bi: ((B, T, (2 if bi else 1) * H), (L * (2 if bi else 1), B, H)),
                    "time-major"),)),
    Exercise(check_bidirectional_output, _bidirectional_output,
             (Wrong(lambda f, b, x: np.concatenate([f(x)[0], b(x[::-1])[0]], -1), "still in reversed time"),)),
    Exercise(check_final_states, lambda o, H: np.stack([o[-1, :, :H], o[0, :, H:]]),
             (Wrong(lambda o, H: np.stack([o[-1, :, :H], o[-1, :, H:]]), "backward direction ends at t = 1"),)),
)
