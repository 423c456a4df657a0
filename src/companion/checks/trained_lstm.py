"""Checks for the exercises of "Inside a trained LSTM" (chapter 11).

Signatures the exercises ask for (numpy in, numpy out; no torch needed):

* ``split_gates(weight_ih) -> dict``: torch's stacked (4H, D) LSTM input weights -> W_xi, W_xf, W_xC, W_xo
  (checked by :func:`check_split_input_weights`; chapter 06's four-parameter ``split_gates`` is
  :func:`companion.checks.lstm.check_split_gates`)
* ``cell_from_gates(f, i, C_tilde, C0) -> C``: (T, H) gates -> (T, H) cells, C_t = f_t C_{t-1} + i_t C~_t
* ``memory_after(f, s, t) -> (H,)``: how much of C_s is left in C_t, d C_t / d C_s = prod_{k=s+1}^{t} f_k

Each check draws fresh random inputs on every call, compares with companion and names the
likely slip (see :mod:`companion.checks.core`).
"""
from __future__ import annotations

import numpy as np

from ..activations import sigmoid
from .core import Answer, Exercise, Feedback, Wrong, grading_check, make_rng, registry, run_check, single, size

__all__ = ["check_split_input_weights", "check_cell_from_gates", "check_memory_after", "CHECKS"]


# --------------------------------------------------------------------------- inside the LSTM

_GATES = ["W_xi", "W_xf", "W_xC", "W_xo"]


@grading_check
def check_split_input_weights(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``split_gates(weight_ih)``: torch stacks the LSTM's blocks as i, f, g (= C~), o."""
    rng = make_rng(seed)
    cases = []
    for _ in range(3):
        H, D = size(rng, 2, 5), size(rng, 2, 5)
        cases.append((rng.normal(0, 1, (4 * H, D)),))

    def blocks(W, order):
        H = W.shape[0] // 4
        return {name: W[k * H:(k + 1) * H] for name, k in zip(_GATES, order, strict=True)}

    def unpack(r, case):
        if not isinstance(r, dict):
            raise ValueError(f"expected a dict with keys {_GATES}, got {type(r).__name__}")
        missing = [k for k in _GATES if k not in r]
        if missing:
            raise ValueError(f"the dict lacks the keys {missing}")
        return {k: r[k] for k in _GATES}

    slips = [("the slides' order is not torch's: torch stacks i, f, g, o (input gate first)",
              lambda W: blocks(W, [1, 0, 2, 3])),
             ("torch stacks i, f, g, o: the candidate g (C~) is the third block, the output gate the fourth",
              lambda W: blocks(W, [0, 1, 3, 2]))]
    return run_check("split torch's LSTM weights", fn, cases, unpack, lambda W: blocks(W, [0, 1, 2, 3]), slips)


def _gates_case(rng):
    T, H = size(rng, 3, 7), size(rng, 2, 5)
    return (sigmoid(rng.normal(0, 2, (T, H))), sigmoid(rng.normal(0, 2, (T, H))),
            np.tanh(rng.normal(0, 1, (T, H))), rng.normal(0, 1, H))


def _cells(f, i, Ct, C0, *, no_f=False, swap=False):
    C, out = C0, []
    for t in range(len(f)):
        if no_f:
            C = C + i[t] * Ct[t]
        elif swap:
            C = i[t] * C + f[t] * Ct[t]
        else:
            C = f[t] * C + i[t] * Ct[t]
        out.append(C)
    return np.array(out)


@grading_check
def check_cell_from_gates(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``cell_from_gates(f, i, C_tilde, C0)``: C_t = f_t * C_{t-1} + i_t * C~_t for t = 1..T."""
    rng = make_rng(seed)
    cases = [_gates_case(rng) for _ in range(4)]
    slips = [("f_t and i_t swapped: f_t multiplies the old cell C_{t-1}, i_t the candidate",
              lambda f, i, Ct, C0: {"C": _cells(f, i, Ct, C0, swap=True)}),
             ("the forget gate is missing: C_t = f_t * C_{t-1} + i_t * C~_t",
              lambda f, i, Ct, C0: {"C": _cells(f, i, Ct, C0, no_f=True)}),
             ("every step starts again from C0: use the cell of the previous step",
              lambda f, i, Ct, C0: {"C": f * C0 + i * Ct})]
    return run_check("cell state from the gates", fn, cases, single("C"),
                     lambda f, i, Ct, C0: {"C": _cells(f, i, Ct, C0)}, slips)


@grading_check
def check_memory_after(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``memory_after(f, s, t)``: d C_t / d C_s = f_{s+1} * ... * f_t (0-based rows of f)."""
    rng = make_rng(seed)
    cases = []
    for _ in range(4):
        T, H = size(rng, 5, 9), size(rng, 2, 5)
        s = size(rng, 0, T - 2)
        t = size(rng, s + 2, T)
        cases.append((sigmoid(rng.normal(1, 1.5, (T, H))), s, t))
    ref = lambda f, s, t: {"factor": f[s + 1:t + 1].prod(0)}
    slips = [("f_s is included: the cell C_s has already passed its own forget gate; start at f_{s+1}",
              lambda f, s, t: {"factor": f[s:t + 1].prod(0)}),
             ("f_t is left out: the product runs up to and including f_t",
              lambda f, s, t: {"factor": f[s + 1:t].prod(0)}),
             ("you added the gates: the cell is multiplied by f at every step, so the factors multiply",
              lambda f, s, t: {"factor": f[s + 1:t + 1].sum(0)})]
    return run_check("memory kept by the forget gates", fn, cases, single("factor"), ref, slips)


# --------------------------------------------------------------------------- what a test needs
# Written as a student would, with numpy only: not with the references or the slips above.


def _cell_from_gates(f, i, Ct, C0, forget=True):
    C, out = C0, []
    for t in range(len(f)):
        C = (f[t] if forget else 1.0) * C + i[t] * Ct[t]
        out.append(C)
    return np.stack(out)


#: the checks of this module: each with a correct answer and hand-written wrong ones
CHECKS = registry(
    Exercise(check_split_input_weights, lambda W: dict(zip(_GATES, np.split(W, 4), strict=True)),
             (Wrong(lambda W: dict(zip(["W_xf", "W_xi", "W_xC", "W_xo"], np.split(W, 4), strict=True)),
                    "i, f, g, o"),)),
    Exercise(check_cell_from_gates, _cell_from_gates,
             (Wrong(lambda f, i, Ct, C0: _cell_from_gates(f, i, Ct, C0, forget=False), "forget gate is missing"),)),
    Exercise(check_memory_after, lambda f, s, t: np.prod(f[s + 1:t + 1], axis=0),
             (Wrong(lambda f, s, t: np.prod(f[s:t + 1], axis=0), "f_s is included"),)),
)
