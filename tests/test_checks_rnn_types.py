"""companion.checks.rnn_types: the right answer passes, each slip is named, a stub fails."""
import numpy as np
import pytest

from companion.checks import rnn_types as C


def many_to_one(x, lengths, rnn, head):
    out, _ = rnn(x)
    return head(out[np.asarray(lengths) - 1, np.arange(x.shape[1])])[1]


def one_to_many(x, rnn, head, T):
    h, x_t, ys = None, x, []
    for _ in range(T):
        out, h = rnn(x_t[None], h)
        x_t = head(out[0])[1]
        ys.append(x_t)
    return np.stack(ys)


def encoder_decoder(x, encoder, decoder, head, T_y):
    _, context = encoder(x)
    out, _ = decoder(np.zeros((T_y, x.shape[1], decoder.input_size)), context)
    return head(out)[1]


@pytest.mark.parametrize("check, right", [(C.check_many_to_one, many_to_one),
                                          (C.check_one_to_many, one_to_many),
                                          (C.check_encoder_decoder, encoder_decoder)])
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
    assert "expected" in text and "got" in text
    return text.split("hint: ")[1]


def test_many_to_one_slips():
    assert "after the padding" in _hint(C.check_many_to_one(lambda x, n, rnn, head: head(rnn(x)[0][-1])[1]))
    assert "first step" in _hint(C.check_many_to_one(lambda x, n, rnn, head: head(rnn(x)[0][0])[1]))
    logits = lambda x, n, rnn, head: head(rnn(x)[0][np.asarray(n) - 1, np.arange(x.shape[1])])[0]
    assert "logits" in _hint(C.check_many_to_one(logits))
    every_step = lambda x, n, rnn, head: head(rnn(x)[0])[1]
    fb = C.check_many_to_one(every_step)
    assert not fb and "expected shape" in str(fb)


def test_encoder_decoder_slips():
    def no_context(x, encoder, decoder, head, T_y):
        out, _ = decoder(np.zeros((T_y, x.shape[1], decoder.input_size)))
        return head(out)[1]

    def logits(x, encoder, decoder, head, T_y):
        out, _ = decoder(np.zeros((T_y, x.shape[1], decoder.input_size)), encoder(x)[1])
        return head(out)[0]
    assert "context" in _hint(C.check_encoder_decoder(no_context))
    assert "logits" in _hint(C.check_encoder_decoder(logits))


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
