r"""Encoder–decoder (slide 4, many to many with another output length) with start and end tokens.

The encoder reads the source tokens :math:`x^{(1)}, \dots, x^{(T_x)}` (one-hot) and hands its
last state, the context, to the decoder as the decoder's initial state. The decoder's outputs
are tokens of a vocabulary that holds two extra tokens: ``start`` (written <s>), the decoder's
first input, and ``end`` (</s>), the token that ends the output. So the output length
:math:`T_y` is not given to the decoder: it stops when it emits ``end``.

**Training: teacher forcing.** The decoder's input at step :math:`t` is the *true* previous
token :math:`y^{(t-1)}` (with :math:`y^{(0)} = \langle s\rangle`), and its target is
:math:`y^{(t)}` (with :math:`y^{(T_y+1)} = \langle /s\rangle`), so the whole target is read in
one call of the decoder:

.. math::

    \text{inputs } (\langle s\rangle, y^{(1)}, \dots, y^{(T_y)}), \qquad
    \text{targets } (y^{(1)}, \dots, y^{(T_y)}, \langle /s\rangle), \qquad
    L = -\frac1B \sum_{b=1}^{B} \sum_{t=1}^{T_y+1} \log \hat y^{(t)}_b\big[y^{(t)}_b\big].

**Inference: free running.** The true tokens are unknown; the decoder's input at step
:math:`t` is its own previous prediction, :math:`\arg\max_k \hat y^{(t-1)}[k]` (greedy
decoding), from :math:`\langle s\rangle` until it emits :math:`\langle /s\rangle` or
``max_len`` steps have run (the guard against a decoder that never emits it).

The two agree as long as every prediction is right; after a first wrong prediction the free
running decoder reads a prefix that training never showed it (the *exposure* mismatch).

Tokens are integer arrays, time first: ``src`` (T_x, B), ``tgt`` (T_y, B), as the layers'
inputs (T, B, D). The encoder and decoder are companion layers (``RNN``, ``LSTM``, ``GRU``,
one direction for the decoder) whose input sizes are the vocabulary sizes of source and
target; the head is a :class:`companion.OutputHead` over the target vocabulary.
"""
from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .head import OutputHead
from .validation import check_positive_int

__all__ = ["one_hot", "teacher_forcing_pairs", "teacher_forced_loss", "greedy_decode", "Decoded",
           "EncoderDecoder"]


# --------------------------------------------------------------------------- argument checks
def _token(name: str, value: Any, size: int | None) -> int:
    """``value`` as an int token in [0, size) (any integer >= 0 when size is None)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) \
            or value < 0 or (size is not None and value >= size):
        where = "an integer token >= 0" if size is None else f"an integer token in [0, {size})"
        raise ValueError(f"{name}: expected {where}, got {value!r}")
    return int(value)


def _tokens(name: str, value: Any, size: int | None, min_len: int = 1) -> np.ndarray:
    """``value`` as an int array (T, B) of tokens in [0, size) (>= 0 when size is None),
    T >= min_len, B >= 1."""
    arr = np.asarray(value)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name}: expected integer tokens, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] < min_len or arr.shape[1] < 1:
        raise ValueError(f"{name}: expected shape (T, B) (time first) with T >= {min_len} and "
                         f"B >= 1, got {arr.shape}")
    if arr.size and (arr.min() < 0 or (size is not None and arr.max() >= size)):
        where = ">= 0" if size is None else f"in [0, {size})"
        raise ValueError(f"{name}: expected tokens {where}, got values in [{arr.min()}, {arr.max()}]")
    return arr.astype(np.int64)


def _check_model(encoder, decoder, head) -> None:
    for name, obj in (("encoder", encoder), ("decoder", decoder)):
        if not callable(obj) or not callable(getattr(obj, "backward", None)) \
                or not isinstance(getattr(obj, "params", None), dict) \
                or not hasattr(obj, "input_size") or not hasattr(obj, "hidden_size"):
            raise ValueError(f"{name}: expected a companion layer (RNN, LSTM or GRU), "
                             f"got {type(obj).__name__}")
    if not isinstance(head, OutputHead):
        raise ValueError(f"head: expected a companion.OutputHead, got {type(head).__name__}")
    if getattr(decoder, "bidirectional", False):
        raise ValueError("decoder: expected one direction (a decoder cannot read the future "
                         "outputs it has not produced yet), got bidirectional=True")
    if type(encoder) is not type(decoder) or decoder.hidden_size != encoder.hidden_size \
            or decoder.num_layers != encoder.num_layers * encoder.num_directions:
        raise ValueError(
            f"decoder: expected a {type(encoder).__name__} with the encoder's state shape "
            f"(hidden_size={encoder.hidden_size}, num_layers="
            f"{encoder.num_layers * encoder.num_directions}), got {type(decoder).__name__} with "
            f"hidden_size={decoder.hidden_size}, num_layers={decoder.num_layers}")
    if head.hidden_size != decoder.hidden_size:
        raise ValueError(f"head: expected hidden_size={decoder.hidden_size} (the decoder's), "
                         f"got {head.hidden_size}")


# --------------------------------------------------------------------------- the pieces
def one_hot(tokens: ArrayLike, size: int) -> np.ndarray:
    """Tokens (any shape, ints in [0, size)) -> one-hot vectors, shape ``tokens.shape + (size,)``."""
    size = check_positive_int("size", size)
    t = np.asarray(tokens)
    if t.dtype == bool or not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"tokens: expected integer tokens, got dtype {t.dtype}")
    if t.size and (t.min() < 0 or t.max() >= size):
        raise ValueError(f"tokens: expected tokens in [0, {size}), got values in [{t.min()}, {t.max()}]")
    return np.eye(size)[t]


def teacher_forcing_pairs(tgt: ArrayLike, *, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    r"""The decoder's inputs and targets under teacher forcing, both (T_y + 1, B):

    inputs :math:`(\langle s\rangle, y^{(1)}, \dots, y^{(T_y)})`, targets
    :math:`(y^{(1)}, \dots, y^{(T_y)}, \langle /s\rangle)`: the input at step t is the target of
    step t - 1. tgt: (T_y, B) tokens (T_y may be 0)."""
    start = _token("start", start, None)
    end = _token("end", end, None)
    tgt = _tokens("tgt", tgt, None, min_len=0)
    B = tgt.shape[1]
    inputs = np.concatenate([np.full((1, B), start), tgt])
    targets = np.concatenate([tgt, np.full((1, B), end)])
    return inputs, targets


def teacher_forced_loss(encoder, decoder, head: OutputHead, src: ArrayLike, tgt: ArrayLike, *,
                        start: int, end: int, backward: bool = True) -> tuple[float, np.ndarray]:
    r"""The training loss of an encoder–decoder, with teacher forcing; returns ``(L, o)``.

    .. math::

        h_\text{enc}^{(T_x)} = \text{encoder}(x^{(1..T_x)}), \qquad
        s^{(0)} = h_\text{enc}^{(T_x)}, \qquad
        s^{(t)} = \text{decoder}(s^{(t-1)}, y^{(t-1)}), \qquad
        o^{(t)} = c + V s^{(t)},

        L = -\frac1B \sum_b \sum_{t=1}^{T_y+1} \log \operatorname{softmax}(o^{(t)}_b)\big[y^{(t)}_b\big],
        \quad y^{(0)} = \langle s\rangle,\; y^{(T_y+1)} = \langle /s\rangle.

    The decoder reads the *true* previous tokens (:func:`teacher_forcing_pairs`), all
    T_y + 1 of them in one call. src: (T_x, B) tokens in [0, encoder.input_size);
    tgt: (T_y, B) tokens in [0, head.num_classes) (and < decoder.input_size: they are fed
    back). o: (T_y + 1, B, K), the scores of every step. With ``backward`` (the default), the
    gradients of L fill ``encoder.grads``, ``decoder.grads`` and ``head.grads``: BPTT through
    the decoder, then into the encoder through the context.
    """
    _check_model(encoder, decoder, head)
    src = _tokens("src", src, encoder.input_size)
    tgt = _tokens("tgt", tgt, min(head.num_classes, decoder.input_size), min_len=0)
    start = _token("start", start, decoder.input_size)
    end = _token("end", end, head.num_classes)
    if tgt.shape[1] != src.shape[1]:
        raise ValueError(f"tgt: expected {src.shape[1]} sequences (src's B), got shape {tgt.shape}")
    if not isinstance(backward, (bool, np.bool_)):
        raise ValueError(f"backward: expected True or False, got {backward!r}")
    dec_in, dec_target = teacher_forcing_pairs(tgt, start=start, end=end)
    _, context = encoder(one_hot(src, encoder.input_size))          # h(T_x): (L, B, H)
    s, _ = decoder(one_hot(dec_in, decoder.input_size), context)    # (T_y + 1, B, H)
    o, _ = head(s)                                                  # (T_y + 1, B, K)
    L, d_o = head.loss(o, dec_target)
    if backward:
        d_s = head.backward(d_o)
        _, d_context = decoder.backward(d_s)                        # BPTT through the decoder
        encoder.backward(None, d_context)                           # and on into the encoder
    return float(L), o


class Decoded(NamedTuple):
    """What :func:`greedy_decode` returns.

    tokens: B int arrays, the tokens each sequence emitted *before* its end token (all
    ``max_len`` of them if it never emitted one); stopped: (B,) bool, True where the end
    token was emitted within ``max_len`` steps."""
    tokens: list[np.ndarray]
    stopped: np.ndarray


def greedy_decode(encoder, decoder, head: OutputHead, src: ArrayLike, *, start: int, end: int,
                  max_len: int) -> Decoded:
    r"""Free running (greedy) decoding: the decoder reads its own previous prediction.

    .. math::

        s^{(0)} = h_\text{enc}^{(T_x)}, \quad \hat w^{(0)} = \langle s\rangle, \quad
        s^{(t)} = \text{decoder}(s^{(t-1)}, \hat w^{(t-1)}), \quad
        \hat w^{(t)} = \arg\max_k \operatorname{softmax}(c + V s^{(t)})[k],

    for t = 1, 2, ... until :math:`\hat w^{(t)} = \langle /s\rangle` (then :math:`T_y = t - 1`)
    or t = ``max_len`` (the guard: at most ``max_len`` decoder steps, the end token included).
    src: (T_x, B) tokens in [0, encoder.input_size). Every sequence of the batch runs until
    all have stopped (or the guard); what a sequence emits after its end token is dropped.
    Returns :class:`Decoded` ``(tokens, stopped)``.
    """
    _check_model(encoder, decoder, head)
    src = _tokens("src", src, encoder.input_size)
    start = _token("start", start, decoder.input_size)
    end = _token("end", end, head.num_classes)
    max_len = check_positive_int("max_len", max_len)
    if head.num_classes > decoder.input_size:
        raise ValueError(f"decoder: expected input_size >= head.num_classes={head.num_classes} "
                         f"(its predictions are fed back), got {decoder.input_size}")
    B = src.shape[1]
    _, state = encoder(one_hot(src, encoder.input_size))            # the context
    w_prev = np.full(B, start)                                      # <s>
    emitted, done = [], np.zeros(B, dtype=bool)
    for _ in range(max_len):
        s, state = decoder(one_hot(w_prev, decoder.input_size)[None], state)   # one step
        o, _ = head(s[0])                                           # (B, K)
        w_prev = o.argmax(axis=-1)                                  # fed back at the next step
        emitted.append(np.where(done, end, w_prev))
        done |= w_prev == end
        if done.all():
            break
    emitted = np.stack(emitted)                                     # (steps, B)
    tokens, stopped = [], np.zeros(B, dtype=bool)
    for b in range(B):
        hit = np.flatnonzero(emitted[:, b] == end)
        stopped[b] = hit.size > 0
        tokens.append(emitted[:hit[0] if hit.size else len(emitted), b].copy())
    return Decoded(tokens, stopped)


class EncoderDecoder:
    """An encoder, a decoder and a head trained together, with their start and end tokens.

    ``params`` holds every parameter array under ``"encoder.<name>"``, ``"decoder.<name>"``
    and ``"head.<name>"`` (the layers' own arrays, so an optimiser over it trains them);
    after :meth:`loss`, ``grads`` holds their gradients under the same names.
    """

    def __init__(self, encoder, decoder, head: OutputHead, *, start: int, end: int):
        _check_model(encoder, decoder, head)
        self.encoder, self.decoder, self.head = encoder, decoder, head
        self.start = _token("start", start, decoder.input_size)
        self.end = _token("end", end, head.num_classes)
        self.params = {f"{part}.{k}": v for part, m in self._parts() for k, v in m.params.items()}

    def _parts(self):
        return (("encoder", self.encoder), ("decoder", self.decoder), ("head", self.head))

    @property
    def grads(self) -> dict[str, np.ndarray]:
        if any(m.grads is None for _, m in self._parts()):
            raise RuntimeError("grads: no gradients yet; call loss(src, tgt) first")
        return {f"{part}.{k}": v for part, m in self._parts() for k, v in m.grads.items()}

    def loss(self, src: ArrayLike, tgt: ArrayLike, backward: bool = True) -> tuple[float, np.ndarray]:
        """:func:`teacher_forced_loss` with this model's parts and tokens: ``(L, o)``."""
        return teacher_forced_loss(self.encoder, self.decoder, self.head, src, tgt,
                                   start=self.start, end=self.end, backward=backward)

    def decode(self, src: ArrayLike, max_len: int) -> Decoded:
        """:func:`greedy_decode` with this model's parts and tokens."""
        return greedy_decode(self.encoder, self.decoder, self.head, src, start=self.start,
                             end=self.end, max_len=max_len)
