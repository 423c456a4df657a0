"""Numerically stable activations and the cross-entropy loss.

The promise, for every finite float input (float64, float32 or float16; integers are read as
float64 where a difference could wrap around): no overflow or invalid-value warning, no NaN,
and every result in its range (sigmoid in [0, 1], tanh in [-1, 1], softmax in [0, 1] summing
to 1, log_softmax <= 0, cross-entropy >= 0), including ``±max float``, subnormals, and huge
values of both signs side by side (``softmax([1e308, -1e308])``).

A result too small to represent is rounded as IEEE rounds it: a probability of exp(-2000)
is 0.0, and a log-probability below ``-max float`` (only possible when two inputs differ by
more than max float, as 1e308 and -1e308 do) is ``-inf``, which is then the correctly rounded
value; log_softmax is finite wherever the true value is a finite float. Underflow of that
kind is not an error: numpy ignores it by default; softmax, log_softmax and cross_entropy
ignore it even under ``np.errstate(all="raise")``, while sigmoid, tanh and relu (which run in
the layers' inner loops) leave numpy's error state alone, so ``np.errstate(under="raise")``
reports the halving of a subnormal input in sigmoid.

Inputs must be real numbers: complex, boolean, object and text arrays raise a ValueError
naming the argument. softmax, log_softmax and cross_entropy also refuse NaN and inf (they
would make every entry of the row NaN); sigmoid, tanh and relu, elementwise and in inner
loops, do not check values: ±inf maps to the limit (sigmoid(-inf) = 0), NaN stays NaN.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["sigmoid", "tanh", "relu", "softmax", "log_softmax", "cross_entropy"]


def _real(name, x):
    """``x`` as an array of real numbers (integer or float kinds), else a ValueError."""
    x = np.asarray(x)
    if x.dtype.kind not in "fiu":
        raise ValueError(f"{name}: expected a real numeric array, got dtype {x.dtype}")
    return x


def _scores(name, x, axis):
    """Scores for softmax-like functions: real, finite, floating (an integer difference can
    wrap around), at least one entry along ``axis``."""
    x = _real(name, x)
    if x.ndim == 0:
        raise ValueError(f"{name}: expected at least 1 dimension, got a scalar")
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis: expected an integer in [{-x.ndim}, {x.ndim - 1}] for an input of "
                         f"shape {x.shape}, got {axis!r}")
    if x.shape[axis] == 0:
        raise ValueError(f"{name}: expected at least one entry along axis {axis}, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name}: expected finite values, got {'NaN' if np.isnan(x).any() else 'inf'} "
                         f"(shape {x.shape})")
    return x


def sigmoid(x: ArrayLike, out: np.ndarray | None = None) -> np.ndarray | np.generic:
    """Logistic function  sigma(x) = 1 / (1 + exp(-x)), the gates' 0-1 switch.

    Computed as ``0.5 * (1 + tanh(x / 2))``, an exact identity that never
    overflows (``exp(-x)`` does for x < -709) and costs one transcendental
    call, which matters in the fused layers' inner loop. The absolute error is
    below 2**-53 for every x; in the far negative tail (x < -37, where
    sigma(x) < 1e-16) the result is 0 rather than a tiny positive number.

    ``out`` may be ``x`` itself to compute in place.
    """
    x = np.asarray(x)
    if x.dtype.kind not in "fiu":
        raise ValueError(f"x: expected a real numeric array, got dtype {x.dtype}")
    if out is None:
        if x.ndim == 0:      # a scalar: numpy ufuncs cannot write into a 0-d result in place
            return np.tanh(x * 0.5) * 0.5 + 0.5
        out = np.multiply(x, 0.5)
    else:
        np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def tanh(x: ArrayLike, out: np.ndarray | None = None) -> np.ndarray | np.generic:
    """Hyperbolic tangent, tanh(x) = (e^x - e^-x) / (e^x + e^-x), in [-1, 1].

    numpy's tanh is already stable for large ``|x|``; it is re-exported so that
    chapters find every activation in one place.
    """
    return np.tanh(_real("x", x), out=out)


def relu(x: ArrayLike, out: np.ndarray | None = None) -> np.ndarray | np.generic:
    """Rectified linear unit, max(0, x) (the slides' "ReLU replaces tanh?")."""
    return np.maximum(_real("x", x), 0, out=out)


def softmax(x: ArrayLike, axis: int = -1) -> np.ndarray:
    """softmax(o)_k = exp(o_k) / sum_j exp(o_j)  (slide 5: y_hat(t) = softmax(o(t))).

    The maximum is subtracted first; softmax is invariant to that shift and the
    exponentials can no longer overflow. The shifted values are <= 0; one below
    ``-max float`` (inputs 1e308 and -1e308) becomes -inf, whose exponential, 0,
    is the exact result rounded, so that overflow is not reported.
    """
    x = _scores("x", x, axis)
    with np.errstate(over="ignore", under="ignore"):   # see above: both round correctly to 0
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        e /= np.sum(e, axis=axis, keepdims=True)      # the sum is in [1, K]
    return e


def log_softmax(x: ArrayLike, axis: int = -1) -> np.ndarray:
    """log softmax(o)_k = o_k - log sum_j exp(o_j), by the log-sum-exp trick.

    Stable where ``np.log(softmax(x))`` is not: a probability that underflows to
    0 would give -inf there, while here it gives the exact large negative value.
    The result is -inf only where the true value is below ``-max float`` (o_k more
    than max float below the largest score), and finite everywhere else.
    """
    return _log_softmax(_scores("x", x, axis), axis)


def _log_softmax(x, axis):
    with np.errstate(over="ignore", under="ignore"):   # o_k - max o: -inf only below -max float
        shifted = x - np.max(x, axis=axis, keepdims=True)
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def cross_entropy(logits: ArrayLike, targets: ArrayLike,
                  reduction: Literal["mean", "sum", "none"] = "mean") -> np.ndarray | np.floating:
    """Cross-entropy  L = -log y_hat[target]  with  y_hat = softmax(logits).

    Parameters
    ----------
    logits : array (..., K)
        Unnormalised scores o(t), finite real numbers.
    targets : int array (...)
        Class indices in [0, K).
    reduction : {"mean", "sum", "none"}
        As in ``torch.nn.functional.cross_entropy``. The mean needs at least one
        example. A loss above max float (a target's score more than max float
        below the largest) is +inf, as is a sum or mean beyond max float; a mean of
        huge finite losses is computed without overflow.
    """
    logits = _real("logits", logits)
    targets = np.asarray(targets)
    if logits.ndim < 1:
        raise ValueError(f"logits: expected at least 1 dimension (..., K), got shape {logits.shape}")
    if targets.shape != logits.shape[:-1]:
        raise ValueError(
            f"targets: expected shape {logits.shape[:-1]} (logits' shape without its last axis), "
            f"got {targets.shape}")
    if not np.issubdtype(targets.dtype, np.integer):
        raise ValueError(f"targets: expected integer class indices, got dtype {targets.dtype}")
    k = logits.shape[-1]
    if k == 0:
        raise ValueError(f"logits: expected at least one class (K >= 1), got shape {logits.shape}")
    if targets.size and (targets.min() < 0 or targets.max() >= k):
        raise ValueError(f"targets: expected class indices in [0, {k}), got values in "
                         f"[{targets.min()}, {targets.max()}]")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction: expected one of 'mean', 'sum', 'none', got {reduction!r}")
    if reduction == "mean" and targets.size == 0:
        raise ValueError(f"logits: reduction='mean' needs at least one example, got shape {logits.shape}")
    logp = _log_softmax(_scores("logits", logits, -1), -1)
    nll = -np.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
    if reduction == "none":
        return nll
    with np.errstate(over="ignore"):     # a sum beyond max float is +inf, its rounded value
        total = nll.sum()
    if reduction == "sum":
        return total
    if np.isinf(total) and np.isfinite(nll).all():
        return (nll / nll.size).sum()   # the true mean is <= max(nll): finite; sum the shares
    return total / nll.size
