"""Checks for the exercises of Chapter III (training RNNs on tasks, and opening a trained LSTM).

Signatures the exercises ask for (numpy in, numpy out; no torch needed):

* ``accuracy_from_logits(logits, y) -> float``: logits (B, K), y (B,) ints
* ``adding_targets(x) -> y``: x (n, T, 2) of (value, marker) pairs, y (n,) the sums of marked values
* ``jacobian_chain(h, W) -> J``: the vanilla RNN's d h_T / d h_0 = prod_t diag(1 - h_t^2) W, h (T, H)
* ``last_step(output) -> h_T``: output (B, T, H) batch-first, returns (B, H)
* ``bidirectional_summary(output, H) -> (B, 2H)``: forward half at the last step, backward half at the first
* ``masked_accuracy(logits, tags) -> float``: logits (B, T, K), tags (B, T), tag -100 is padding
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
from .core import Answer, Exercise, Feedback, Wrong, make_rng, registry, run_check, single, size

__all__ = ["check_accuracy_from_logits", "check_adding_targets", "check_jacobian_chain",
           "check_last_step", "check_bidirectional_summary", "check_masked_accuracy",
           "check_split_input_weights", "check_cell_from_gates", "check_memory_after", "CHECKS"]


def _scalar(r, case):
    return {"value": np.asarray(float(r))}


# --------------------------------------------------------------------------- long range

def check_accuracy_from_logits(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``accuracy_from_logits(logits, y)``: the fraction of rows whose argmax is y."""
    rng = make_rng(seed)
    cases = []
    for _ in range(4):
        B, K = size(rng, 6, 12), size(rng, 3, 6)
        logits = rng.normal(0, 2, (B, K))
        y = (logits.argmax(1) + rng.integers(1, K, B)) % K      # all wrong ...
        n_right = size(rng, 1, B)                      # ... but some: accuracy inside (0, 1),
        if 2 * n_right == B:                                   # and never 1/2, where the error rate
            n_right += 1                                       # 1 - accuracy would equal it
        y[:n_right] = logits[:n_right].argmax(1)
        cases.append((logits, y))
    ref = lambda lo, y: {"value": np.asarray((lo.argmax(-1) == y).mean())}
    slips = [("you returned the number of correct predictions: divide by the batch size",
              lambda lo, y: {"value": np.asarray(float((lo.argmax(-1) == y).sum()))}),
             ("you returned the error rate: accuracy is the fraction that is right",
              lambda lo, y: {"value": np.asarray(1 - (lo.argmax(-1) == y).mean())})]
    return run_check("accuracy from logits", fn, cases, _scalar, ref, slips)


def _adding_case(rng):
    n, T = size(rng, 2, 5), size(rng, 4, 9)
    values = rng.random((n, T))
    markers = np.zeros((n, T))
    for k in range(n):
        markers[k, rng.choice(T, 2, replace=False)] = 1.0
    return (np.stack([values, markers], -1),)


def check_adding_targets(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``adding_targets(x) -> y``: y[k] = sum_t x[k, t, 0] * x[k, t, 1]."""
    rng = make_rng(seed)
    cases = [_adding_case(rng) for _ in range(4)]
    ref = lambda x: {"y": (x[..., 0] * x[..., 1]).sum(1)}
    slips = [("you summed every value: only the two marked values (marker = 1) count",
              lambda x: {"y": x[..., 0].sum(1)}),
             ("you summed over the batch instead of over time: sum over axis 1 (T)",
              lambda x: {"y": (x[..., 0] * x[..., 1]).sum(0)} if x.shape[0] == x.shape[1] else None),
             ("you multiplied the two marked values: the task adds them",
              lambda x: {"y": np.prod(np.where(x[..., 1] > 0, x[..., 0], 1.0), axis=1)})]
    return run_check("adding-problem targets", fn, cases, single("y"), ref, slips)


def _jac(h, W, *, deriv=True, order="right", transpose=False):
    H = W.shape[0]
    Wm = W.T if transpose else W
    J = np.eye(H)
    for t in range(len(h)):
        Jt = (np.diag(1 - h[t] ** 2) if deriv else np.eye(H)) @ Wm
        J = Jt @ J if order == "right" else J @ Jt
    return J


def check_jacobian_chain(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``jacobian_chain(h, W)``: d h_T / d h_0 = J_T ... J_1, J_t = diag(1 - h_t^2) W."""
    rng = make_rng(seed)
    cases = []
    for _ in range(4):
        T, H = size(rng, 2, 6), size(rng, 2, 5)
        cases.append((np.tanh(rng.normal(0, 1, (T, H))), rng.normal(0, 0.8, (H, H))))
    ref = lambda h, W: {"J": _jac(h, W)}
    slips = [("the tanh derivative is missing: each step's Jacobian is diag(1 - h_t^2) W",
              lambda h, W: {"J": _jac(h, W, deriv=False)}),
             ("the product is in the wrong order: the latest step's Jacobian goes on the left, "
              "J = J_T ... J_2 J_1", lambda h, W: {"J": _jac(h, W, order="left")}),
             ("W is transposed: d h_t / d h_{t-1} = diag(1 - h_t^2) W (row i: unit i of h_t)",
              lambda h, W: {"J": _jac(h, W, transpose=True)})]
    return run_check("vanilla RNN Jacobian chain", fn, cases, single("J"), ref, slips)


# --------------------------------------------------------------------------- applications

def _seq_case(rng, two_dirs=False):
    B, T, H = size(rng, 2, 5), size(rng, 3, 7), size(rng, 2, 5)
    return rng.normal(0, 1, (B, T, 2 * H if two_dirs else H)), H


def check_last_step(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``last_step(output)``: the many-to-one head reads h_T, output[:, -1] for (B, T, H)."""
    rng = make_rng(seed)
    cases = [(_seq_case(rng)[0],) for _ in range(4)]
    ref = lambda o: {"h_T": o[:, -1]}
    slips = [("you took the first step: h_1 has seen only x_1, the last step h_T has seen the whole sequence",
              lambda o: {"h_T": o[:, 0]}),
             ("you averaged over time: the many-to-one head of slide 4 reads the last step",
              lambda o: {"h_T": o.mean(1)}),
             ("the output is batch-first (B, T, H): output[-1] is the last *sequence*, use output[:, -1]",
              lambda o: {"h_T": o[-1]} if o.shape[0] == o.shape[1] else None)]
    return run_check("many-to-one head", fn, cases, single("h_T"), ref, slips)


def check_bidirectional_summary(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``bidirectional_summary(output, H)``: [forward h at t = T, backward h at t = 1]."""
    rng = make_rng(seed)
    cases = [_seq_case(rng, two_dirs=True) for _ in range(4)]
    ref = lambda o, H: {"summary": np.concatenate([o[:, -1, :H], o[:, 0, H:]], -1)}
    slips = [("you took both halves at the last step: there the backward direction has seen only x_T",
              lambda o, H: {"summary": o[:, -1]}),
             ("the halves are swapped: the first H features are the forward direction, the last H the backward",
              lambda o, H: {"summary": np.concatenate([o[:, 0, H:], o[:, -1, :H]], -1)}),
             ("you took both halves at the first step: there the forward direction has seen only x_1",
              lambda o, H: {"summary": o[:, 0]})]
    return run_check("bidirectional summary", fn, cases, single("summary"), ref, slips)


def _masked_case(rng):
    B, T, K = size(rng, 3, 6), size(rng, 4, 8), 3
    logits = rng.normal(0, 2, (B, T, K))
    tags = rng.integers(0, K, (B, T))
    right = rng.random((B, T)) < 0.5
    tags[right] = logits.argmax(-1)[right]
    lengths = rng.integers(1, T + 1, B)
    lengths[0] = T - 1 if T > 1 else T       # at least one sequence padded, of a length unlike the others
    lengths[1] = 1
    for b in range(B):
        tags[b, lengths[b]:] = -100
    return (logits, tags)


def check_masked_accuracy(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``masked_accuracy(logits, tags)``: right tags / real (non -100) tokens, over all tokens."""
    rng = make_rng(seed)
    cases = [_masked_case(rng) for _ in range(4)]

    def ref(lo, tg):
        keep = tg != -100
        return {"value": np.asarray((lo.argmax(-1)[keep] == tg[keep]).mean())}

    def per_sequence(lo, tg):
        keep = tg != -100
        hit = (lo.argmax(-1) == tg) & keep
        return {"value": np.asarray((hit.sum(1) / keep.sum(1)).mean())}

    slips = [("the padding is counted: leave out the tokens whose tag is -100",
              lambda lo, tg: {"value": np.asarray((lo.argmax(-1) == tg).mean())}),
             ("you averaged per sentence, then over sentences: count right tokens over all real tokens",
              per_sequence)]
    return run_check("masked tagging accuracy", fn, cases, _scalar, ref, slips)


# --------------------------------------------------------------------------- inside the LSTM

_GATES = ["W_xi", "W_xf", "W_xC", "W_xo"]


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

def _jacobian_chain(h, W):
    J = np.eye(W.shape[0])
    for h_t in h:
        J = np.diag(1 - h_t ** 2) @ W @ J
    return J


def _masked_accuracy(lo, tg):
    keep = tg != -100
    return float((lo.argmax(-1)[keep] == tg[keep]).mean())


def _cell_from_gates(f, i, Ct, C0, forget=True):
    C, out = C0, []
    for t in range(len(f)):
        C = (f[t] if forget else 1.0) * C + i[t] * Ct[t]
        out.append(C)
    return np.stack(out)


#: the checks of this module: each with a correct answer and hand-written wrong ones
CHECKS = registry(
    Exercise(check_accuracy_from_logits, lambda lo, y: float((lo.argmax(-1) == y).mean()),
             (Wrong(lambda lo, y: float((lo.argmax(-1) == y).sum()), "divide by the batch"),)),
    Exercise(check_adding_targets, lambda x: (x[..., 0] * x[..., 1]).sum(1),
             (Wrong(lambda x: x[..., 0].sum(1), "only the two marked"),)),
    Exercise(check_jacobian_chain, _jacobian_chain,
             (Wrong(lambda h, W: np.linalg.matrix_power(W, len(h)), "tanh derivative"),)),
    Exercise(check_last_step, lambda o: o[:, -1], (Wrong(lambda o: o[:, 0], "first step"),)),
    Exercise(check_bidirectional_summary, lambda o, H: np.concatenate([o[:, -1, :H], o[:, 0, H:]], -1),
             (Wrong(lambda o, H: o[:, -1], "both halves at the last step"),)),
    Exercise(check_masked_accuracy, _masked_accuracy,
             (Wrong(lambda lo, tg: float((lo.argmax(-1) == tg).mean()), "padding is counted"),)),
    Exercise(check_split_input_weights, lambda W: dict(zip(_GATES, np.split(W, 4), strict=True)),
             (Wrong(lambda W: dict(zip(["W_xf", "W_xi", "W_xC", "W_xo"], np.split(W, 4), strict=True)),
                    "i, f, g, o"),)),
    Exercise(check_cell_from_gates, _cell_from_gates,
             (Wrong(lambda f, i, Ct, C0: _cell_from_gates(f, i, Ct, C0, forget=False), "forget gate is missing"),)),
    Exercise(check_memory_after, lambda f, s, t: np.prod(f[s + 1:t + 1], axis=0),
             (Wrong(lambda f, s, t: np.prod(f[s:t + 1], axis=0), "f_s is included"),)),
)
