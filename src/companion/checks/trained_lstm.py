"""Checks for the exercises of "Inside a trained LSTM" (chapter 11).

Signatures the exercises ask for (numpy in, numpy out; no torch needed):

* ``cell_from_gates(f, i, C_tilde, C0) -> C``: (T, H) gates -> (T, H) cells, C_t = f_t C_{t-1} + i_t C~_t
* ``memory_after(f, s, t) -> (H,)``: how much of C_s is left in C_t, d C_t / d C_s = prod_{k=s+1}^{t} f_k
* ``step_contributions(f, i, C_tilde, C0) -> (from_C0, from_steps)``: the final cell split into what
  each step wrote, C_T = (prod_{k=1}^{T} f_k) C_0 + sum_s (prod_{k=s+1}^{T} f_k) i_s C~_s;
  from_C0 (H,), from_steps (T, H), row s the term of step s
* ``unit_ablation(w, V, c, x, y) -> (drop, most_needed)``: silence one unit of a many-to-one LSTM
  (its cell C_t[j] = 0 at every step, before h_t = o_t * tanh(C_t)), for each unit j in turn;
  drop[j] = mean P(right class) of the whole model - that of the silenced one; most_needed = argmax drop

Each check draws fresh random inputs on every call, compares with its own answer (the
``reference_*`` functions below, which an answer may not call) and names the likely slip (see
:mod:`companion.checks.core`).
"""
from __future__ import annotations

import numpy as np

from .. import cell_dynamics
from ..activations import sigmoid, softmax
from ..cells import _lstm_step
from .core import (
    Answer,
    Exercise,
    Feedback,
    Wrong,
    grading_check,
    lstm_weights,
    make_rng,
    registry,
    run_check,
    single,
    size,
    tuple_of,
)

__all__ = ["check_cell_from_gates", "check_memory_after", "check_step_contributions", "check_unit_ablation",
           "reference_cell_from_gates", "reference_memory_after", "reference_step_contributions",
           "reference_unit_ablation", "CHECKS"]


# --------------------------------------------------------------------------- the cell, from its gates

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


def reference_cell_from_gates(f, i, C_tilde, C0):
    """The check's own answer: C_t = f_t * C_{t-1} + i_t * C~_t for t = 1..T, from C_0."""
    return _cells(f, i, C_tilde, C0)


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
                     lambda f, i, Ct, C0: {"C": reference_cell_from_gates(f, i, Ct, C0)}, slips,
                     forbid=(reference_cell_from_gates, cell_dynamics.cell_step))


# --------------------------------------------------------------------------- memory along the cell path

def reference_memory_after(f, s, t):
    """The check's own answer: d C_t / d C_s along the cell path, f_{s+1} * ... * f_t (rows of f)."""
    return f[s + 1:t + 1].prod(0)


@grading_check
def check_memory_after(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``memory_after(f, s, t)``: d C_t / d C_s = f_{s+1} * ... * f_t (0-based rows of f)."""
    rng = make_rng(seed)
    cases = []
    for _ in range(4):
        T, H = size(rng, 5, 9), size(rng, 2, 5)
        s = int(rng.integers(0, T - 2))
        t = int(rng.integers(s + 2, T))
        cases.append((sigmoid(rng.normal(1, 1.5, (T, H))), s, t))
    ref = lambda f, s, t: {"factor": reference_memory_after(f, s, t)}
    slips = [("f_s is included: the cell C_s has already passed its own forget gate; start at f_{s+1}",
              lambda f, s, t: {"factor": f[s:t + 1].prod(0)}),
             ("f_t is left out: the product runs up to and including f_t",
              lambda f, s, t: {"factor": f[s + 1:t].prod(0)}),
             ("you added the gates: the cell is multiplied by f at every step, so the factors multiply",
              lambda f, s, t: {"factor": f[s + 1:t + 1].sum(0)})]
    return run_check("memory kept by the forget gates", fn, cases, single("factor"), ref, slips,
                     forbid=(reference_memory_after,))


# --------------------------------------------------------------------------- what each step left in C_T

def _contributions(f, i, Ct, C0, *, first=1, last=0, write=True, keep_C0=False, forward=False):
    """from_C0 and from_steps with the forget gates f_{s+first} .. f_{T-last} after step s
    (``forward``: f_1 .. f_{s-1} before it instead)."""
    T = len(f)
    after = [f[s + first:T - last].prod(0) for s in range(T)]
    if forward:
        after = [f[:s].prod(0) for s in range(T)]
    from_C0 = C0 if keep_C0 else f[:T - last].prod(0) * C0
    return {"from_C0": from_C0, "from_steps": np.stack(after) * (i if write else 1.0) * Ct}


def reference_step_contributions(f, i, C_tilde, C0):
    """The check's own answer: (prod_{k=1}^{T} f_k) C_0 and, for each step s, the part of C_T that
    step s wrote, (prod_{k=s+1}^{T} f_k) i_s C~_s (rows of the (T, H) arrays, 0-based)."""
    out = _contributions(f, i, C_tilde, C0)
    return out["from_C0"], out["from_steps"]


@grading_check
def check_step_contributions(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``step_contributions(f, i, C_tilde, C0) -> (from_C0, from_steps)``: C_T split into the
    share of C_0, (f_1 ... f_T) C_0, and the share of each step s, (f_{s+1} ... f_T) i_s C~_s."""
    rng = make_rng(seed)
    cases = [_gates_case(rng) for _ in range(4)]
    ref = lambda f, i, Ct, C0: _contributions(f, i, Ct, C0)
    slips = [("f_s is included: step s writes i_s * C~_s after its own forget gate; only f_{s+1} ... f_T "
              "act on it", lambda f, i, Ct, C0: _contributions(f, i, Ct, C0, first=0)),
             ("f_T is left out: every term, the last step's excepted, passes the forget gate of step T",
              lambda f, i, Ct, C0: _contributions(f, i, Ct, C0, last=1)),
             ("you multiplied by the forget gates *before* step s: what step s wrote is scaled by the gates "
              "that come after it, f_{s+1} ... f_T", lambda f, i, Ct, C0: _contributions(f, i, Ct, C0, forward=True)),
             ("the input gate is missing: step s writes i_s * C~_s", lambda f, i, Ct, C0:
              _contributions(f, i, Ct, C0, write=False)),
             ("C_0 is forgotten too: its share of C_T is (f_1 ... f_T) * C_0",
              lambda f, i, Ct, C0: {"from_C0": C0})]
    return run_check("what each step left in the cell", fn, cases, tuple_of("from_C0", "from_steps"), ref, slips,
                     forbid=(reference_step_contributions,))


# --------------------------------------------------------------------------- the experiment: silence a unit

def _logits(w, V, c, x, unit=None, how="C"):
    """The scores o = c + V h_T of a many-to-one LSTM (h_0 = C_0 = 0) whose unit ``unit`` is
    silenced: ``how`` = "C" its cell zeroed at every step before h_t (the exercise; without
    peepholes the same as zeroing its h_t: the cell reaches the rest only through h), "after" its
    cell zeroed after h_t, "last" its cell at t = T only."""
    B, T, _ = x.shape
    H = len(w["b_f"])
    h, C = np.zeros((B, H)), np.zeros((B, H))
    for t in range(T):
        step = _lstm_step(x[:, t], h, C, w)
        C = step.C_t.copy()
        silence = unit is not None and (how != "last" or t == T - 1)
        if silence and how in ("C", "last"):
            C[:, unit] = 0.0
        h = step.o_t * np.tanh(C)
        if silence and how == "after":
            C[:, unit] = 0.0
    return h @ V.T + c


def _ablation(w, V, c, x, y, how="C", accuracy=False, sign=1.0, conclude=np.argmax):
    def measure(unit=None):
        o = _logits(w, V, c, x, unit, how)
        if accuracy:
            return np.mean(o.argmax(-1) == y)
        return softmax(o)[np.arange(len(y)), y].mean()
    full = measure()
    drop = np.array([sign * (full - measure(j)) for j in range(len(w["b_f"]))])
    return {"drop": drop, "most_needed": np.asarray(float(conclude(drop)))}


def reference_unit_ablation(w, V, c, x, y):
    """The check's own answer: for each unit j, the mean probability of the right class with every
    unit, minus the same with unit j silenced (C_t[j] = 0 at every step, before h_t = o_t tanh C_t);
    and the unit whose silencing lowers it most."""
    out = _ablation(w, V, c, x, y)
    return out["drop"], int(out["most_needed"])


def _ablation_case(rng):
    D, H, K = size(rng, 3, 6), size(rng, 3, 5), size(rng, 2, 4)
    B, T = size(rng, 6, 10), size(rng, 3, 6)
    for _ in range(50):     # the top two drops clearly apart: the conclusion is not a toss-up
        w = lstm_weights(rng, D, H)
        w["b_f"] = w["b_f"] + 1.0                               # a cell that keeps something
        V, c = rng.normal(0, 1.5, (K, H)), rng.normal(0, 0.3, K)
        x = np.eye(D)[rng.integers(0, D, (B, T))]
        y = rng.integers(0, K, B)
        top = np.sort(_ablation(w, V, c, x, y)["drop"])[-2:]
        if top[1] - top[0] > 1e-3:
            break
    return (w, V, c, x, y)


@grading_check
def check_unit_ablation(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``unit_ablation(w, V, c, x, y) -> (drop, most_needed)``: drop[j] = mean P(right class)
    minus the same with unit j's cell zeroed at every step (before h_t); most_needed = argmax drop."""
    rng = make_rng(seed)
    cases = [_ablation_case(rng) for _ in range(3)]
    ref = lambda w, V, c, x, y: _ablation(w, V, c, x, y)
    slips = [("you zeroed the cell after computing h_t: zero C_t[j] before h_t = o_t * tanh(C_t)",
              lambda *a: _ablation(*a, how="after")),
             ("you silenced the unit at the last step only: zero its cell at every step",
              lambda *a: _ablation(*a, how="last")),
             ("drop is the whole model's P(right class) minus the silenced model's: you subtracted the other way",
              lambda *a: _ablation(*a, sign=-1.0)),
             ("you measured the accuracy: measure the mean probability of the right class (it moves even "
              "where no answer flips)", lambda *a: _ablation(*a, accuracy=True)),
             ("your conclusion contradicts your own measurement: the unit most needed is the one whose "
              "silencing lowers P(right class) most, argmax of drop",
              lambda *a: _ablation(*a, conclude=np.argmin))]
    return run_check("silence one unit of an LSTM", fn, cases, tuple_of("drop", "most_needed"), ref, slips,
                     forbid=(reference_unit_ablation,))


# --------------------------------------------------------------------------- what a test needs
# Written as a student would, with numpy only: not with the references or the slips above.


def _cell_from_gates(f, i, Ct, C0, forget=True):
    C, out = C0, []
    for t in range(len(f)):
        C = (f[t] if forget else 1.0) * C + i[t] * Ct[t]
        out.append(C)
    return np.stack(out)


def _step_contributions(f, i, C_tilde, C0, include_own=False):
    T = len(f)
    from_steps = np.zeros_like(i)
    for s in range(T):
        later = f[s:] if include_own else f[s + 1:]
        from_steps[s] = np.prod(later, axis=0) * i[s] * C_tilde[s]
    return np.prod(f, axis=0) * C0, from_steps


def _sigm(a):
    return 1 / (1 + np.exp(-a))


def _unit_ablation(w, V, c, x, y, where="before h"):
    B, T, _ = x.shape
    H = len(w["b_f"])

    def p_right(silent):
        h, C = np.zeros((B, H)), np.zeros((B, H))
        for t in range(T):
            pre = {g: x[:, t] @ w[f"W_x{g}"].T + h @ w[f"W_h{g}"].T + w[f"b_{g}"] for g in "fiCo"}
            f_t, i_t, o_t = _sigm(pre["f"]), _sigm(pre["i"]), _sigm(pre["o"])
            C = f_t * C + i_t * np.tanh(pre["C"])
            if silent is not None and where == "before h":
                C[:, silent] = 0.0
            h = o_t * np.tanh(C)
            if silent is not None and where == "after h":
                C[:, silent] = 0.0
        o = h @ V.T + c
        p = np.exp(o - o.max(-1, keepdims=True))
        p = p / p.sum(-1, keepdims=True)
        return p[np.arange(B), y].mean()

    full = p_right(None)
    drop = np.array([full - p_right(j) for j in range(H)])
    return drop, int(np.argmax(drop))


#: the checks of this module: each with a correct answer, hand-written wrong ones and one that
#: calls the function the check forbids
CHECKS = registry(
    Exercise(check_cell_from_gates, _cell_from_gates,
             (Wrong(lambda f, i, Ct, C0: _cell_from_gates(f, i, Ct, C0, forget=False), "forget gate is missing"),),
             chapter="11", kind="recall", points=2,
             skill="the cell update of slide 10 as a loop over time: C_t = f_t * C_{t-1} + i_t * C~_t",
             copying=lambda f, i, Ct, C0: reference_cell_from_gates(f, i, Ct, C0)),
    Exercise(check_memory_after, lambda f, s, t: np.prod(f[s + 1:t + 1], axis=0),
             (Wrong(lambda f, s, t: np.prod(f[s:t + 1], axis=0), "f_s is included"),),
             chapter="11", kind="apply", points=2,
             skill="how much of C_s reaches C_t along the cell path, for any pair of steps s < t",
             copying=lambda f, s, t: reference_memory_after(f, s, t)),
    Exercise(check_step_contributions, _step_contributions,
             (Wrong(lambda f, i, Ct, C0: _step_contributions(f, i, Ct, C0, include_own=True), "f_s is included"),
              Wrong(lambda f, i, Ct, C0: (C0, _step_contributions(f, i, Ct, C0)[1]), "C_0 is forgotten too")),
             chapter="11", kind="transfer", points=3,
             skill="unroll the cell update into what each step left in C_T: (f_{s+1} ... f_T) i_s C~_s",
             copying=lambda f, i, Ct, C0: reference_step_contributions(f, i, Ct, C0)),
    Exercise(check_unit_ablation, _unit_ablation,
             (Wrong(lambda *a: _unit_ablation(*a, where="after h"), "after computing h_t"),
              Wrong(lambda *a: (_unit_ablation(*a)[0], int(np.argmin(_unit_ablation(*a)[0]))),
                    "contradicts your own measurement")),
             chapter="11", kind="experiment", points=3,
             skill="measure what one unit of a trained LSTM is for: silence its cell, measure the drop in "
                   "P(right class), name the unit most needed",
             copying=lambda *a: reference_unit_ablation(*a)),
)
