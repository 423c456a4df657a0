"""Checks for the exercises of "Applications" (chapter 10: sequence classification and tagging).

Signatures the exercises ask for (numpy in, numpy out; no torch needed):

* ``masked_cross_entropy(logits, tags) -> float``: logits (B, T, K), tags (B, T) with -100 at the
  padding; the mean of -log softmax(o_t)[tag] over the real (not padded) tokens of the batch
* ``bag_must_agree(x_a, x_b, n) -> (B,) bool``: left-padded token rows (B, T), 0 = ``<pad>``;
  True where every bag of n-grams (the mean of the n-grams' vectors, padding left out) must give
  the two rows the same answer, whatever its weights: their n-gram *frequencies* are equal
* ``answer_changes(predict, x) -> (rate, reads_order)``: reverse the words of every left-padded
  review (the padding stays on the left), the fraction of reviews whose predicted class changes,
  and the conclusion ``rate > 0`` (the model's answer depends on the order of the words)

Each check draws fresh random inputs on every call, compares with its own answer (the
``reference_*`` functions below, which an answer may not call) and names the likely slip (see
:mod:`companion.checks.core`).
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from ..activations import cross_entropy
from .core import (
    Answer,
    Exercise,
    Feedback,
    Wrong,
    grading_check,
    hidden_cases,
    make_rng,
    registry,
    run_check,
    single,
    size,
    torch_function,
    tuple_of,
)

__all__ = ["check_masked_cross_entropy", "check_bag_must_agree", "check_answer_changes",
           "reference_masked_cross_entropy", "reference_bag_must_agree", "reference_answer_changes", "CHECKS"]


def _scalar(r, case):
    return {"value": np.asarray(float(r))}


# --------------------------------------------------------------------------- the masked loss

def _nll(lo, tg):
    """-log softmax(o)[tag] at every position (0 at the padding), stable for large scores."""
    shifted = lo - lo.max(-1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    return -np.take_along_axis(logp, np.where(tg == -100, 0, tg)[..., None], -1)[..., 0] * (tg != -100)


def reference_masked_cross_entropy(logits, tags):
    """The check's own answer: the mean over the real tokens of -log softmax(o_t)[tag]."""
    return float(_nll(logits, tags).sum() / (tags != -100).sum())


def _masked_case(rng, far=False):
    B, T, K = size(rng, 3, 6), size(rng, 4, 8), size(rng, 3, 6)
    logits = rng.normal(0, 2, (B, T, K))
    tags = rng.integers(0, K, (B, T))
    lengths = rng.integers(1, T + 1, B)
    lengths[0], lengths[1] = T, int(rng.integers(1, T))   # one sequence full, one padded (tagging: on the right)
    for b in range(B):
        tags[b, lengths[b]:] = -100
    if far:           # one true class scored far below the best: its softmax underflows to 0
        logits[0, 0, tags[0, 0]] -= 800.0
    return (logits, tags)


@grading_check
def check_masked_cross_entropy(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``masked_cross_entropy(logits, tags)``: the mean of -log softmax(o_t)[tag_t] over the
    real tokens (tag != -100) of the whole batch, what ``training.fit`` minimises for tagging."""
    rng = make_rng(seed)
    cases = [_masked_case(rng) for _ in range(3)] + [_masked_case(rng, far=True)]
    ref = lambda lo, tg: {"value": np.asarray(reference_masked_cross_entropy(lo, tg))}

    def per_sentence(lo, tg):
        real = tg != -100
        return {"value": np.asarray((_nll(lo, tg).sum(1) / real.sum(1)).mean())}

    def log_of_softmax(lo, tg):
        e = np.exp(lo - lo.max(-1, keepdims=True))
        p = np.take_along_axis(e / e.sum(-1, keepdims=True), np.where(tg == -100, 0, tg)[..., None], -1)[..., 0]
        real = tg != -100
        return {"value": np.asarray(-np.log(p[real]).mean())}

    slips = [("you divided by every position, padding included: average over the real tokens (tag != -100) only",
              lambda lo, tg: {"value": np.asarray(_nll(lo, tg).sum() / tg.size)}),
             ("you averaged per sentence, then over sentences: average over all real tokens of the batch "
              "at once (a long sentence weighs more)", per_sentence),
             ("you summed over time and averaged over the sentences: the loss of a padded batch is the mean "
              "over its real tokens", lambda lo, tg: {"value": np.asarray(_nll(lo, tg).sum(1).mean())}),
             ("you summed the losses: the loss is their mean over the real tokens",
              lambda lo, tg: {"value": np.asarray(_nll(lo, tg).sum())}),
             ("log(softmax) gives log 0 = -inf where a probability underflows: use log-softmax, "
              "o_k - max(o) - log sum_j exp(o_j - max(o))", log_of_softmax)]
    with np.errstate(all="ignore"):
        return run_check("masked cross-entropy", fn, cases, _scalar, ref, slips,
                         forbid=(cross_entropy, reference_masked_cross_entropy,
                                 torch_function("nn.functional.cross_entropy"),
                                 torch_function("nn.functional.nll_loss")))


# --------------------------------------------------------------------------- what a bag cannot see

def _grams(row, n):
    words = [int(t) for t in row if t != 0]
    return Counter(tuple(words[k:k + n]) for k in range(len(words) - n + 1))


def _same_frequencies(a, b):
    na, nb = sum(a.values()), sum(b.values())
    return set(a) == set(b) and all(a[g] * nb == b[g] * na for g in a)


def reference_bag_must_agree(x_a, x_b, n):
    """The check's own answer: for each pair of rows, whether their n-grams (of the words, the
    padding left out) occur with the same frequencies, so that their mean n-gram vectors are equal."""
    return np.array([_same_frequencies(_grams(a, n), _grams(b, n)) for a, b in zip(x_a, x_b, strict=True)])


def _left_pad(words, T):
    return np.array([0] * (T - len(words)) + list(words))


def _bag_case(rng, n):
    """Pairs of left-padded rows: two words swapped between equal blocks of n - 1 words (the same
    n-grams in another order), the words shuffled, repeated twice, one word added, the same,
    another review; so that each slip answers some pair differently."""
    T, V = size(rng, 8, 12), size(rng, 4, 7)
    kinds = ["swapped", "shuffled", "twice", "one more", "same", "other", "twice"]
    kinds += list(rng.choice(kinds, size(rng, 1, 3)))
    x_a, x_b = [], []
    for kind in rng.permutation(kinds):
        L = int(rng.integers(n + 1, T // 2 + 1))
        a = list(rng.integers(1, V, L))
        if kind == "swapped":          # P x P y P and P y P x P: "good but not fun", "not fun but good"
            P, (u, v) = list(rng.integers(1, V, n - 1)), rng.choice(np.arange(1, V), 2, replace=False)
            a, b = P + [u] + P + [v] + P, P + [v] + P + [u] + P
        elif kind == "shuffled":
            b = list(rng.permutation(a))
        elif kind == "twice":
            b = a + a
        elif kind == "one more":
            b = a + [a[int(rng.integers(0, L))]]
        elif kind == "same":
            b = list(a)
        else:
            b = list(rng.integers(1, V, int(rng.integers(n + 1, T + 1))))
        x_a.append(_left_pad(a, T))
        x_b.append(_left_pad(b, T))
    return (np.stack(x_a), np.stack(x_b), n)


def _bag_slip(x_a, x_b, n, *, same=None, grams=None):
    return {"agree": np.array([same(grams(a), grams(b)) for a, b in zip(x_a, x_b, strict=True)])}


@grading_check
def check_bag_must_agree(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``bag_must_agree(x_a, x_b, n)``: True where the two rows' n-grams of words (padding
    left out) have the same frequencies, so the mean of their n-gram vectors is the same."""
    rng = make_rng(seed)
    ns = (2, 3, 1, 3) if hidden_cases() else (1, 2, 2, 1)
    cases = [_bag_case(rng, n) for n in ns]
    ref = lambda xa, xb, n: {"agree": reference_bag_must_agree(xa, xb, n)}
    freq = _same_frequencies
    slips = [("you compared the sets of n-grams: the mean also depends on how often each occurs "
              "(a review with one word more has other frequencies)",
              lambda xa, xb, n: _bag_slip(xa, xb, n, same=lambda a, b: set(a) == set(b),
                                          grams=lambda r: _grams(r, n))),
             ("you compared the counts (counting <pad> as a word does the same: the rows are equally long): "
              "the mean divides by the number of n-grams of the words (for single words, a review repeated "
              "twice has the same mean as the review); compare frequencies, the padding left out",
              lambda xa, xb, n: _bag_slip(xa, xb, n, same=lambda a, b: a == b, grams=lambda r: _grams(r, n))),
             ("you compared single words whatever n: a bag of n-grams sees the n words in a row",
              lambda xa, xb, n: _bag_slip(xa, xb, n, same=freq, grams=lambda r: _grams(r, 1))),
             ("you compared the rows word for word: a bag throws the order away, a shuffled review "
              "can have the same n-grams",
              lambda xa, xb, n: {"agree": (xa == xb).all(1)})]
    return run_check("what a bag of n-grams cannot tell apart", fn, cases, single("agree"), ref, slips,
                     forbid=(reference_bag_must_agree,))


# --------------------------------------------------------------------------- the experiment

class _Model:
    """A tiny many-to-one classifier of left-padded token rows (numpy): ``model(x) -> logits``.

    ``kind``: "bag" (the mean of the words' vectors, the padding left out, a tanh layer, the
    output layer: the order cannot matter), "rnn" (a tanh RNN reading every token, the padding
    included, the head on h_T), "last" (the scores of the last token only)."""

    def __init__(self, kind, params):
        self.kind, self.params = kind, params

    def __call__(self, x):
        x = np.asarray(x)
        p = self.params
        if self.kind == "bag":
            counts = np.stack([np.bincount(row, minlength=len(p["E"])) for row in x]).astype(float)
            counts[:, 0] = 0.0                                 # <pad> is left out
            h = np.tanh((counts @ p["E"]) / counts.sum(1, keepdims=True) @ p["W"].T)
        elif self.kind == "rnn":
            h = np.zeros((len(x), p["W"].shape[0]))
            for t in range(x.shape[1]):
                h = np.tanh(p["U"][:, x[:, t]].T + h @ p["W"].T)
        else:
            return p["M"][x[:, -1]]
        return h @ p["V"].T


def _reverse_words(x):
    out = x.copy()
    for b, row in enumerate(x):
        real = row != 0
        out[b, real] = row[real][::-1]
    return out


def reference_answer_changes(predict, x):
    """The check's own answer: the fraction of rows whose predicted class changes when their words
    are reversed (the padding kept on the left), and whether any does."""
    before, after = predict(x).argmax(-1), predict(_reverse_words(x)).argmax(-1)
    rate = float((before != after).mean())
    return rate, rate > 0


def _reviews(rng, B, T, V):
    x = np.zeros((B, T), dtype=np.int64)
    for b in range(B):
        L = T if b < 2 else int(rng.integers(2, T + 1))        # some full rows, most padded
        x[b, T - L:] = rng.integers(1, V, L)
    return x


def _experiment_case(rng, kind):
    B, T, V, K, H = size(rng, 16, 24), size(rng, 4, 7), size(rng, 5, 8), size(rng, 2, 4), size(rng, 3, 5)
    x = _reviews(rng, B, T, V)
    for _ in range(50):     # a model whose answers change on some reviews but not all (bag: on none)
        params = {"bag": lambda: {"E": rng.normal(0, 1.5, (V, H)), "W": rng.normal(0, 1, (H, H)),
                                  "V": rng.normal(0, 1, (K, H))},
                  "rnn": lambda: {"U": rng.normal(0, 1.2, (H, V)), "W": rng.normal(0, 0.9, (H, H)),
                                  "V": rng.normal(0, 1, (K, H))},
                  "last": lambda: {"M": rng.normal(0, 1, (V, K))}}[kind]()
        model = _Model(kind, params)
        rate, _ = reference_answer_changes(model, x)
        whole_row = float((model(x).argmax(-1) != model(x[:, ::-1]).argmax(-1)).mean())
        if kind == "bag" or (0 < rate < 1 and whole_row != rate):   # and reversing the padding too shows
            break
    return (model, x)


@grading_check
def check_answer_changes(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``answer_changes(predict, x) -> (rate, reads_order)``: reverse each row's words (the
    padding stays on the left), the fraction of rows whose argmax class changes, and rate > 0."""
    rng = make_rng(seed)
    cases = [_experiment_case(rng, kind) for kind in ("rnn", "bag", "last", "rnn")]

    def ref(predict, x):
        rate, reads = reference_answer_changes(predict, x)
        return {"rate": np.asarray(rate), "reads_order": np.asarray(float(reads))}

    def concluded(rate):
        return {"rate": np.asarray(rate), "reads_order": np.asarray(float(rate > 0))}

    def changed(predict, x, reversed_x):
        return predict(x).argmax(-1) != predict(reversed_x).argmax(-1)

    whole_row = lambda predict, x: concluded(float(changed(predict, x, x[:, ::-1]).mean()))
    scores = lambda predict, x: concluded(float((predict(x) != predict(_reverse_words(x))).any(-1).mean()))
    count = lambda predict, x: concluded(float(changed(predict, x, _reverse_words(x)).sum()))

    def contradicts(predict, x):
        rate, reads = reference_answer_changes(predict, x)
        return {"rate": np.asarray(rate), "reads_order": np.asarray(float(not reads))}

    slips = [("you reversed the padding too: the reviews are padded on the left; keep <pad> (token 0) there and "
              "reverse only the words", whole_row),
             ("you counted the reviews whose scores change: count those whose answer (the class with the "
              "largest score) changes", scores),
             ("you returned the number of reviews whose answer changed: divide by the number of reviews", count),
             ("your conclusion contradicts your own measurement: the model's answer depends on the order "
              "exactly when some answer changed (rate > 0)", contradicts)]
    return run_check("does the answer depend on the word order?", fn, cases,
                     tuple_of("rate", "reads_order"), ref, slips, forbid=(reference_answer_changes,))


# --------------------------------------------------------------------------- what a test needs
# Written as a student would, with numpy only: not with the references or the slips above.


def _masked_cross_entropy(logits, tags):
    real = tags != -100
    o = logits[real]                                   # (N, K): the real tokens only
    o = o - o.max(-1, keepdims=True)
    log_p = o - np.log(np.exp(o).sum(-1, keepdims=True))
    return float(-log_p[np.arange(len(o)), tags[real]].mean())


def _masked_cross_entropy_all(logits, tags):
    real = tags != -100
    o = logits - logits.max(-1, keepdims=True)
    log_p = o - np.log(np.exp(o).sum(-1, keepdims=True))
    picked = np.take_along_axis(log_p, np.where(real, tags, 0)[..., None], -1)[..., 0]
    return float(-(picked * real).sum() / tags.size)


def _frequencies(row, n):
    words = [t for t in row if t != 0]
    grams = [tuple(words[k:k + n]) for k in range(len(words) - n + 1)]
    return {g: grams.count(g) / len(grams) for g in set(grams)}


def _bag_must_agree(x_a, x_b, n):
    return np.array([_frequencies(a, n) == _frequencies(b, n) for a, b in zip(x_a, x_b, strict=True)])


def _bag_sets(x_a, x_b, n):
    return np.array([set(_frequencies(a, n)) == set(_frequencies(b, n)) for a, b in zip(x_a, x_b, strict=True)])


def _answer_changes(predict, x):
    flipped = x.copy()
    for b in range(len(x)):
        words = x[b] != 0
        flipped[b, words] = x[b, words][::-1]
    rate = np.mean(predict(x).argmax(-1) != predict(flipped).argmax(-1))
    return float(rate), bool(rate > 0)


def _answer_changes_whole_row(predict, x):
    rate = np.mean(predict(x).argmax(-1) != predict(x[:, ::-1]).argmax(-1))
    return float(rate), bool(rate > 0)


#: the checks of this module: each with a correct answer, hand-written wrong ones and one that
#: calls the function the check forbids
CHECKS = registry(
    Exercise(check_masked_cross_entropy, _masked_cross_entropy,
             (Wrong(_masked_cross_entropy_all, "padding included"),),
             chapter="10", kind="apply", points=2,
             skill="the tagging loss of a padded batch: the mean cross-entropy over its real tokens, stable",
             copying=lambda lo, tg: float(cross_entropy(lo[tg != -100], tg[tg != -100]))),
    Exercise(check_bag_must_agree, _bag_must_agree,
             (Wrong(_bag_sets, "sets of n-grams"),
              Wrong(lambda xa, xb, n: _bag_must_agree(xa, xb, 1), "single words whatever n")),
             chapter="10", kind="transfer", points=3,
             skill="what a bag of words (or of n-grams) cannot tell apart: equal n-gram frequencies, "
                   "whatever its weights",
             copying=lambda xa, xb, n: reference_bag_must_agree(xa, xb, n)),
    Exercise(check_answer_changes, _answer_changes,
             (Wrong(_answer_changes_whole_row, "reversed the padding too"),
              Wrong(lambda p, x: (_answer_changes(p, x)[0], True), "contradicts your own measurement")),
             chapter="10", kind="experiment", points=3,
             skill="measure whether a classifier reads the word order: reverse the words, count the changed "
                   "answers, conclude from the count",
             copying=lambda p, x: reference_answer_changes(p, x)),
)
