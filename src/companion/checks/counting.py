"""Checks for the parameter-counting exercises of "From feed-forward networks to recurrence".

Signatures the exercises ask for (D input size, H hidden size, K classes, T time steps):

* ``rnn_num_params(D, H, K)``: the slides' vanilla RNN with its output head,
  U (H, D), W (H, H), b (H,), V (K, H), c (K,), whatever the length T.
* ``unshared_num_params(D, H, K, T)``: the same network unrolled over T steps with a
  *different* f at every step (its own U, W, b, V, c): slide 6's feed-forward net.
* ``fc_num_params(D, H, K, T)``: the fully connected net of slide 1 that reads the whole
  sequence at once: input T*D, one hidden layer of width T*H, output T*K, with biases.

The checks compare with the formulas below, :func:`rnn_num_params` and the others (the driver is
:mod:`companion.checks.core`).
"""
from __future__ import annotations

import numpy as np

from .core import Answer, Exercise, Feedback, Wrong, grading_check, make_rng, registry, run_check

__all__ = ["check_rnn_num_params", "check_unshared_num_params", "check_fc_num_params",
           "rnn_num_params", "unshared_num_params", "fc_num_params", "CHECKS"]


def rnn_num_params(D: int, H: int, K: int) -> int:
    """U, W, b, V, c of slide 5."""
    return H * D + H * H + H + K * H + K


def unshared_num_params(D: int, H: int, K: int, T: int) -> int:
    """A different f (U_t, W_t, b_t, V_t, c_t) at each of the T steps."""
    return T * rnn_num_params(D, H, K)


def fc_num_params(D: int, H: int, K: int, T: int) -> int:
    """Fully connected: (T*D) -> (T*H) -> (T*K), weights and biases."""
    return (T * D) * (T * H) + T * H + (T * H) * (T * K) + T * K


def _dims(rng, with_T):
    # distinct sizes, D and H at least 2 apart, so that no two slips give the same count
    while True:
        D, H, K = (int(v) for v in rng.choice(np.arange(2, 40), size=3, replace=False))
        if abs(D - H) > 1:
            break
    return (D, H, K, int(rng.integers(3, 60))) if with_T else (D, H, K)


def _unpack(r, case):
    if isinstance(r, (bool, np.bool_)) or not isinstance(r, (int, np.integer, float, np.floating)):
        raise ValueError(f"expected a number, got {type(r).__name__}")
    return {"count": np.asarray(r, dtype=np.float64)}


def _num(v):
    return {"count": np.asarray(v, dtype=np.float64)}


@grading_check
def check_rnn_num_params(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``rnn_num_params(D, H, K)`` = H*D + H*H + H + K*H + K."""
    rng = make_rng(seed)
    cases = [_dims(rng, False) for _ in range(4)]
    ref = lambda D, H, K: _num(rnn_num_params(D, H, K))
    slips = [("you counted torch's two biases (bias_ih and bias_hh); the slides have one b of shape (H,)",
              lambda D, H, K: _num(rnn_num_params(D, H, K) + H)),
             ("the output head is missing: V (K, H) and c (K,) are parameters too",
              lambda D, H, K: _num(H * D + H * H + H)),
             ("the output bias c (K,) is missing", lambda D, H, K: _num(rnn_num_params(D, H, K) - K)),
             ("the bias b (H,) is missing", lambda D, H, K: _num(rnn_num_params(D, H, K) - H)),
             ("W maps h(t-1) to h(t): it is (H, H), not (H, D)",
              lambda D, H, K: _num(H * D + H * D + H + K * H + K)),
             ("the biases are missing: b (H,) and c (K,)", lambda D, H, K: _num(H * D + H * H + K * H))]
    return run_check("parameters of the vanilla RNN", fn, cases, _unpack, ref, slips, forbid=(rnn_num_params,))


@grading_check
def check_unshared_num_params(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``unshared_num_params(D, H, K, T)`` = T * (H*D + H*H + H + K*H + K)."""
    rng = make_rng(seed)
    cases = [_dims(rng, True) for _ in range(4)]
    ref = lambda D, H, K, T: _num(unshared_num_params(D, H, K, T))
    slips = [("that is the shared count: with a different f at every step, each of the T steps has "
              "its own U, W, b, V, c", lambda D, H, K, T: _num(rnn_num_params(D, H, K))),
             ("T - 1 copies: count one f for each of the T steps",
              lambda D, H, K, T: _num((T - 1) * rnn_num_params(D, H, K))),
             ("the output head is missing: every step has its own V (K, H) and c (K,)",
              lambda D, H, K, T: _num(T * (H * D + H * H + H))),
             ("you counted torch's two biases; the slides have one b per step",
              lambda D, H, K, T: _num(T * (rnn_num_params(D, H, K) + H)))]
    return run_check("parameters with a different f at every step", fn, cases, _unpack, ref, slips)


@grading_check
def check_fc_num_params(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``fc_num_params(D, H, K, T)`` = (T*D)(T*H) + T*H + (T*H)(T*K) + T*K."""
    rng = make_rng(seed)
    cases = [_dims(rng, True) for _ in range(4)]
    ref = lambda D, H, K, T: _num(fc_num_params(D, H, K, T))
    slips = [("the biases are missing: T*H for the hidden layer, T*K for the output",
              lambda D, H, K, T: _num((T * D) * (T * H) + (T * H) * (T * K))),
             ("the hidden layer has width T*H (as many units as h(1), ..., h(T) together), not H",
              lambda D, H, K, T: _num((T * D) * H + H + H * (T * K) + T * K)),
             ("that is the count of T separate per-step networks; the fully connected net connects "
              "every input to every hidden unit", lambda D, H, K, T: _num(unshared_num_params(D, H, K, T))),
             ("the output layer is missing: (T*H) x (T*K) weights and T*K biases",
              lambda D, H, K, T: _num((T * D) * (T * H) + T * H))]
    return run_check("parameters of the fully connected net", fn, cases, _unpack, ref, slips)


# --------------------------------------------------------------------------- what a test needs
# Written as a student would, term by term: not with the formulas above.

#: the checks of this module: each with a correct answer and hand-written wrong ones
CHECKS = registry(
    Exercise(check_rnn_num_params, lambda D, H, K: H * D + H * H + H + K * H + K,
             (Wrong(lambda D, H, K: H * D + H * H + 2 * H + K * H + K, "two biases"),
              Wrong(lambda D, H, K: H * D + H * H + H, "output head is missing"))),
    Exercise(check_unshared_num_params, lambda D, H, K, T: T * (H * D + H * H + H + K * H + K),
             (Wrong(lambda D, H, K, T: H * D + H * H + H + K * H + K, "shared count"),)),
    Exercise(check_fc_num_params, lambda D, H, K, T: (T * D) * (T * H) + T * H + (T * H) * (T * K) + T * K,
             (Wrong(lambda D, H, K, T: (T * D) * H + H + H * (T * K) + T * K, "width T*H"),)),
)
