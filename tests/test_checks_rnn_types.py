"""companion.checks.rnn_types: the right answer passes, each slip is named, a stub fails."""
import numpy as np
import pytest

from companion.checks import rnn_types as C


def many_to_one(x, rnn, head):
    out, h_n = rnn(x)
    return head(h_n[0])[1]


def many_to_many(x, rnn, head):
    out, _ = rnn(x)
    return head(out)[1]


def one_to_many(x, rnn, head, T):
    h, x_t, ys = None, x, []
    for _ in range(T):
        out, h = rnn(x_t[None], h)
        x_t = head(out[0])[1]
        ys.append(x_t)
    return np.stack(ys)


@pytest.mark.parametrize("check, right", [(C.check_many_to_one, many_to_one),
                                          (C.check_many_to_many, many_to_many),
                                          (C.check_one_to_many, one_to_many)])
def test_right_answer_passes_and_stub_fails(check, right):
    fb = check(right)
    assert fb and str(fb).startswith("PASSED"), str(fb)

    def stub(*a):
        raise NotImplementedError()
    assert not check(stub) and "not implemented yet" in str(check(stub))
    assert not check("not a function")


def _hint(fb):
    text = str(fb)
    assert not fb and "hint: " in text, text
    return text.split("hint: ")[1]


def test_many_to_one_slips():
    assert "first step" in _hint(C.check_many_to_one(lambda x, rnn, head: head(rnn(x)[0][0])[1]))
    assert "averaged" in _hint(C.check_many_to_one(lambda x, rnn, head: head(rnn(x)[0].mean(0))[1]))
    assert "logits" in _hint(C.check_many_to_one(lambda x, rnn, head: head(rnn(x)[0][-1])[0]))
    fb = C.check_many_to_one(many_to_many)      # every step instead of the last one
    assert not fb and "expected shape" in str(fb)


def test_many_to_many_slips():
    assert "logits" in _hint(C.check_many_to_many(lambda x, rnn, head: head(rnn(x)[0])[0]))


def _gen(feed, keep_state=True):
    def f(x, rnn, head, T):
        h, x_t, ys = None, x, []
        for _ in range(T):
            out, h2 = rnn(x_t[None], h)
            h = h2 if keep_state else None
            o, y = head(out[0])
            ys.append(y)
            x_t = feed(x, o, y)
        return np.stack(ys)
    return f


@pytest.mark.parametrize("feed, keep, hint", [
    (lambda x0, o, y: x0, True, "same x"),
    (lambda x0, o, y: np.zeros_like(y), True, "zeros"),
    (lambda x0, o, y: o, True, "logits"),
    (lambda x0, o, y: y, False, "carry over"),
])
def test_one_to_many_slips(feed, keep, hint):
    assert hint in _hint(C.check_one_to_many(_gen(feed, keep)))
