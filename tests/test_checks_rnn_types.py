"""companion.checks.rnn_types: the hand-written answers pass, each slip is named (wrong answers written
here by hand), the references agree with companion's seq2seq (greedy decoding) and with torch (the
padded many to one), and the functions that already do an exercise's job are refused. What every
check must do is in tests/test_checks.py."""
import numpy as np
import pytest

from companion import seq2seq
from companion.checks import rnn_types as C

from check_helpers import hint_of

REFUSED = "already does this exercise's job"
NAMES = ["check_many_to_one", "check_one_to_many", "check_encoder_decoder", "check_greedy_batch",
         "check_exposure_by_length"]


@pytest.mark.parametrize("name", NAMES)
def test_hand_written_answer_passes(name):
    check, right = getattr(C, name), C.CHECKS[name].solution
    for hidden in (False, True):
        fb = check(right, hidden=hidden)
        assert fb and str(fb).startswith("PASSED"), str(fb)


def test_chapter_03_metadata():
    kinds = {name: C.CHECKS[name].kind for name in NAMES}
    assert kinds == {"check_many_to_one": "apply", "check_one_to_many": "apply", "check_encoder_decoder": "recall",
                     "check_greedy_batch": "transfer", "check_exposure_by_length": "experiment"}
    assert all(C.CHECKS[name].chapter == "03" for name in NAMES)


_hint = hint_of


# --------------------------------------------------------------------------- many to one, one to many, enc-dec

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


def _packed(x, lengths, rnn, head):
    """torch's way: a packed batch, whose h_n is every sequence's own last state."""
    import torch
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.from_numpy(x), torch.as_tensor(lengths),
                                                     enforce_sorted=False)
    _, h_n = rnn.to_torch()(packed)
    return head(h_n[0].detach().numpy())[1]


def test_many_to_one_refuses_the_reference_and_torchs_packing():
    pytest.importorskip("torch")
    x, lengths, rnn, head = C._padded_case(np.random.default_rng(0))
    assert np.allclose(_packed(x, lengths, rnn, head), C.reference_many_to_one(x, lengths, rnn, head))
    for answer, name in ((_packed, "pack_padded_sequence"),
                         (lambda *a: C.reference_many_to_one(*a), "reference_many_to_one")):
        fb = C.check_many_to_one(answer)
        assert not fb and REFUSED in str(fb) and name in str(fb), str(fb)


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
    (lambda x0, o, y: np.eye(y.shape[-1])[y.argmax(-1)], True, "one-hot"),
    (lambda x0, o, y: y, False, "carry over"),
])
def test_one_to_many_slips(feed, keep, hint):
    assert hint in _hint(C.check_one_to_many(_gen(feed, keep)))


@pytest.mark.parametrize("name, call", [
    ("check_many_to_one", "reference_many_to_one"), ("check_one_to_many", "reference_one_to_many"),
    ("check_encoder_decoder", "reference_encoder_decoder"), ("check_greedy_batch", "greedy_decode"),
    ("check_exposure_by_length", "reference_exposure_by_length")])
def test_copying_is_refused(name, call):
    for hidden in (False, True):
        fb = C.CHECKS[name](C.CHECKS[name].copying, hidden=hidden)
        assert not fb and REFUSED in str(fb) and call in str(fb), str(fb)


# --------------------------------------------------------------------------- greedy decoding of a batch

def _greedy(model, src, max_len, pad=True, each=True, own=True, keep=True, context=True, start=None, end=None):
    """Greedy decoding of a batch as a student writes it, with one mistake chosen by a keyword."""
    enc, dec = model.encoder, model.decoder
    _, h_n = enc(np.eye(enc.input_size)[src])
    s = h_n if context else None
    B = src.shape[1]
    first = model.start if start is None else start
    stop = model.end if end is None else end
    w, done, rows = np.full(B, first), np.zeros(B, dtype=bool), []
    for _ in range(max_len):
        out, s_next = dec(np.eye(dec.input_size)[w][None], s)
        s = s_next if keep else s
        p = model.head(out[0])[1].argmax(-1)
        rows.append(np.where(done, stop, p) if pad else p)
        done |= p == stop
        if not each and done.any():
            done[:] = True
        w = p if own else np.full(B, first)
    return np.stack(rows)


@pytest.mark.parametrize("change, hint", [
    (dict(pad=False), "padding"),
    (dict(each=False), "each sequence stops at its own"),
    (dict(own=False), "its own previous prediction"),
    (dict(keep=False), "carry over"),
    (dict(context=False), "context"),
    (dict(start=0, end=1), "not the chapter's 0 and 1"),
])
def test_greedy_batch_slips(change, hint):
    for seed in (None, 0, 1):
        for hidden in (False, True):
            fb = C.check_greedy_batch(lambda m, s, n: _greedy(m, s, n, **change), seed=seed, hidden=hidden)
            assert hint in _hint(fb)


def test_greedy_batch_reference_is_companions_decoding_padded():
    """The reference writes what seq2seq.greedy_decode writes, followed by </s> up to max_len."""
    for seed in range(4):
        model, src, max_len = C._greedy_case(np.random.default_rng(seed))
        rows = C.reference_greedy_batch(model, src, max_len)
        out = model.decode(src, max_len=max_len)
        for b, toks in enumerate(out.tokens):
            assert list(rows[:len(toks), b]) == list(toks)
            assert (rows[len(toks):, b] == model.end).all()
            assert out.stopped[b] == (len(toks) < max_len)


def test_greedy_batch_cases_vary_what_the_chapter_fixes():
    """Source and target vocabularies of different sizes in some case, never the chapter's tokens, and
    sequences that stop at different steps: what an answer copied from the chapter's loop gets wrong."""
    cases = [C._greedy_case(np.random.default_rng(s)) for s in range(6)]
    assert any(m.encoder.input_size != m.decoder.input_size for m, _, _ in cases)
    for model, src, max_len in cases:
        assert model.start not in (0, 1) and model.end not in (0, 1)
        rows = C.reference_greedy_batch(model, src, max_len)
        stops = {int(np.argmax(rows[:, b] == model.end)) if (rows[:, b] == model.end).any() else -1
                 for b in range(src.shape[1])}
        assert len(stops) > 1


def test_greedy_batch_refuses_decode_and_greedy_decode():
    def direct(model, src, max_len):
        d = seq2seq.greedy_decode(model.encoder, model.decoder, model.head, src, start=model.start,
                                  end=model.end, max_len=max_len)
        return np.array([list(t) + [model.end] * (max_len - len(t)) for t in d.tokens]).T
    for answer in (direct, C.CHECKS["check_greedy_batch"].copying):
        fb = C.check_greedy_batch(answer)
        assert not fb and REFUSED in str(fb) and "greedy_decode" in str(fb), str(fb)
    assert C.check_greedy_batch(C.CHECKS["check_greedy_batch"].solution)      # nothing left swapped out


def test_greedy_batch_wrong_shape_is_reported():
    right = C.CHECKS["check_greedy_batch"].solution
    fb = C.check_greedy_batch(lambda m, s, n: right(m, s, n)[:-1])
    assert not fb and "expected shape" in str(fb)


# --------------------------------------------------------------------------- the experiment

def _measure(model, words, max_len, with_end=True, stop=True, backwards=True, worst="measured"):
    """The experiment as a student writes it, with one mistake chosen by a keyword."""
    tf, fr = [], []
    for src in words:
        T, n = src.shape
        tgt = src[::-1] if backwards else src
        target = np.concatenate([tgt, np.full((1, n), model.end)])
        right_tf = model.loss(src, tgt, backward=False)[1].argmax(-1) == target
        out = model.decode(src, max_len=max_len)
        right_fr = np.zeros((T + 1, n), dtype=bool)
        for b, toks in enumerate(out.tokens):
            written = [*toks, model.end] if out.stopped[b] and stop else list(toks)
            for i in range(min(len(written), T + 1)):
                right_fr[i, b] = written[i] == target[i, b]
        if not with_end:
            right_tf, right_fr = right_tf[:T], right_fr[:T]
        tf.append(right_tf.mean())
        fr.append(right_fr.mean())
    tf, fr = np.array(tf), np.array(fr)
    i = int(np.argmax(tf - fr))
    conclusion = {"measured": words[i].shape[0], "index": i, "longest": words[-1].shape[0],
                  "lowest fr": words[int(np.argmin(fr))].shape[0],
                  "reversed": words[int(np.argmax(fr - tf))].shape[0]}[worst]
    return tf, fr, conclusion


@pytest.mark.parametrize("change, hint", [
    (dict(with_end=False), "score all T_x + 1 tokens"),
    (dict(stop=False), "append model.end"),
    (dict(backwards=False), "backwards"),
    (dict(worst="index"), "not an index"),
    (dict(worst="longest"), "contradicts your own measurement"),
    (dict(worst="lowest fr"), "contradicts your own measurement"),
    (dict(worst="reversed"), "contradicts your own measurement"),
])
def test_exposure_slips(change, hint):
    for seed in (None, 0, 1):
        for hidden in (False, True):
            fb = C.check_exposure_by_length(lambda m, w, n: _measure(m, w, n, **change), seed=seed, hidden=hidden)
            assert hint in _hint(fb)


def test_exposure_measured_right_but_concluded_wrong_is_named():
    """Right tf and fr, a worst that one's own numbers contradict: the feedback says so."""
    def stubborn(model, words, max_len):
        tf, fr, worst = _measure(model, words, max_len)
        others = [w.shape[0] for w in words if w.shape[0] != worst]
        return tf, fr, others[0]
    fb = C.check_exposure_by_length(stubborn, seed=3)
    assert "contradicts your own measurement" in _hint(fb)
    assert not any(line.strip().startswith(("tf", "fr")) for line in str(fb).splitlines())   # they matched


def test_exposure_reference_agrees_with_a_hand_count():
    """On one case, count the right tokens by hand, position by position."""
    model, words, max_len = C._exposure_case(np.random.default_rng(5), first=True).args
    tf, fr, worst = C.reference_exposure_by_length(model, words, max_len)
    for i, src in enumerate(words):
        T, n = src.shape
        o = model.loss(src, src[::-1], backward=False)[1]
        out = model.decode(src, max_len=max_len)
        n_tf = n_fr = 0
        for b in range(n):
            target = list(src[::-1, b]) + [model.end]
            written = list(out.tokens[b]) + ([model.end] if out.stopped[b] else [])
            n_tf += sum(int(o[t, b].argmax()) == target[t] for t in range(T + 1))
            n_fr += sum(t < len(written) and written[t] == target[t] for t in range(T + 1))
        assert tf[i] == n_tf / (n * (T + 1)) and fr[i] == n_fr / (n * (T + 1))
    assert worst == words[int(np.argmax(tf - fr))].shape[0]


def test_exposure_cases_need_the_stop_token_and_a_measured_conclusion():
    """Each case has words that the model ends with </s> in the right place (a slip that forgets the
    stop shows), no tie for the worst length, and in the first case the worst length is neither
    the longest nor the one of the lowest fr (a conclusion guessed without measuring fails)."""
    for seed in range(4):
        rng = np.random.default_rng(seed)
        for k in range(3):
            model, words, max_len = C._exposure_case(rng, first=k == 0).args
            tf, fr = C._exposure(model, words, max_len)
            assert not np.allclose(fr, C._exposure(model, words, max_len, stop_token=False)[1])
            gaps = np.sort(tf - fr)
            assert gaps[-1] - gaps[-2] > 1e-6
            if k == 0:
                assert np.argmax(tf - fr) not in (len(words) - 1, np.argmin(fr))


def test_exposure_wrong_form_is_reported():
    right = C.CHECKS["check_exposure_by_length"].solution
    fb = C.check_exposure_by_length(lambda m, w, n: right(m, w, n)[:2])
    assert not fb and "expected a tuple (tf, fr, worst)" in str(fb)
    fb = C.check_exposure_by_length(lambda m, w, n: (*right(m, w, n)[:2], "seven"))
    assert not fb and "could not read your result" in str(fb)
