"""Checks for the exercises of "Types of RNN".

Signatures the exercises ask for; ``rnn`` is a :class:`companion.RNN` (time-major, batch
inputs), ``head`` a :class:`companion.OutputHead`:

* ``many_to_one(x, lengths, rnn, head) -> y_hat``: x (T, B, D) holds B sequences padded with
  zeros to a common length T, sequence b being lengths[b] steps long; classify each from its
  own last hidden state h(T_b): y_hat (B, K).
* ``one_to_many(x, rnn, head, T) -> y_hat``: x (B, D) is the only input; generate T
  outputs, feeding each output y_hat(t) back as the next input x(t+1) (so D = K):
  y_hat (T, B, K).
* ``encoder_decoder(x, encoder, decoder, head, T_y) -> y_hat``: the encoder RNN reads x
  (T_x, B, D); the decoder RNN starts from the encoder's last state h_n and reads T_y zero
  inputs (T_y, B, decoder.input_size); y_hat (T_y, B, K).

Every reference runs the given layers themselves (the driver is :mod:`companion.checks.core`).
"""
from __future__ import annotations

import numpy as np

from ..head import OutputHead
from ..layers import RNN
from .core import Answer, Exercise, Feedback, Wrong, grading_check, make_rng, registry, run_check, single, size

__all__ = ["check_many_to_one", "check_one_to_many", "check_encoder_decoder", "CHECKS"]


def _model(rng, D=None, K=None):
    D = size(rng, 2, 5) if D is None else D
    H = size(rng, 3, 6)
    K = size(rng, 2, 5) if K is None else K
    seed = int(rng.integers(0, 2 ** 31))
    return D, RNN(D, H, seed=seed), OutputHead(H, K, seed=seed + 1)


def _y(head, h):
    return head(h)[1]


def _padded_case(rng):
    D, rnn, head = _model(rng)
    T, B = size(rng, 4, 8), size(rng, 2, 5)
    lengths = rng.integers(1, T + 1, size=B)
    lengths[0] = T                                  # at least one full-length sequence
    lengths[-1] = max(1, T - 2)                     # and one shorter one
    x = rng.normal(0, 1, (T, B, D))
    for j, n in enumerate(lengths):
        x[n:, j] = 0.0                              # padding after the end
    return (x, lengths, rnn, head)


def _last_states(out, lengths, shift=1):
    return out[np.asarray(lengths) - shift, np.arange(len(lengths))]


@grading_check
def check_many_to_one(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``many_to_one(x, lengths, rnn, head)`` = softmax(c + V h(T_b)) for each sequence b,
    with T_b = lengths[b] (x padded to a common length): shape (B, K)."""
    rng = make_rng(seed)
    cases = [_padded_case(rng) for _ in range(4)]

    def ref(x, lengths, rnn, head):
        out, _ = rnn(x)
        return {"y_hat": _y(head, _last_states(out, lengths))}

    slips = [("you used h(T), the state after the padding; sequence b ends at step lengths[b]: "
              "take out[lengths[b] - 1, b]",
              lambda x, lengths, rnn, head: {"y_hat": _y(head, rnn(x)[0][-1])}),
             ("that is h(1), the first step: a many-to-one model classifies from the last state",
              lambda x, lengths, rnn, head: {"y_hat": _y(head, rnn(x)[0][0])}),
             ("you returned o, the logits: apply the softmax (head(h) returns (o, y_hat))",
              lambda x, lengths, rnn, head: {"y_hat": head(_last_states(rnn(x)[0], lengths))[0]})]
    return run_check("many to one (padded)", fn, cases, single("y_hat"), ref, slips)


def _encdec(x, encoder, decoder, head, T_y, context=True, logits=False):
    _, h = encoder(x)
    B = x.shape[1]
    out, _ = decoder(np.zeros((T_y, B, decoder.input_size)), h if context else None)
    o, y_hat = head(out)
    return {"y_hat": o if logits else y_hat}


@grading_check
def check_encoder_decoder(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``encoder_decoder(x, encoder, decoder, head, T_y)``: the decoder starts from the
    encoder's last state and reads T_y zero inputs; returns y_hat (T_y, B, K)."""
    rng = make_rng(seed)
    cases = []
    for _ in range(4):
        D, encoder, head = _model(rng)
        H = encoder.hidden_size
        decoder = RNN(size(rng, 1, 4), H, seed=int(rng.integers(0, 2 ** 31)))
        T_x, T_y, B = size(rng, 3, 7), size(rng, 2, 6), size(rng, 1, 4)
        cases.append((rng.normal(0, 1, (T_x, B, D)), encoder, decoder, head, T_y))
    slips = [("the decoder must start from the encoder's last state (the context): "
              "decoder(inputs, h_n) with h_n from encoder(x)",
              lambda *a: _encdec(*a, context=False)),
             ("you returned o, the logits: apply the softmax (head(h) returns (o, y_hat))",
              lambda *a: _encdec(*a, logits=True))]
    return run_check("encoder-decoder", fn, cases, single("y_hat"), _encdec, slips)


def _generate(x, rnn, head, T, feed):
    h, x_t, ys = None, x, []
    for _ in range(T):
        out, h = rnn(x_t[None], h)
        o, y_hat = head(out[0])
        ys.append(y_hat)
        x_t = feed(x, o, y_hat)
    return np.stack(ys)


@grading_check
def check_one_to_many(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``one_to_many(x, rnn, head, T)``: x(1) = x, x(t+1) = y_hat(t), returns (T, B, K)."""
    rng = make_rng(seed)
    cases = []
    for _ in range(4):
        K = size(rng, 2, 5)
        _, rnn, head = _model(rng, D=K, K=K)      # D = K: an output can be the next input
        B, T = size(rng, 1, 4), size(rng, 3, 7)
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
    return run_check("one to many", fn, cases, single("y_hat"), ref, slips)


def _no_state(x, rnn, head, T):
    x_t, ys = x, []
    for _ in range(T):
        out, _ = rnn(x_t[None])
        y_hat = head(out[0])[1]
        ys.append(y_hat)
        x_t = y_hat
    return ys


# --------------------------------------------------------------------------- what a test needs
# Written as a student would: not with the references or the slips above.

def _many_to_one(x, lengths, rnn, head):
    out, _ = rnn(x)
    return head(out[np.asarray(lengths) - 1, np.arange(x.shape[1])])[1]


def _one_to_many(x, rnn, head, T, keep_state=True):
    h, x_t, ys = None, x, []
    for _ in range(T):
        out, h_next = rnn(x_t[None], h)
        h = h_next if keep_state else None
        x_t = head(out[0])[1]
        ys.append(x_t)
    return np.stack(ys)


def _encoder_decoder(x, encoder, decoder, head, T_y, context=True):
    _, h_n = encoder(x)
    out, _ = decoder(np.zeros((T_y, x.shape[1], decoder.input_size)), h_n if context else None)
    return head(out)[1]


#: the checks of this module: each with a correct answer and hand-written wrong ones
CHECKS = registry(
    Exercise(check_many_to_one, _many_to_one,
             (Wrong(lambda x, n, rnn, head: head(rnn(x)[0][-1])[1], "after the padding"),)),
    Exercise(check_one_to_many, _one_to_many,
             (Wrong(lambda x, rnn, head, T: _one_to_many(x, rnn, head, T, keep_state=False), "carry over"),)),
    Exercise(check_encoder_decoder, _encoder_decoder,
             (Wrong(lambda *a: _encoder_decoder(*a, context=False), "encoder's last state"),)),
)
