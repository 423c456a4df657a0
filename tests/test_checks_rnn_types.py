"""companion.checks.rnn_types: the hand-written answers pass, each slip is named (wrong answers written
here by hand). What every check must do is in tests/test_checks.py."""
import numpy as np
import pytest

from companion.checks import rnn_types as C

from check_helpers import hint_of


@pytest.mark.parametrize("name", ["check_many_to_one", "check_one_to_many", "check_encoder_decoder"])
def test_hand_written_answer_passes(name):
    check, right = getattr(C, name), C.CHECKS[name].solution
    fb = check(right)
    assert fb and str(fb).startswith("PASSED"), str(fb)


_hint = hint_of


def test_many_to_one_slips():
    assert "after the padding" in _hint(C.check_many_to_one(lambda x, n, rnn, head: head(rnn(x)[0][-1])[1]))
    assert "first step" in _hint(C.check_many_to_one(lambda x, n, rnn, head: head(rnn(x)[0][0])[1]))
    def logits(x, n, rnn, head):
        return head(rnn(x)[0][np.asarray(n) - 1, np.arange(x.shape[1])])[0]

    def every_step(x, n, rnn, head):
        return head(rnn(x)[0])[1]

    assert "logits" in _hint(C.check_many_to_one(logits))
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
