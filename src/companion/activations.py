"""Numerically stable activations and the cross-entropy loss.

Every function here accepts any real input, including ``|x| = 1e4``, without an
overflow warning and without producing NaN.
"""
from __future__ import annotations

import numpy as np

__all__ = ["sigmoid", "tanh", "relu", "softmax", "log_softmax", "cross_entropy"]


def sigmoid(x, out=None):
    """Logistic function  sigma(x) = 1 / (1 + exp(-x)), the gates' 0-1 switch.

    Computed as ``0.5 * (1 + tanh(x / 2))``, an exact identity that never
    overflows (``exp(-x)`` does for x < -709) and costs one transcendental
    call, which matters in the fused layers' inner loop. The absolute error is
    below 2**-53 for every x; in the far negative tail (x < -37, where
    sigma(x) < 1e-16) the result is 0 rather than a tiny positive number.

    ``out`` may be ``x`` itself to compute in place.
    """
    x = np.asarray(x)
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


def tanh(x, out=None):
    """Hyperbolic tangent, tanh(x) = (e^x - e^-x) / (e^x + e^-x), in (-1, 1).

    numpy's tanh is already stable for large ``|x|``; it is re-exported so that
    chapters find every activation in one place.
    """
    return np.tanh(x, out=out)


def relu(x, out=None):
    """Rectified linear unit, max(0, x) (the slides' "ReLU replaces tanh?")."""
    return np.maximum(x, 0, out=out)


def softmax(x, axis=-1):
    """softmax(o)_k = exp(o_k) / sum_j exp(o_j)  (slide 5: y_hat(t) = softmax(o(t))).

    The maximum is subtracted first; softmax is invariant to that shift and the
    exponentials can no longer overflow.
    """
    x = np.asarray(x)
    with np.errstate(under="ignore"):   # exp of a very negative shift underflows to 0: harmless
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def log_softmax(x, axis=-1):
    """log softmax(o)_k = o_k - log sum_j exp(o_j), by the log-sum-exp trick.

    Stable where ``np.log(softmax(x))`` is not: a probability that underflows to
    0 would give -inf there, while here it gives the exact large negative value.
    """
    x = np.asarray(x)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    with np.errstate(under="ignore"):   # exp of a very negative shift underflows to 0: harmless
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def cross_entropy(logits, targets, reduction="mean"):
    """Cross-entropy  L = -log y_hat[target]  with  y_hat = softmax(logits).

    Parameters
    ----------
    logits : array (..., K)
        Unnormalised scores o(t).
    targets : int array (...)
        Class indices in [0, K).
    reduction : {"mean", "sum", "none"}
        As in ``torch.nn.functional.cross_entropy``.
    """
    logits = np.asarray(logits)
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
    if targets.size and (targets.min() < 0 or targets.max() >= k):
        raise ValueError(f"targets: expected class indices in [0, {k}), got values in "
                         f"[{targets.min()}, {targets.max()}]")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction: expected one of 'mean', 'sum', 'none', got {reduction!r}")
    logp = log_softmax(logits)
    nll = -np.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
    if reduction == "mean":
        return nll.mean()
    if reduction == "sum":
        return nll.sum()
    return nll
