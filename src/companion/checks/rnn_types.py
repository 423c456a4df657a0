"""Checks for the exercises of "Types of RNN".

Signatures the exercises ask for; ``rnn`` is a :class:`companion.RNN` (time-major, batch
inputs), ``head`` a :class:`companion.OutputHead`, ``model`` a
:class:`companion.seq2seq.EncoderDecoder`:

* ``many_to_one(x, lengths, rnn, head) -> y_hat``: x (T, B, D) holds B sequences padded with
  zeros to a common length T, sequence b being lengths[b] steps long; classify each from its
  own last hidden state h(T_b): y_hat (B, K).
* ``one_to_many(x, rnn, head, T) -> y_hat``: x (B, D) is the only input; generate T
  outputs, feeding each output y_hat(t) back as the next input x(t+1) (so D = K):
  y_hat (T, B, K).
* ``encoder_decoder(x, encoder, decoder, head, T_y) -> y_hat``: the encoder RNN reads x
  (T_x, B, D); the decoder RNN starts from the encoder's last state h_n and reads T_y zero
  inputs (T_y, B, decoder.input_size); y_hat (T_y, B, K).
* ``greedy_batch(model, src, max_len) -> tokens`` (max_len, B) ints, a transfer: free-running
  (greedy) decoding of a whole batch of source words src (T_x, B) at once. The encoder reads the
  source one-hot (``model.encoder.input_size`` tokens), the decoder starts from its last state
  and reads ``model.start`` first, then its own previous prediction (one-hot,
  ``model.decoder.input_size`` tokens); row t - 1 holds the token written at step t. Each
  sequence stops at its own ``model.end``: its later rows hold ``model.end`` (the padding), and
  at most max_len steps run (the guard). The check's models have source and target vocabularies
  of different sizes and start and end tokens other than 0 and 1.
* ``exposure_by_length(model, words, max_len) -> (tf, fr, worst)``, an experiment: for each
  array src (T_x, n) of ``words`` (source words of one length T_x each, the target being each
  word backwards, then ``model.end``), the per-token accuracy over the T_x + 1 positions, </s>
  included: ``tf[i]`` teacher-forced (the argmax of ``model.loss``'s scores), ``fr[i]`` free
  running (``model.decode(src, max_len)``; a sequence that stopped wrote ``model.end`` after its
  tokens; a position it did not reach is wrong); and the conclusion ``worst``, the length T_x
  whose tf - fr is largest (where exposure bias costs most).

What each check compares with, and what it refuses (the answer may not call it): this module's
``reference_<exercise>`` functions, the check's own answers (refused with the helpers the slips
share); :func:`companion.seq2seq.greedy_decode` (and so ``EncoderDecoder.decode``, which calls
it) for ``greedy_batch``; torch's ``nn.utils.rnn.pack_padded_sequence`` (whose h_n is every
sequence's own last state) for ``many_to_one``. The driver is :mod:`companion.checks.core`.
"""
from __future__ import annotations

import numpy as np

from .. import seq2seq
from ..head import OutputHead
from ..layers import RNN
from .core import (
    Answer,
    Case,
    Exercise,
    Feedback,
    Wrong,
    grading_check,
    make_rng,
    registry,
    run_check,
    single,
    size,
    torch_function,
)

__all__ = ["check_many_to_one", "check_one_to_many", "check_encoder_decoder", "check_greedy_batch",
           "check_exposure_by_length", "reference_many_to_one", "reference_one_to_many",
           "reference_encoder_decoder", "reference_greedy_batch", "reference_exposure_by_length", "CHECKS"]


def _model(rng, D=None, K=None):
    D = size(rng, 2, 5) if D is None else D
    H = size(rng, 3, 6)
    K = size(rng, 2, 5) if K is None else K
    seed = int(rng.integers(0, 2 ** 31))
    return D, RNN(D, H, seed=seed), OutputHead(H, K, seed=seed + 1)


def _y(head, h):
    return head(h)[1]


# --------------------------------------------------------------------------- many to one

def reference_many_to_one(x: np.ndarray, lengths: np.ndarray, rnn: RNN, head: OutputHead) -> np.ndarray:
    """The check's own answer: y_hat (B, K) = softmax(c + V h(T_b)), T_b = lengths[b]."""
    out, _ = rnn(x)
    return head(out[np.asarray(lengths) - 1, np.arange(x.shape[1])])[1]


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
        return {"y_hat": reference_many_to_one(x, lengths, rnn, head)}

    slips = [("you used h(T), the state after the padding; sequence b ends at step lengths[b]: "
              "take out[lengths[b] - 1, b]",
              lambda x, lengths, rnn, head: {"y_hat": _y(head, rnn(x)[0][-1])}),
             ("that is h(1), the first step: a many-to-one model classifies from the last state",
              lambda x, lengths, rnn, head: {"y_hat": _y(head, rnn(x)[0][0])}),
             ("you returned o, the logits: apply the softmax (head(h) returns (o, y_hat))",
              lambda x, lengths, rnn, head: {"y_hat": head(_last_states(rnn(x)[0], lengths))[0]})]
    return run_check("many to one (padded)", fn, cases, single("y_hat"), ref, slips,
                     forbid=(reference_many_to_one, torch_function("nn.utils.rnn.pack_padded_sequence")))


# --------------------------------------------------------------------------- encoder-decoder

def reference_encoder_decoder(x: np.ndarray, encoder: RNN, decoder: RNN, head: OutputHead,
                              T_y: int) -> np.ndarray:
    """The check's own answer: the decoder starts from the encoder's h_n and reads T_y zero
    inputs; y_hat (T_y, B, K)."""
    _, h_n = encoder(x)
    out, _ = decoder(np.zeros((T_y, x.shape[1], decoder.input_size)), h_n)
    return head(out)[1]


def _encdec_slip(x, encoder, decoder, head, T_y, context=True, logits=False):
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
              lambda *a: _encdec_slip(*a, context=False)),
             ("you returned o, the logits: apply the softmax (head(h) returns (o, y_hat))",
              lambda *a: _encdec_slip(*a, logits=True))]
    return run_check("encoder-decoder", fn, cases, single("y_hat"),
                     lambda *a: {"y_hat": reference_encoder_decoder(*a)}, slips,
                     forbid=(reference_encoder_decoder, _encdec_slip))


# --------------------------------------------------------------------------- one to many

def reference_one_to_many(x: np.ndarray, rnn: RNN, head: OutputHead, T: int) -> np.ndarray:
    """The check's own answer: x(1) = x, x(t+1) = y_hat(t), the state carried over; (T, B, K)."""
    h, x_t, ys = None, x, []
    for _ in range(T):
        out, h = rnn(x_t[None], h)
        x_t = head(out[0])[1]
        ys.append(x_t)
    return np.stack(ys)


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
    ref = lambda x, rnn, head, T: {"y_hat": reference_one_to_many(x, rnn, head, T)}
    slips = [("you fed the same x at every step; feed the previous output back: x(t+1) = y_hat(t)",
              lambda x, rnn, head, T: {"y_hat": _generate(x, rnn, head, T, lambda x0, o, y: x0)}),
             ("you fed zeros after the first step; feed the previous output back: x(t+1) = y_hat(t)",
              lambda x, rnn, head, T: {"y_hat": _generate(x, rnn, head, T,
                                                          lambda x0, o, y: np.zeros_like(y))}),
             ("you fed back o(t), the logits; feed y_hat(t) = softmax(o(t))",
              lambda x, rnn, head, T: {"y_hat": _generate(x, rnn, head, T, lambda x0, o, y: o)}),
             ("you fed back a one-hot vector of the most likely class (the chapter's generator); this "
              "exercise feeds the distribution y_hat(t) itself",
              lambda x, rnn, head, T: {"y_hat": _generate(x, rnn, head, T,
                                                          lambda x0, o, y: np.eye(y.shape[-1])[y.argmax(-1)])}),
             ("the hidden state must carry over from step to step: pass h back into rnn(x_t, h)",
              lambda x, rnn, head, T: {"y_hat": np.stack(_no_state(x, rnn, head, T))})]
    return run_check("one to many", fn, cases, single("y_hat"), ref, slips,
                     forbid=(reference_one_to_many, _generate))


def _no_state(x, rnn, head, T):
    x_t, ys = x, []
    for _ in range(T):
        out, _ = rnn(x_t[None])
        y_hat = head(out[0])[1]
        ys.append(y_hat)
        x_t = y_hat
    return ys


# --------------------------------------------------------------------------- greedy decoding of a batch

def reference_greedy_batch(model: seq2seq.EncoderDecoder, src: np.ndarray, max_len: int) -> np.ndarray:
    """The check's own answer: greedy decoding of the batch src (T_x, B), every sequence padded
    with ``model.end`` after its own end token; (max_len, B) ints."""
    enc, dec = model.encoder, model.decoder
    _, state = enc(np.eye(enc.input_size)[src])
    w = np.full(src.shape[1], model.start)
    done = np.zeros(src.shape[1], dtype=bool)
    rows = []
    for _ in range(max_len):
        s, state = dec(np.eye(dec.input_size)[w][None], state)
        w = model.head(s[0])[0].argmax(axis=-1)
        rows.append(np.where(done, model.end, w))
        done = done | (w == model.end)
    return np.stack(rows)


def _greedy_slip(model, src, max_len, *, pad=True, each=True, feed_own=True, keep_state=True,
                 context=True, start=None, end=None):
    """Greedy decoding with one known mistake (a keyword)."""
    enc, dec = model.encoder, model.decoder
    _, h_n = enc(np.eye(enc.input_size)[src])
    state = h_n if context else None
    B = src.shape[1]
    first = model.start if start is None else start
    last = model.end if end is None else end
    w = np.full(B, first)
    done = np.zeros(B, dtype=bool)
    rows = []
    for _ in range(max_len):
        s, new_state = dec(np.eye(dec.input_size)[w][None], state)
        state = new_state if keep_state else state
        pred = model.head(s[0])[0].argmax(axis=-1)
        rows.append(np.where(done, last, pred) if pad else pred)
        done = done | (pred == last)
        if not each and done.any():
            done[:] = True
        w = pred if feed_own else np.full(B, first)
    return np.stack(rows)


def _seq2seq_model(rng, V, K, H, start, end):
    """An untrained encoder-decoder with scaled-up weights (a lively recurrence, decisive argmaxes)
    whose head favours the end token a little (some sequences stop, at different steps)."""
    seed = int(rng.integers(0, 2 ** 31))
    model = seq2seq.EncoderDecoder(RNN(V, H, seed=seed), RNN(K, H, seed=seed + 1),
                                   OutputHead(H, K, seed=seed + 2), start=start, end=end)
    for name, p in model.params.items():
        p *= 5.0 if name.startswith("decoder.weight_hh") else 3.0
    model.head.params["c"][end] += 0.5
    return model


#: greedy decoding's known mistakes: (hint, keywords of :func:`_greedy_slip`)
_GREEDY_SLIPS = [
    ("once a sequence has written </s> it is finished: its later rows hold model.end (the padding), "
     "whatever the decoder would write next", dict(pad=False)),
    ("you stopped every sequence at the first </s> of the batch: each sequence stops at its own </s> "
     "(keep one flag per sequence)", dict(each=False)),
    ("the decoder reads its own previous prediction: x(t+1) is the one-hot of argmax y_hat(t), not <s> "
     "again", dict(feed_own=False)),
    ("the decoder's state must carry over from step to step: pass the state each step returns into the "
     "next step", dict(keep_state=False)),
    ("the decoder starts from the encoder's last state (the context), not from zeros", dict(context=False)),
    ("the check's start and end tokens are not the chapter's 0 and 1: read model.start and model.end",
     dict(start=0, end=1)),
]


def _informative(expected, slips, must=2):
    """Whether the first ``must`` slips write other tokens than the answer, and every slip that
    does differs from every slip listed before it (so that the hint names the right one);
    ``slips`` yields their outputs lazily."""
    answer, seen = expected.tobytes(), []
    for k, out in enumerate(slips):
        key = out.tobytes()
        if key == answer and k < must or key != answer and key in seen:
            return False
        seen.append(key)
    return True


def _greedy_case(rng):
    V, K, H = size(rng, 3, 6), size(rng, 4, 7), size(rng, 4, 8)
    T_x, B, max_len = size(rng, 2, 5), size(rng, 4, 8), size(rng, 5, 9)
    for _ in range(40):
        start, end = (int(t) for t in rng.choice(np.arange(2, K), 2, replace=False))   # not 0 and 1
        model = _seq2seq_model(rng, V, K, H, start, end)
        src = rng.integers(0, V, (T_x, B))
        if _informative(reference_greedy_batch(model, src, max_len),
                        (_greedy_slip(model, src, max_len, **change) for _, change in _GREEDY_SLIPS)):
            break
    return (model, src, max_len)


@grading_check
def check_greedy_batch(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``greedy_batch(model, src, max_len)``: greedy decoding of the batch src (T_x, B), each
    sequence stopping at its own ``model.end`` (its later rows ``model.end``), at most max_len
    steps; returns (max_len, B) ints."""
    rng = make_rng(seed)
    cases = [_greedy_case(rng) for _ in range(4)]
    slips = [(hint, lambda model, src, max_len, change=change: {"tokens": _greedy_slip(model, src, max_len,
                                                                                       **change)})
             for hint, change in _GREEDY_SLIPS]
    return run_check("greedy decoding of a batch", fn, cases, single("tokens"),
                     lambda *a: {"tokens": reference_greedy_batch(*a)}, slips,
                     forbid=(reference_greedy_batch, _greedy_slip, seq2seq.greedy_decode))


# --------------------------------------------------------------------------- the experiment: exposure by length

def _right(model, src, max_len, backwards=True):
    """For the words src (T_x, n): which of the T_x + 1 target tokens (the word backwards, then
    </s>) are right teacher-forced, free running, and free running without the stop token
    counted (three bool arrays (T_x + 1, n))."""
    T, n = src.shape
    tgt = src[::-1] if backwards else src
    target = np.concatenate([tgt, np.full((1, n), model.end)])
    _, o = model.loss(src, tgt, backward=False)
    out = model.decode(src, max_len=max_len)
    fr = np.zeros((2, T + 1, n), dtype=bool)
    for b, toks in enumerate(out.tokens):
        for j, stop in enumerate((True, False)):
            written = list(toks) + ([model.end] if out.stopped[b] and stop else [])
            k = min(len(written), T + 1)
            fr[j, :k, b] = np.asarray(written[:k]) == target[:k, b]
    return o.argmax(-1) == target, fr[0], fr[1]


def _exposure(model, words, max_len, *, with_end=True, stop_token=True, backwards=True, parts=None):
    """Per-token accuracies teacher-forced and free running for each array of ``words`` (a slip
    changes one keyword; ``parts``: what :func:`_right` returned for each, if known)."""
    parts = parts or [_right(model, src, max_len, backwards) for src in words]
    tf, fr = [], []
    for src, (tf_right, fr_right, fr_no_stop) in zip(words, parts, strict=False):
        rows = slice(None) if with_end else slice(0, src.shape[0])
        tf.append(tf_right[rows].mean())
        fr.append((fr_right if stop_token else fr_no_stop)[rows].mean())
    return np.array(tf), np.array(fr)


def _worst(words, tf, fr):
    return int(words[int(np.argmax(np.asarray(tf) - np.asarray(fr)))].shape[0])


def reference_exposure_by_length(model: seq2seq.EncoderDecoder, words: list[np.ndarray],
                                 max_len: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The check's own measurement: the per-token accuracies ``tf`` (teacher-forced) and ``fr``
    (free running) of each array of ``words``, and ``worst``, the length with the largest tf - fr."""
    tf, fr = _exposure(model, words, max_len)
    return tf, fr, _worst(words, tf, fr)


AGREES = "worst agrees with your own tf and fr (1 = yes)"


def _words(rng, model, T, n, max_len):
    """n random words of T letters, among them (where the model writes any) some that the model,
    free running, ends with </s> after exactly T tokens: a stop in the right place counts."""
    K = model.head.num_classes
    candidates = rng.integers(2, K, (T, 4 * n))
    out = model.decode(candidates, max_len=max_len)
    stops = [b for b, toks in enumerate(out.tokens) if out.stopped[b] and len(toks) == T]
    others = [b for b in range(4 * n) if b not in stops]
    k = min(len(stops), int(rng.integers(1, n // 2 + 1)))
    chosen = list(rng.permutation(stops)[:k]) + list(rng.permutation(others)[:n - k])
    return candidates[:, rng.permutation(chosen)]


def _exposure_case(rng, first):
    K, H = size(rng, 4, 7), size(rng, 4, 8)
    L, n, max_len = size(rng, 3, 5), size(rng, 4, 9), size(rng, 4, 9)
    for _ in range(40):
        model = _seq2seq_model(rng, K, K, H, 0, 1)         # the chapter's tokens: <s> 0, </s> 1, letters 2..
        lengths = np.sort(rng.permutation(np.arange(1, L + 5))[:L])
        words = [_words(rng, model, int(T), n, max_len) for T in lengths]
        parts = [_right(model, src, max_len) for src in words]
        tf, fr = _exposure(model, words, max_len, parts=parts)
        gaps = tf - fr
        ranked = np.sort(gaps)
        # no near-tie for the worst length; the </s> slips show; the first case's worst length is
        # neither the longest nor the one of the lowest fr (a conclusion not measured fails)
        if ranked[-1] - ranked[-2] > 1e-6 \
                and not np.allclose(fr, _exposure(model, words, max_len, stop_token=False, parts=parts)[1]) \
                and not np.allclose(np.r_[tf, fr], np.concatenate(
                    _exposure(model, words, max_len, with_end=False, parts=parts))) \
                and not (first and (np.argmax(gaps) == L - 1 or np.argmax(gaps) == np.argmin(fr))):
            break
    return Case((model, words, max_len))


def _exposure_unpack(r, case):
    if not isinstance(r, (tuple, list)) or len(r) != 3:
        raise ValueError(f"expected a tuple (tf, fr, worst), got {type(r).__name__}"
                         + (f" of length {len(r)}" if isinstance(r, (tuple, list)) else ""))
    tf, fr, worst = r
    words = case.args[1]
    try:
        worst = float(worst)
        tf_a, fr_a = (np.asarray(v, dtype=float).reshape(len(words)) for v in (tf, fr))
        own = _worst(words, tf_a, fr_a)
    except (TypeError, ValueError) as e:
        raise ValueError(f"expected tf and fr (one number per array of words) and a length worst: {e}") from None
    return {"tf": tf, "fr": fr, "worst": worst, AGREES: float(own == worst)}


def _exposure_ref(model, words, max_len):
    tf, fr, worst = reference_exposure_by_length(model, words, max_len)
    return {"tf": tf, "fr": fr, "worst": np.array(float(worst)), AGREES: np.array(1.0)}


@grading_check
def check_exposure_by_length(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``exposure_by_length(model, words, max_len) -> (tf, fr, worst)``: per-token accuracy of
    the T_x + 1 tokens (</s> included) teacher-forced and free running for each array of words, and
    the length whose tf - fr is largest."""
    rng = make_rng(seed)
    cases = [_exposure_case(rng, first=k == 0) for k in range(3)]

    def slip(hint, **change):
        def f(model, words, max_len):
            parts = [_right(model, src, max_len) for src in words]
            right, wrong = _exposure(model, words, max_len, parts=parts), _exposure(model, words, max_len, **change)
            if np.allclose(np.concatenate(right), np.concatenate(wrong)):
                return None                         # this case cannot tell the slip apart
            return dict(zip(("tf", "fr"), wrong, strict=False))
        return hint, f

    def as_index(model, words, max_len):
        i = int(np.argmax(np.subtract(*_exposure(model, words, max_len))))
        if i in [src.shape[0] for src in words]:
            return None                             # an index that is also a length: ambiguous
        return {"worst": np.array(float(i))}
    slips = [slip("score all T_x + 1 tokens: </s> after the last letter is part of the output (a decoder "
                  "that stops in the wrong place is wrong there)", with_end=False),
             slip("a decoder that stopped wrote </s>: model.decode's tokens hold only what came before it; "
                  "append model.end for the sequences that stopped before you compare", stop_token=False),
             slip("the target is each word backwards, src[::-1] (then </s>), in both runs", backwards=False),
             ("worst is a word length T_x (the number of rows of words[i]), not an index i", as_index),
             ("your conclusion contradicts your own measurement: worst must be the length T_x of the words "
              "whose tf - fr, in your own tf and fr, is the largest (a length, not an index; not the longest "
              "words, not the lowest fr: where free running loses most against teacher forcing)",
              lambda *a: {AGREES: np.array(0.0)})]
    return run_check("exposure bias against the word length", fn, cases, _exposure_unpack, _exposure_ref,
                     slips, forbid=(reference_exposure_by_length, _exposure, _right))


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


def _greedy_batch(model, src, max_len, pad=True):
    enc, dec = model.encoder, model.decoder
    _, s = enc(np.eye(enc.input_size)[src])              # the context
    w = np.full(src.shape[1], model.start)
    done = np.zeros(src.shape[1], dtype=bool)
    rows = []
    for _ in range(max_len):
        out, s = dec(np.eye(dec.input_size)[w][None], s)
        w = model.head(out[0])[0].argmax(axis=-1)
        rows.append(np.where(done, model.end, w) if pad else w)
        done |= w == model.end
    return np.stack(rows)


def _exposure_by_length(model, words, max_len, stop_token=True, conclusion=True):
    tf, fr = [], []
    for src in words:
        T_x, n = src.shape
        target = np.concatenate([src[::-1], np.full((1, n), model.end)])
        o = model.loss(src, src[::-1], backward=False)[1]
        tf.append(np.mean(o.argmax(-1) == target))
        out = model.decode(src, max_len=max_len)
        right = 0
        for b, toks in enumerate(out.tokens):
            written = [*toks, model.end] if out.stopped[b] and stop_token else list(toks)
            right += sum(w == y for w, y in zip(written, target[:, b], strict=False))
        fr.append(right / target.size)
    tf, fr = np.array(tf), np.array(fr)
    if not conclusion:                                   # predicted, not measured
        return tf, fr, max(src.shape[0] for src in words)
    return tf, fr, words[int(np.argmax(tf - fr))].shape[0]


def _copy_many_to_one(x, lengths, rnn, head):
    return reference_many_to_one(x, lengths, rnn, head)


def _copy_one_to_many(x, rnn, head, T):
    return reference_one_to_many(x, rnn, head, T)


def _copy_encoder_decoder(x, encoder, decoder, head, T_y):
    return reference_encoder_decoder(x, encoder, decoder, head, T_y)


def _copy_greedy_batch(model, src, max_len):
    # what the chapter's companion already does: decode, then pad every sequence with </s>
    out = model.decode(src, max_len=max_len)
    rows = np.full((max_len, src.shape[1]), model.end)
    for b, toks in enumerate(out.tokens):
        rows[:len(toks), b] = toks
    return rows


def _copy_exposure_by_length(model, words, max_len):
    return reference_exposure_by_length(model, words, max_len)


#: the checks of this module: each with a correct answer and hand-written wrong ones
CHECKS = registry(
    Exercise(check_many_to_one, _many_to_one,
             (Wrong(lambda x, n, rnn, head: head(rnn(x)[0][-1])[1], "after the padding"),),
             chapter="03", kind="apply", points=2,
             skill="many to one on a padded batch: classify each sequence from its own last state h(T_b)",
             copying=_copy_many_to_one),
    Exercise(check_one_to_many, _one_to_many,
             (Wrong(lambda x, rnn, head, T: _one_to_many(x, rnn, head, T, keep_state=False), "carry over"),),
             chapter="03", kind="apply", points=2,
             skill="one to many: feed each output distribution back as the next input, carrying the state",
             copying=_copy_one_to_many),
    Exercise(check_encoder_decoder, _encoder_decoder,
             (Wrong(lambda *a: _encoder_decoder(*a, context=False), "encoder's last state"),),
             chapter="03", kind="recall", points=1,
             skill="the encoder-decoder's wiring: the encoder's last state is the decoder's initial state",
             copying=_copy_encoder_decoder),
    Exercise(check_greedy_batch, _greedy_batch,
             (Wrong(lambda m, s, n: _greedy_batch(m, s, n, pad=False), "padding"),),
             chapter="03", kind="transfer", points=3,
             skill="free running for a batch: each sequence stops at its own </s>, padded after it, "
                   "with the maximum-length guard",
             copying=_copy_greedy_batch),
    Exercise(check_exposure_by_length, _exposure_by_length,
             (Wrong(lambda m, w, n: _exposure_by_length(m, w, n, stop_token=False), "append model.end"),
              Wrong(lambda m, w, n: _exposure_by_length(m, w, n, conclusion=False), "contradicts")),
             chapter="03", kind="experiment", points=3,
             skill="measure per-token accuracy teacher-forced and free running at several word lengths, "
                   "and conclude where exposure bias costs most",
             copying=_copy_exposure_by_length),
)
