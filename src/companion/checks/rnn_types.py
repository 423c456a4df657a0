"""Checks for the exercises of "Types of RNN".

Signatures the exercises ask for; ``rnn`` is a :class:`companion.RNN` (time-major, batch
inputs), ``head`` a :class:`companion.OutputHead`:

* ``many_to_one(x, rnn, head) -> y_hat``: x (T, B, D); read the whole sequence, classify
  it from the last hidden state h(T): y_hat (B, K).
* ``many_to_many(x, rnn, head) -> y_hat``: x (T, B, D); one output per input, aligned:
  y_hat (T, B, K).
* ``one_to_many(x, rnn, head, T) -> y_hat``: x (B, D) is the only input; generate T
  outputs, feeding each output y_hat(t) back as the next input x(t+1) (so D = K):
  y_hat (T, B, K).
"""
from __future__ import annotations

import numpy as np

from ..head import OutputHead
from ..layers import RNN
from . import run_check

__all__ = ["check_many_to_one", "check_many_to_many", "check_one_to_many"]


def _fresh():
    return np.random.default_rng()


def _model(rng, D=None, K=None):
    D = int(rng.integers(2, 5)) if D is None else D
    H = int(rng.integers(3, 6))
    K = int(rng.integers(2, 5)) if K is None else K
    seed = int(rng.integers(0, 2 ** 31))
    return D, RNN(D, H, seed=seed), OutputHead(H, K, seed=seed + 1)


def _seq_case(rng):
    D, rnn, head = _model(rng)
    T, B = int(rng.integers(3, 7)), int(rng.integers(1, 4))
    return (rng.normal(0, 1, (T, B, D)), rnn, head)


def _y(head, h):
    return head(h)[1]


def check_many_to_one(fn):
    """Check ``many_to_one(x, rnn, head)`` = softmax(c + V h(T)), shape (B, K)."""
    rng = _fresh()
    cases = [_seq_case(rng) for _ in range(4)]

    def ref(x, rnn, head):
        out, h_n = rnn(x)
        return {"y_hat": _y(head, out[-1])}

    slips = [("that is h(1), the first step: a many-to-one model reads the whole sequence and "
              "classifies from the last hidden state h(T) (output[-1], or h_n[0])",
              lambda x, rnn, head: {"y_hat": _y(head, rnn(x)[0][0])}),
             ("you averaged over time; take the last hidden state h(T)",
              lambda x, rnn, head: {"y_hat": _y(head, rnn(x)[0].mean(axis=0))}),
             ("you returned o(T), the logits: apply the softmax (head(h) returns (o, y_hat))",
              lambda x, rnn, head: {"y_hat": head(rnn(x)[0][-1])[0]})]
    return run_check("many to one", fn, cases, lambda r: {"y_hat": r}, ref, slips)


def check_many_to_many(fn):
    """Check ``many_to_many(x, rnn, head)`` = softmax(c + V h(t)) for every t, shape (T, B, K)."""
    rng = _fresh()
    cases = [_seq_case(rng) for _ in range(4)]
    ref = lambda x, rnn, head: {"y_hat": _y(head, rnn(x)[0])}
    slips = [("you returned o(t), the logits: apply the softmax (head(h) returns (o, y_hat))",
              lambda x, rnn, head: {"y_hat": head(rnn(x)[0])[0]})]
    return run_check("many to many (aligned)", fn, cases, lambda r: {"y_hat": r}, ref, slips)


def _generate(x, rnn, head, T, feed):
    h, x_t, ys = None, x, []
    for t in range(T):
        out, h = rnn(x_t[None], h)
        o, y_hat = head(out[0])
        ys.append(y_hat)
        x_t = feed(x, o, y_hat)
    return np.stack(ys)


def check_one_to_many(fn):
    """Check ``one_to_many(x, rnn, head, T)``: x(1) = x, x(t+1) = y_hat(t), returns (T, B, K)."""
    rng = _fresh()
    cases = []
    for _ in range(4):
        K = int(rng.integers(2, 5))
        _, rnn, head = _model(rng, D=K, K=K)      # D = K: an output can be the next input
        B, T = int(rng.integers(1, 4)), int(rng.integers(3, 7))
        cases.append((rng.normal(0, 1, (B, K)), rnn, head, T))
    ref = lambda x, rnn, head, T: {"y_hat": _generate(x, rnn, head, T, lambda x0, o, y: y)}
    slips = [("you fed the same x at every step; feed the previous output back: x(t+1) = y_hat(t)",
              lambda x, rnn, head, T: {"y_hat": _generate(x, rnn, head, T, lambda x0, o, y: x0)}),
             ("you fed zeros after the first step; feed the previous output back: x(t+1) = y_hat(t)",
              lambda x, rnn, head, T: {"y_hat": _generate(x, rnn, head, T,
                                                          lambda x0, o, y: np.zeros_like(y))}),
             ("you fed back o(t), the logits; feed y_hat(t) = softmax(o(t))",
              lambda x, rnn, head, T: {"y_hat": _generate(x, rnn, head, T, lambda x0, o, y: o)}),
             ("the hidden state must carry over from step to step: pass h back into rnn(x_t, h)",
              lambda x, rnn, head, T: {"y_hat": np.stack(_no_state(x, rnn, head, T))})]
    return run_check("one to many", fn, cases, lambda r: {"y_hat": r}, ref, slips)


def _no_state(x, rnn, head, T):
    x_t, ys = x, []
    for t in range(T):
        out, _ = rnn(x_t[None])
        y_hat = head(out[0])[1]
        ys.append(y_hat)
        x_t = y_hat
    return ys
