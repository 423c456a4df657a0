"""The checks of chapter 10 (``companion.checks.applications``): each named slip is recognised (wrong
answers written here by hand), and the experiment's private models behave as the exercise says. What
every check must do is in tests/test_checks.py and tests/test_exercises.py."""
import numpy as np
import pytest

from companion.checks import applications as ct

from check_helpers import hint_of

# --------------------------------------------------------------------------- masked cross-entropy

def _log_softmax(o):
    o = o - o.max(-1, keepdims=True)
    return o - np.log(np.exp(o).sum(-1, keepdims=True))


def _picked(lo, tg):
    """-log p(tag) at every position, 0 at the padding."""
    real = tg != -100
    nll = -np.take_along_axis(_log_softmax(lo), np.where(real, tg, 0)[..., None], -1)[..., 0]
    return nll * real, real


def _ce_over_everything(lo, tg):
    nll, real = _picked(lo, tg)
    return float(nll.sum() / tg.size)


def _ce_per_sentence(lo, tg):
    nll, real = _picked(lo, tg)
    return float(np.mean(nll.sum(1) / real.sum(1)))


def _ce_sum_over_time(lo, tg):
    nll, real = _picked(lo, tg)
    return float(nll.sum(1).mean())


def _ce_sum(lo, tg):
    return float(_picked(lo, tg)[0].sum())


def _ce_log_of_softmax(lo, tg):
    real = tg != -100
    e = np.exp(lo[real] - lo[real].max(-1, keepdims=True))
    p = e / e.sum(-1, keepdims=True)
    with np.errstate(divide="ignore"):
        return float(-np.log(p[np.arange(len(p)), tg[real]]).mean())


# --------------------------------------------------------------------------- bag of n-grams

def _grams(row, n, drop_pad=True):
    words = [t for t in row if t != 0] if drop_pad else list(row)
    return [tuple(words[k:k + n]) for k in range(len(words) - n + 1)]


def _freq(grams):
    return {g: grams.count(g) / len(grams) for g in set(grams)}


def _pairs(x_a, x_b, same):
    return np.array([same(a, b) for a, b in zip(x_a, x_b, strict=True)])


def _bag_sets(x_a, x_b, n):
    return _pairs(x_a, x_b, lambda a, b: set(_grams(a, n)) == set(_grams(b, n)))


def _bag_counts(x_a, x_b, n):
    return _pairs(x_a, x_b, lambda a, b: sorted(_grams(a, n)) == sorted(_grams(b, n)))


def _bag_with_pad(x_a, x_b, n):
    return _pairs(x_a, x_b, lambda a, b: _freq(_grams(a, n, False)) == _freq(_grams(b, n, False)))


def _bag_unigrams(x_a, x_b, n):
    return _pairs(x_a, x_b, lambda a, b: _freq(_grams(a, 1)) == _freq(_grams(b, 1)))


def _bag_in_order(x_a, x_b, n):
    return np.all(x_a == x_b, axis=1)


# --------------------------------------------------------------------------- reversing the words

def _reverse(x):
    out = x.copy()
    for b in range(len(x)):
        k = np.count_nonzero(x[b] == 0)
        out[b, k:] = x[b, k:][::-1]
    return out


def _changes_whole_row(predict, x):
    rate = np.mean(predict(x).argmax(1) != predict(np.flip(x, 1)).argmax(1))
    return rate, rate > 0


def _changes_scores(predict, x):
    rate = np.mean(np.any(predict(x) != predict(_reverse(x)), axis=1))
    return rate, rate > 0


def _changes_count(predict, x):
    n = int(np.sum(predict(x).argmax(1) != predict(_reverse(x)).argmax(1)))
    return n, n > 0


def _changes_always_yes(predict, x):
    return float(np.mean(predict(x).argmax(1) != predict(_reverse(x)).argmax(1))), True


SLIPS = [
    ("masked_cross_entropy", _ce_over_everything, "padding included"),
    ("masked_cross_entropy", _ce_per_sentence, "per sentence"),
    ("masked_cross_entropy", _ce_sum_over_time, "summed over time and averaged over the sentences"),
    ("masked_cross_entropy", _ce_sum, "you summed the losses"),
    ("masked_cross_entropy", _ce_log_of_softmax, "log(softmax)"),
    ("bag_must_agree", _bag_sets, "sets of n-grams"),
    ("bag_must_agree", _bag_counts, "compared the counts"),
    ("bag_must_agree", _bag_with_pad, "counting <pad> as a word"),
    ("bag_must_agree", _bag_unigrams, "single words whatever n"),
    ("bag_must_agree", _bag_in_order, "word for word"),
    ("answer_changes", _changes_whole_row, "reversed the padding too"),
    ("answer_changes", _changes_scores, "scores change"),
    ("answer_changes", _changes_count, "divide by the number of reviews"),
    ("answer_changes", _changes_always_yes, "contradicts your own measurement"),
]


@pytest.mark.parametrize("name, slip, hint", SLIPS, ids=[f"{n}-{h}" for n, _, h in SLIPS])
@pytest.mark.parametrize("hidden", [False, True])
def test_slip_is_named(name, slip, hint, hidden):
    for seed in range(4):
        assert hint in hint_of(ct.CHECKS[f"check_{name}"](slip, seed=seed, hidden=hidden))


def test_a_scalar_of_the_wrong_form_is_reported():
    fb = ct.check_masked_cross_entropy(lambda lo, tg: np.zeros(2))
    assert not fb and "could not read your result" in str(fb)


def test_the_bag_model_cannot_read_the_order_and_the_others_do():
    """The experiment's private models: the bag's answers never change when the words are reversed;
    the RNN's and the last-word model's change on some reviews, not all (drawn so)."""
    rng = np.random.default_rng(0)
    for kind in ("bag", "rnn", "last"):
        for _ in range(5):
            model, x = ct._experiment_case(rng, kind)
            assert (model(x) == model(_reverse(x))).all() if kind == "bag" else \
                0 < ct.reference_answer_changes(model, x)[0] < 1


def test_the_bigrams_separate_what_the_words_cannot():
    """The chapter's probe pair: the same words in another order; a bag of words must agree, a bag of
    bigrams need not."""
    vocab = "<pad> good but not fun".split()

    def ids(s):
        return [0] * 2 + [vocab.index(w) for w in s.split()]
    x_a, x_b = np.array([ids("good but not fun")]), np.array([ids("not fun but good")])
    assert ct.reference_bag_must_agree(x_a, x_b, 1).tolist() == [True]
    assert ct.reference_bag_must_agree(x_a, x_b, 2).tolist() == [False]
    twice = np.array([[vocab.index(w) for w in "good fun good fun".split()]])
    once = np.array([[0, 0] + [vocab.index(w) for w in "good fun".split()]])
    assert ct.reference_bag_must_agree(twice, once, 1).tolist() == [True]    # the mean, not the counts


def test_torch_cross_entropy_is_refused():
    """torch's cross_entropy with ignore_index=-100 does the exercise's job: refused, like companion's."""
    torch = pytest.importorskip("torch")

    def with_torch(lo, tg):
        return float(torch.nn.functional.cross_entropy(torch.from_numpy(lo).reshape(-1, lo.shape[-1]),
                                                       torch.from_numpy(tg).reshape(-1), ignore_index=-100))

    fb = ct.check_masked_cross_entropy(with_torch, seed=0)
    assert not fb and "already does this exercise's job" in str(fb)
    fb = ct.check_masked_cross_entropy(lambda lo, tg: float(torch.nn.CrossEntropyLoss()(
        torch.from_numpy(lo[tg != -100]), torch.from_numpy(tg[tg != -100]))), seed=0)
    assert not fb and "already does this exercise's job" in str(fb)
