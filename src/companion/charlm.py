r"""Chapter 12's character-level language model: the shipped weights, sampling, perplexity,
baselines and the search for interpretable cells, in numpy.

The model (trained by ``scripts/train_charlm.py`` on ``data/corpus.txt``, the book's own text)
reads one character per step as a one-hot vector x_t of size K (the vocabulary), runs one
recurrent layer (a companion :class:`~companion.layers.LSTM` or :class:`~companion.layers.GRU`, torch's
parameter names and gate order) and scores the next character with the slides' output head

.. math::

    o_t = c + V h_t, \qquad \hat y_t = \mathrm{softmax}(o_t / \tau),

where the temperature τ = 1 is the trained model and τ ≠ 1 reshapes it for sampling
(:func:`softmax_temperature`). Sampling (:func:`sample`) draws each character from a
:class:`~companion.rng.SplitMix64` stream, the stream the page's JavaScript uses too
(``widgets/static/charlm.js``), with the inverse-CDF rule both implement alike: the first k
whose cumulative probability exceeds u = ``rng.random()``. Same weights, prime, τ and seed:
the same text here and on the page (``tests/js/charlm.test.mjs``).

The weights are float32 (``data/charlm/<kind>.npz``); :func:`load` can cast them exactly to
float64, which the sampler uses so that a near-tie between two characters is decided far
below the rounding of any machine (the test vectors record the margin).
"""
from __future__ import annotations

import hashlib
import math
import numbers
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

from .layers import GRU, LSTM
from .rng import SplitMix64
from .validation import check_dtype

__all__ = ["CORPUS", "WEIGHTS", "SPLIT", "load_corpus", "corpus_sha256", "vocabulary", "encode", "decode",
           "split_corpus", "CharLM", "load", "softmax_temperature", "draw", "sample", "cross_entropy",
           "perplexity", "uniform_cross_entropy", "unigram_cross_entropy", "KneserNey", "inside_masks",
           "auroc", "unit_aurocs"]

_ROOT = Path(__file__).resolve().parents[2]
#: the frozen corpus (scripts/make_corpus.py) and the trained weights (scripts/train_charlm.py)
CORPUS = _ROOT / "data" / "corpus.txt"
WEIGHTS = _ROOT / "data" / "charlm"
#: contiguous blocks: the first 90 % trains, the next 5 % validates, the last 5 % tests
SPLIT = (0.90, 0.05, 0.05)


# --------------------------------------------------------------------------- the corpus

def load_corpus(path: str | Path | None = None) -> str:
    """The corpus as text (UTF-8)."""
    return Path(CORPUS if path is None else path).read_text(encoding="utf-8")


def corpus_sha256(path: str | Path | None = None) -> str:
    """The sha256 of the corpus file's bytes (chapter 12 prints it: the corpus is frozen)."""
    return hashlib.sha256(Path(CORPUS if path is None else path).read_bytes()).hexdigest()


def vocabulary(text: str) -> str:
    """The sorted distinct characters of ``text``: character k of the result has index k."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"text: expected a non-empty str, got {type(text).__name__}")
    return "".join(sorted(set(text)))


def encode(text: str, vocab: str) -> np.ndarray:
    """The indices (int64) of the characters of ``text`` in ``vocab``; ValueError naming the first
    character that is not in it."""
    if not isinstance(text, str):
        raise ValueError(f"text: expected a str, got {type(text).__name__}")
    index = {ch: k for k, ch in enumerate(vocab)}
    bad = next((ch for ch in text if ch not in index), None)
    if bad is not None:
        raise ValueError(f"text: the character {bad!r} is not in the model's vocabulary")
    return np.array([index[ch] for ch in text], dtype=np.int64)


def decode(ids, vocab: str) -> str:
    """The text of a sequence of indices."""
    return "".join(vocab[int(i)] for i in ids)


def split_corpus(text: str) -> tuple[str, str, str]:
    """(train, validation, test): contiguous blocks of 90 %, 5 % and 5 % of ``text``, in order,
    so that no test character was read in training (only the same words and phrases recur)."""
    n = len(text)
    a, b = int(n * SPLIT[0]), int(n * (SPLIT[0] + SPLIT[1]))
    return text[:a], text[a:b], text[b:]


# --------------------------------------------------------------------------- the model

@dataclass
class CharLM:
    """A trained character model: ``layer`` (companion LSTM or GRU, input size K), the head's
    ``V`` (K, H) and ``c`` (K,), and ``vocab`` (K characters)."""

    kind: str
    layer: LSTM | GRU
    V: np.ndarray
    c: np.ndarray
    vocab: str

    @property
    def K(self) -> int:
        return len(self.vocab)

    @property
    def H(self) -> int:
        return self.layer.hidden_size

    def one_hot(self, ids: np.ndarray) -> np.ndarray:
        """(T, 1, K) one-hot inputs of the layer's dtype (time-major, one sequence)."""
        x = np.zeros((len(ids), 1, self.K), dtype=self.layer.dtype)
        x[np.arange(len(ids)), 0, ids] = 1.0
        return x

    def forward(self, ids, state=None):
        """Teacher forcing over one sequence of indices: (logits (T, K), hs (T, H), final state).

        logits[t] = c + V h_t scores the character *after* ids[t]; the layer's
        :attr:`~companion.layers.LSTM.traces` hold the gates and cells of this pass."""
        ids = np.asarray(ids, dtype=np.int64)
        out, state = self.layer(self.one_hot(ids), state)
        hs = out[:, 0, :]
        return hs @ self.V.T + self.c, hs, state

    def astype(self, dtype: DTypeLike) -> CharLM:
        """The same model with its parameters cast to ``dtype`` (float32 -> float64 is exact)."""
        dt = check_dtype(dtype)
        layer = type(self.layer)(self.K, self.H, dtype=dt)
        for name, value in self.layer.params.items():
            layer.params[name][...] = value.astype(dt)
        return CharLM(self.kind, layer, self.V.astype(dt), self.c.astype(dt), self.vocab)

    def to_torch(self):
        """(torch recurrent module, torch.nn.Linear head) with the same parameters (imports torch)."""
        import torch
        rnn = self.layer.to_torch()
        head = torch.nn.Linear(self.H, self.K, dtype=rnn.weight_hh_l0.dtype)
        with torch.no_grad():
            head.weight.copy_(torch.from_numpy(np.asarray(self.V, dtype=self.layer.dtype)))
            head.bias.copy_(torch.from_numpy(np.asarray(self.c, dtype=self.layer.dtype)))
        return rnn, head


def load(kind: str = "lstm", dtype: DTypeLike = np.float32, path: str | Path | None = None) -> CharLM:
    """The shipped model ``data/charlm/<kind>.npz`` (kind "lstm" or "gru") as companion layers.

    The file holds torch's four parameters (``weight_ih_l0`` (G·H, K), ``weight_hh_l0`` (G·H, H),
    ``bias_ih_l0``, ``bias_hh_l0``), the head's ``V``, ``c`` and the vocabulary as code points, all
    float32; ``dtype=np.float64`` casts them (exactly) for the sampler."""
    if kind not in ("lstm", "gru"):
        raise ValueError(f"kind: expected 'lstm' or 'gru', got {kind!r}")
    dt = check_dtype(dtype)
    f = np.load(Path(WEIGHTS / f"{kind}.npz" if path is None else path))
    vocab = "".join(chr(int(k)) for k in f["vocab"])
    G = 4 if kind == "lstm" else 3
    GH, K = f["weight_ih_l0"].shape
    if K != len(vocab) or GH % G:
        raise ValueError(f"path: weight_ih_l0 of shape {(GH, K)} does not fit a {kind} over {len(vocab)} characters")
    layer = (LSTM if kind == "lstm" else GRU)(K, GH // G, dtype=dt)   # GRU: torch's variant, as trained
    for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
        layer.params[name][...] = f[name].astype(dt)
    return CharLM(kind, layer, f["V"].astype(dt), f["c"].astype(dt), vocab)


# --------------------------------------------------------------------------- sampling

def _check_temperature(temperature) -> float:
    if isinstance(temperature, (bool, np.bool_)) or not isinstance(temperature, numbers.Real) \
            or not math.isfinite(temperature) or not 0.05 <= temperature <= 10:
        raise ValueError(f"temperature: expected a number in [0.05, 10], got {temperature!r}")
    return float(temperature)


def softmax_temperature(o, temperature: float = 1.0) -> np.ndarray:
    r"""p_k = exp(o_k / τ) / Σ_j exp(o_j / τ) over the last axis, computed as
    exp((o_k − max_j o_j) / τ) / Σ (the shift cancels and keeps exp from overflowing).
    τ → 0 tends to the argmax, τ = 1 is the model, τ → ∞ tends to uniform."""
    tau = _check_temperature(temperature)
    o = np.asarray(o, dtype=np.float64)
    e = np.exp((o - o.max(axis=-1, keepdims=True)) / tau)
    return e / e.sum(axis=-1, keepdims=True)


def draw(p: np.ndarray, u: float) -> tuple[int, float]:
    """The inverse-CDF draw the page makes too: the first k with u < p_0 + ... + p_k (summed in
    order), or the last k with p_k > 0 where rounding leaves the total below u. Also returns the
    margin, the distance from u to the nearest cumulative sum: how far the draw is from a tie."""
    cum = np.cumsum(p)
    k = int(np.searchsorted(cum, u, side="right"))
    if k >= len(p):
        k = int(np.flatnonzero(p > 0)[-1])
    return k, float(np.min(np.abs(cum - u)))


def sample(model: CharLM, prime: str, n: int, temperature: float = 1.0, seed: int = 0,
           return_margin: bool = False):
    """``n`` characters drawn after ``prime`` (free running: each drawn character is the next input).

    The prime is read with teacher forcing from the zero state; then, n times: p = softmax(o_t / τ)
    (:func:`softmax_temperature`), u = the next ``SplitMix64(seed).random()``, k = :func:`draw`,
    feed character k. Use a float64 model (``load(kind, np.float64)``): the page computes in
    float64 too. ``return_margin``: also the smallest margin of the n draws."""
    if not isinstance(prime, str) or not prime:
        raise ValueError(f"prime: expected a non-empty str, got {prime!r}")
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral) or not 0 <= n <= 100_000:
        raise ValueError(f"n: expected an integer in [0, 100000], got {n!r}")
    tau = _check_temperature(temperature)
    rng = SplitMix64(seed)
    logits, _, state = model.forward(encode(prime, model.vocab))
    o, out, margin = logits[-1], [], math.inf
    for _ in range(int(n)):
        k, m = draw(softmax_temperature(o, tau), rng.random())
        margin = min(margin, m)
        out.append(model.vocab[k])
        logits, _, state = model.forward(np.array([k]), state)
        o = logits[-1]
    text = "".join(out)
    return (text, margin) if return_margin else text


# --------------------------------------------------------------------------- how good: perplexity

def cross_entropy(model: CharLM, text: str) -> float:
    """Mean −log p(next character) in nats over ``text`` read once from the zero state, teacher
    forcing (each prediction sees the true previous characters): characters 2..T predicted."""
    ids = encode(text, model.vocab)
    logits, _, _ = model.forward(ids[:-1])
    o = np.asarray(logits, dtype=np.float64)
    m = o.max(axis=1, keepdims=True)
    logp = o - m - np.log(np.exp(o - m).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(ids) - 1), ids[1:]].mean())


def perplexity(nats: float) -> float:
    """exp(mean cross-entropy in nats): the number of equally likely characters the model is as
    unsure as (K for a uniform guess over K characters)."""
    return float(np.exp(nats))


def uniform_cross_entropy(K: int) -> float:
    """The uniform guess: log K nats per character."""
    return float(np.log(K))


def unigram_cross_entropy(train: str, test: str, vocab: str, alpha: float = 1.0) -> float:
    """Each character by its training frequency, add-α smoothed: p(w) = (n_w + α) / (N + αK);
    the mean −log p over test characters 2..T (the ones the other models predict)."""
    counts = np.bincount(encode(train, vocab), minlength=len(vocab)).astype(np.float64)
    p = (counts + alpha) / (counts.sum() + alpha * len(vocab))
    return float(-np.log(p[encode(test, vocab)[1:]]).mean())


class KneserNey:
    r"""An interpolated Kneser–Ney character n-gram model (Chen & Goodman 1999), one discount D.

    For the highest order, with h the n − 1 previous characters and c(·) training counts,

    .. math::

        P(w \mid h) = \frac{\max(c(hw) - D, 0)}{c(h\cdot)}
                      + \frac{D \, N_{1+}(h\cdot)}{c(h\cdot)} \, P_{\text{lower}}(w \mid h'),

    h' being h without its oldest character; the lower orders use continuation counts
    N_{1+}(·h'w) (in how many distinct contexts h'w occurred) in place of c, and the order-1 model
    interpolates with the uniform 1/K, so that every character has p > 0. A context never seen in
    training backs off wholly to the next lower order.

    Vectorised: an m-gram is the integer Σ_j w_j K^(m−1−j) (exact in int64 for K^order < 2^63),
    counted with ``np.unique`` and looked up with ``np.searchsorted``."""

    def __init__(self, train_ids, order: int, K: int, discount: float = 0.75):
        if isinstance(order, (bool, np.bool_)) or not isinstance(order, numbers.Integral) or not 1 <= order <= 12:
            raise ValueError(f"order: expected an integer in [1, 12], got {order!r}")
        if not 0 < discount < 1:
            raise ValueError(f"discount: expected a number in (0, 1), got {discount!r}")
        if float(K) ** order >= 2.0 ** 62:
            raise ValueError(f"order: K**order must stay below 2**62 (K={K}, order={order})")
        self.order, self.K, self.D = int(order), int(K), float(discount)
        s = np.asarray(train_ids, dtype=np.int64)
        self.levels = []            # level m: the model of context length m (grams of m + 1)
        for m in range(self.order):
            if m == self.order - 1:                     # the top order: raw counts
                grams, counts = np.unique(self._codes(s, m + 1), return_counts=True)
            else:                                       # below: distinct left extensions
                ext = np.unique(self._codes(s, m + 2))
                grams, counts = np.unique(ext % self.K ** (m + 1), return_counts=True)
            ctx = grams // self.K
            contexts, start, types = np.unique(ctx, return_index=True, return_counts=True)
            totals = np.add.reduceat(counts, start) if len(counts) else counts
            self.levels.append((grams, counts, contexts, totals.astype(np.float64), types))

    def _codes(self, s, n):
        """The code of every n-gram of s, (len(s) − n + 1,)."""
        out = np.zeros(max(len(s) - n + 1, 0), dtype=np.int64)
        for j in range(n):
            out = out * self.K + s[j:len(s) - n + 1 + j]
        return out

    @staticmethod
    def _lookup(keys, query):
        """(found, index) of each query in the sorted ``keys``."""
        if not len(keys):
            return np.zeros(len(query), dtype=bool), np.zeros(len(query), dtype=np.int64)
        idx = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
        return keys[idx] == query, idx

    def _probs(self, s: np.ndarray, t: np.ndarray) -> np.ndarray:
        """P(s[t] | s[t − order + 1 : t]) at the positions t (shorter contexts near the start)."""
        p = np.full(len(t), 1.0 / self.K)
        active = np.ones(len(t), dtype=bool)
        ctx = np.zeros(len(t), dtype=np.int64)
        for m, (grams, counts, contexts, totals, types) in enumerate(self.levels):
            if m:                                           # the context one character longer
                active &= t - m >= 0
                ctx = ctx + np.where(t - m >= 0, s[np.maximum(t - m, 0)], 0) * self.K ** (m - 1)
            found, ci = self._lookup(contexts, ctx)
            active &= found                                 # unseen: keep the lower order's p
            gfound, gi = self._lookup(grams, ctx * self.K + s[t])
            c = np.where(gfound, counts[gi], 0).astype(np.float64)
            p = np.where(active, (np.maximum(c - self.D, 0.0) + self.D * types[ci] * p) / totals[ci], p)
        return p

    def probs(self, ids) -> np.ndarray:
        """P(ids[t] | the order − 1 characters before it) for t = 1 .. T − 1, (T − 1,)."""
        s = np.asarray(ids, dtype=np.int64)
        return self._probs(s, np.arange(1, len(s)))

    def prob(self, context, w: int) -> float:
        """P(w | the last order − 1 characters of ``context``)."""
        s = np.array([*(list(context)[-(self.order - 1):] if self.order > 1 else []), w],
                     dtype=np.int64)
        return float(self._probs(s, np.array([len(s) - 1]))[0])

    def cross_entropy(self, ids) -> float:
        """Mean −log P over characters 2..T of ``ids``, each given the characters before it."""
        return float(-np.mean(np.log(self.probs(ids))))


# --------------------------------------------------------------------------- interpretable cells

def inside_masks(text: str) -> dict[str, np.ndarray]:
    """For each character t, whether the text is inside a construct *after* reading it (what h_t,
    having read character t, can know): booleans (T,) for

    * ``"math"``: between a ``$`` (or ``$$``) and the next one; a run of ``$`` is one delimiter;
    * ``"backticks"``: inline code, between a run of one or two backticks and the next such run
      (a fence of three or more opens a MyST directive here, whose body is prose; inline code
      ends at a blank line at the latest);
    * ``"parens"``: between ``(`` and its ``)`` (nesting counted; a stray ``)`` is ignored, an
      unclosed ``(`` ends at a blank line).

    The opening delimiter is inside, the closing one outside. ``$`` inside backticks and
    backticks inside math are plain characters."""
    T = len(text)
    out = {k: np.zeros(T, dtype=bool) for k in ("math", "backticks", "parens")}
    math_on = code_on = False
    depth = 0
    for t, ch in enumerate(text):
        prev = text[t - 1] if t else ""
        if ch == "$" and not code_on and prev != "$":
            math_on = not math_on
        elif ch == "`" and not math_on and prev != "`" and not text.startswith("```", t):
            code_on = not code_on
        elif ch == "\n" and prev == "\n":
            code_on, depth = False, 0       # inline code and a parenthesis end with their paragraph
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        out["math"][t], out["backticks"][t], out["parens"][t] = math_on, code_on, depth > 0
    return out


def auroc(scores, labels) -> float:
    """The area under the ROC curve of ``scores`` for the boolean ``labels``: the probability that
    a random positive scores above a random negative (ties count one half), by the rank-sum
    (Mann–Whitney) formula with average ranks. 0.5 is chance; 1 − AUROC is the AUROC of −scores."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=bool).ravel()
    if s.shape != y.shape:
        raise ValueError(f"scores, labels: expected the same length, got {s.shape} and {y.shape}")
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        raise ValueError("labels: expected both classes")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    # average rank over each run of ties
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_s)) + 1]
    ends = np.r_[starts[1:], len(s)]
    avg = (starts + ends + 1) / 2.0                 # 1-based ranks
    ranks[order] = np.repeat(avg, ends - starts)
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def _average_ranks(acts: np.ndarray) -> np.ndarray:
    """1-based ranks of each column of (T, H) ``acts``, ties given their average rank."""
    order = np.argsort(acts, axis=0, kind="mergesort")
    sorted_a = np.take_along_axis(acts, order, axis=0)
    ranks = np.empty_like(acts, dtype=np.float64)
    plain = np.arange(1, len(acts) + 1, dtype=np.float64)[:, None]
    np.put_along_axis(ranks, order, np.broadcast_to(plain, acts.shape), axis=0)
    for j in np.flatnonzero((np.diff(sorted_a, axis=0) == 0).any(axis=0)):     # columns with ties
        col = sorted_a[:, j]
        starts = np.r_[0, np.flatnonzero(np.diff(col)) + 1]
        ends = np.r_[starts[1:], len(col)]
        ranks[order[:, j], j] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def unit_aurocs(acts, labels) -> np.ndarray:
    """:func:`auroc` of every unit at once: acts (T, H) and labels (T,) -> (H,); labels (L, T), L
    kinds of character at once, -> (L, H). The ranks are computed once per unit."""
    acts = np.asarray(acts, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    if acts.ndim != 2 or y.shape[-1] != len(acts):
        raise ValueError(f"acts, labels: expected (T, H) and (T,) or (L, T), got {acts.shape} and {y.shape}")
    ranks = _average_ranks(acts)
    y2 = np.atleast_2d(y)
    n1 = y2.sum(axis=1).astype(np.float64)[:, None]
    n0 = len(acts) - n1
    if np.any(n1 == 0) or np.any(n0 == 0):
        raise ValueError("labels: expected both classes")
    out = (y2.astype(np.float64) @ ranks - n1 * (n1 + 1) / 2.0) / (n1 * n0)
    return out if y.ndim == 2 else out[0]
