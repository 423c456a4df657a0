r"""Truncated backpropagation through time: the state goes forward, the gradient stops at the cut.

Full BPTT (chapter 02) differentiates the loss of a whole sequence,
L = \sum_{t=1}^{T} L(t), through the whole unrolled graph. Its backward pass reads every
activation of the forward pass, so it keeps them all: for the vanilla RNN of slide 5,

.. math::

    a(t) = b + W h(t-1) + U x(t), \qquad h(t) = \tanh(a(t)), \qquad t = 1, \dots, T,

that is a(t) and h(t) for every t, 2 T H floats per sequence: memory that grows with T.

Truncated BPTT with a window of k steps (regular truncation, d2l §9.7; Williams & Peng's
BPTT(h; h') with h = h' = k) cuts the sequence into chunks x(1..k), x(k+1..2k), ... (the last
one may be shorter) and runs forward and backward on one chunk at a time:

* **forward, carried:** the last state of a chunk is the first state of the next, so every
  h(t), o(t) and L(t) is exactly what the full forward pass computes;
* **backward, cut:** the gradient that would flow from a chunk into the state it started
  from, dL/dh(s) with s the last step of the previous chunk, is dropped (torch writes
  ``h = h.detach()`` at the boundary).

So for the weight W (U, b alike), with c(t) the chunk that holds step t,

.. math::

    \frac{\partial L}{\partial W}\Big|_{k} = \sum_{t=1}^{T}
        \frac{\partial L_{c(t)}}{\partial a(t)} \, h(t-1)^\top,
    \qquad L_{c} = \sum_{s \in c} L(s),

where dL_c/da(t) is step 3 of BPTT run inside chunk c only: the loss of step s reaches a(t)
only when s and t lie in the same chunk (t <= s). The terms of the full gradient that cross
a boundary are gone; the output head's gradients (V, c) need no path through time and are
exact. With k >= T there is one chunk and the result *is* full BPTT.

Only the activations of one chunk are kept at a time: memory grows with k, not with T. The
price: the loss of a step never reaches an input of an earlier chunk, so no gradient rewards
keeping information for k steps or more.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .head import OutputHead
from .layers import GRU, LSTM, RNN
from .validation import as_real_array, check_positive_int

__all__ = ["TruncatedBPTT", "truncated_bptt"]


@dataclass(frozen=True)
class TruncatedBPTT:
    """What :func:`truncated_bptt` returns.

    - ``loss``: L = sum over t of L(t) (averaged over the sequences, as ``OutputHead.loss``),
      the same number as one forward pass over the whole sequence gives.
    - ``grads``: the layer's gradients, summed over the chunks (keys and shapes of
      ``layer.params``).
    - ``head_grads``: the head's gradients ``{"V": ..., "c": ...}``, summed over the chunks
      (exact).
    - ``state``: the final state after the last step (``h_n``, or ``(h_n, c_n)`` for an LSTM),
      ready to be carried into what follows.
    - ``chunks``: how many chunks the sequence was cut into, ceil(T / k).
    - ``stored_floats``: the most activation floats the layer held at once for a backward
      pass: the total size of ``layer.traces`` after a chunk's forward (for the vanilla RNN
      a(t) and h(t) of every step of the chunk, 2 k B H), the largest over the chunks.
    """

    loss: float
    grads: dict[str, np.ndarray]
    head_grads: dict[str, np.ndarray]
    state: Any
    chunks: int
    stored_floats: int


def _check_targets(targets: ArrayLike, shape: tuple[int, ...], num_classes: int) -> np.ndarray:
    """``targets`` as an integer array of ``shape`` with values in [0, num_classes)."""
    y = np.asarray(targets)
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"targets: expected integer class indices, got dtype {y.dtype}")
    if y.shape != shape:
        raise ValueError(f"targets: expected shape {shape} (one class per step of x), got {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"targets: expected classes in [0, {num_classes - 1}], "
                         f"got values from {y.min()} to {y.max()}")
    return y


def truncated_bptt(layer: RNN | LSTM | GRU, head: OutputHead, x: ArrayLike, targets: ArrayLike,
                   k: int, state: Any = None) -> TruncatedBPTT:
    r"""Loss and truncated-BPTT gradients of ``head(layer(x))`` with a window of ``k`` steps.

    - ``layer``: a companion ``RNN``, ``LSTM`` or ``GRU`` (time-major, one direction:
      truncation runs forward in time).
    - ``head``: the ``OutputHead`` o(t) = c + V h(t), y_hat(t) = softmax(o(t)) on the layer's
      output.
    - ``x``: (T, D) one sequence, or (T, B, D) a batch; ``targets``: (T,) or (T, B) class
      indices.
    - ``k``: the window, a positive integer; the chunks are steps 1..k, k+1..2k, ... and
      k >= T gives one chunk: full BPTT.
    - ``state``: the initial state, as the layer takes it (None: zeros).

    Each chunk runs ``layer.forward`` from the previous chunk's final state, ``head``,
    ``head.loss``, ``head.backward`` and ``layer.backward`` (public API only); the gradient
    with respect to the chunk's initial state, which full BPTT would pass on to the chunk
    before, is dropped. The gradients of the chunks are summed (one update per sequence,
    to compare with full BPTT; a training loop may instead step after every chunk).
    Afterwards ``layer`` and ``head`` hold the record (``grads``, ``traces``) of the last chunk.
    """
    if not isinstance(layer, (RNN, LSTM, GRU)):
        raise ValueError(f"layer: expected a companion RNN, LSTM or GRU, got {type(layer).__name__}")
    if layer.bidirectional:
        raise ValueError("layer: expected a one-direction layer (truncated BPTT runs forward in time), "
                         "got bidirectional=True")
    if layer.batch_first:
        raise ValueError("layer: expected a time-major layer (x of shape (T, B, D)), got batch_first=True")
    if not isinstance(head, OutputHead):
        raise ValueError(f"head: expected a companion OutputHead, got {type(head).__name__}")
    if head.hidden_size != layer.hidden_size:
        raise ValueError(f"head: expected hidden_size {layer.hidden_size} (the layer's), got {head.hidden_size}")
    k = check_positive_int("k", k)
    x = as_real_array("x", x, layer.dtype)
    if x.ndim not in (2, 3) or x.shape[0] == 0:
        raise ValueError(f"x: expected shape (T, D) or (T, B, D) with T >= 1, got {x.shape}")
    y = _check_targets(targets, x.shape[:-1], head.num_classes)

    T = x.shape[0]
    loss = 0.0
    grads: dict[str, np.ndarray] = {}
    head_grads: dict[str, np.ndarray] = {}
    stored, chunks = 0, 0
    for start in range(0, T, k):
        x_c, y_c = x[start:start + k], y[start:start + k]
        out, state = layer(x_c, state)              # forward, from the carried state
        stored = max(stored, sum(v.size for per in layer.traces.values() for v in per.values()))
        o, _ = head(out)
        L_c, d_o = head.loss(o, y_c)
        d_out = head.backward(d_o)
        layer.backward(d_out)                       # d_state = None: nothing from later chunks;
        # the returned dL/d(initial state) is not passed on: the gradient stops at the cut
        for acc, new in ((grads, layer.grads), (head_grads, head.grads)):
            for name, g in new.items():
                if name in acc:
                    acc[name] += g
                else:
                    acc[name] = np.array(g, copy=True)
        loss += float(L_c)
        chunks += 1
    return TruncatedBPTT(loss=loss, grads=grads, head_grads=head_grads, state=state,
                         chunks=chunks, stored_floats=int(stored))
