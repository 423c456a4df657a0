"""companion.seq2seq: teacher forcing reads the targets, free running reads its own predictions,
decoding stops at the end token or at max_len, gradients agree with finite differences, and bad
arguments are refused naming the argument."""
import numpy as np
import pytest

import companion
from companion import seq2seq
from companion.gradcheck import numerical_grad, relative_error
from companion.optim import Adam
from companion.seq2seq import EncoderDecoder, greedy_decode, one_hot, teacher_forced_loss, teacher_forcing_pairs

START, END = 0, 1
V, H = 6, 5


def model(seed=0, kind=companion.RNN, V_src=V, V_tgt=V, H=H):
    return (kind(V_src, H, seed=seed), kind(V_tgt, H, seed=seed + 1),
            companion.OutputHead(H, V_tgt, seed=seed + 2))


def tokens(shape, seed=0, low=2, high=V):
    return np.random.default_rng(seed).integers(low, high, size=shape)


# --------------------------------------------------------------------------- teacher forcing
def test_teacher_forcing_pairs_shift_the_target_by_one_step():
    tgt = np.array([[4, 2], [3, 5], [2, 2]])                      # (T_y = 3, B = 2)
    inputs, targets = teacher_forcing_pairs(tgt, start=START, end=END)
    assert np.array_equal(inputs, [[START, START], [4, 2], [3, 5], [2, 2]])
    assert np.array_equal(targets, [[4, 2], [3, 5], [2, 2], [END, END]])
    assert np.array_equal(inputs[1:], targets[:-1])               # step t reads the target of t - 1
    empty_in, empty_tgt = teacher_forcing_pairs(np.zeros((0, 2), int), start=START, end=END)
    assert np.array_equal(empty_in, [[START, START]]) and np.array_equal(empty_tgt, [[END, END]])


def test_teacher_forced_loss_feeds_the_true_previous_tokens():
    enc, dec, head = model()
    src, tgt = tokens((4, 3)), tokens((3, 3), seed=1)
    L, o = teacher_forced_loss(enc, dec, head, src, tgt, start=START, end=END)
    # by hand: the decoder reads <s>, y(1), ..., y(T_y), starting from the encoder's last state
    _, context = enc(np.eye(V)[src])
    s, _ = dec(np.eye(V)[np.concatenate([np.full((1, 3), START), tgt])], context)
    o_ref, y_hat = head(s)
    targets = np.concatenate([tgt, np.full((1, 3), END)])
    L_ref = -np.log(np.take_along_axis(y_hat, targets[..., None], -1)).sum() / 3
    assert o.shape == (4, 3, V) and np.allclose(o, o_ref) and np.isclose(L, L_ref)


def test_teacher_forcing_uses_the_targets_not_the_predictions():
    enc, dec, head = model()
    src, tgt = tokens((4, 3)), tokens((3, 3), seed=1)
    _, o = teacher_forced_loss(enc, dec, head, src, tgt, start=START, end=END, backward=False)
    changed = tgt.copy()
    changed[1] = np.where(changed[1] == 2, 3, 2)                   # another y(2) in every sequence
    _, o2 = teacher_forced_loss(enc, dec, head, src, changed, start=START, end=END, backward=False)
    assert np.allclose(o[:2], o2[:2])                              # steps 1, 2 read <s>, y(1)
    assert not np.allclose(o[2], o2[2])                            # step 3 reads y(2): the target
    assert not np.allclose(o[3], o2[3])                            # and the state carries it on


@pytest.mark.parametrize("kind", [companion.RNN, companion.LSTM, companion.GRU])
def test_teacher_forced_gradients_match_finite_differences(kind):
    enc, dec, head = model(kind=kind, V_src=4, V_tgt=4, H=3)      # small: every parameter is checked
    src, tgt = tokens((3, 2), high=4), tokens((2, 2), seed=1, high=4)
    teacher_forced_loss(enc, dec, head, src, tgt, start=START, end=END)
    grads = {("enc", k): g.copy() for k, g in enc.grads.items()}
    grads |= {("dec", k): g.copy() for k, g in dec.grads.items()}
    grads |= {("head", k): g.copy() for k, g in head.grads.items()}
    parts = {"enc": enc, "dec": dec, "head": head}

    def f():
        return teacher_forced_loss(enc, dec, head, src, tgt, start=START, end=END, backward=False)[0]

    for (part, name), g in grads.items():
        num = numerical_grad(f, parts[part].params[name])
        assert relative_error(g, num) < 1e-6, (part, name)         # the encoder's too: via the context


# --------------------------------------------------------------------------- free running
def scripted(next_token, K=V):
    """A model whose decoder emits next_token[w] after reading token w, whatever the context."""
    enc, dec, head = model(H=K, V_tgt=K)
    for p in (*dec.params.values(), *head.params.values()):
        p[...] = 0.0
    for w, nxt in next_token.items():
        dec.params["weight_ih_l0"][nxt, w] = 10.0                  # reading w lights unit nxt
    head.params["V"][...] = np.eye(K)                              # and the head picks that unit
    return enc, dec, head


def test_decoding_stops_at_the_end_token():
    enc, dec, head = scripted({START: 2, 2: 3, 3: END, END: 4, 4: 4})
    src = tokens((4, 2))
    out = greedy_decode(enc, dec, head, src, start=START, end=END, max_len=50)
    assert out.stopped.tolist() == [True, True]
    assert [t.tolist() for t in out.tokens] == [[2, 3], [2, 3]]    # <s> -> 2 -> 3 -> </s>: T_y = 2


def test_decoding_respects_max_len():
    enc, dec, head = scripted({START: 2, 2: 3, 3: 2})              # never emits </s>
    src = tokens((4, 2))
    for max_len in (1, 2, 5):
        out = greedy_decode(enc, dec, head, src, start=START, end=END, max_len=max_len)
        assert not out.stopped.any()
        assert [len(t) for t in out.tokens] == [max_len, max_len]
    assert greedy_decode(enc, dec, head, src, start=START, end=END, max_len=5).tokens[0].tolist() == [2, 3, 2, 3, 2]
    # the end token counts as a step: a 2-token output needs max_len >= 3 to stop
    enc, dec, head = scripted({START: 2, 2: 3, 3: END})
    assert not greedy_decode(enc, dec, head, src, start=START, end=END, max_len=2).stopped.any()
    assert greedy_decode(enc, dec, head, src, start=START, end=END, max_len=3).stopped.all()


def free_running_by_hand(enc, dec, head, src, max_len):
    """One sequence at a time: the decoder reads its own previous prediction."""
    _, s = enc(np.eye(enc.input_size)[src[:, None]])
    w, out = START, []
    for _ in range(max_len):
        h_t, s = dec(np.eye(dec.input_size)[[[w]]], s)
        w = int(head(h_t[0, 0])[0].argmax())
        if w == END:
            return out, True
        out.append(w)
    return out, False


def test_batched_decoding_equals_one_sequence_at_a_time():
    enc, dec, head = model(seed=6)
    for p in (*enc.params.values(), *dec.params.values()):
        p *= 4.0                                                   # livelier: outputs differ per source
    src = tokens((5, 40), seed=2)
    out = greedy_decode(enc, dec, head, src, start=START, end=END, max_len=6)
    by_hand = [free_running_by_hand(enc, dec, head, src[:, b], 6) for b in range(40)]
    assert [t.tolist() for t in out.tokens] == [t for t, _ in by_hand]
    assert out.stopped.tolist() == [s for _, s in by_hand]
    lengths = {len(t) for t in out.tokens}
    assert len(lengths) >= 3 and out.stopped.any() and not out.stopped.all()   # a meaningful mix


def test_free_running_equals_teacher_forcing_when_every_prediction_is_right():
    enc, dec, head = model(seed=6)
    for p in (*enc.params.values(), *dec.params.values()):
        p *= 4.0                                                   # livelier: some stop, some are cut
    src = tokens((5, 40), seed=2)
    out = greedy_decode(enc, dec, head, src, start=START, end=END, max_len=6)
    assert out.stopped.any() and not out.stopped.all()             # both cases are exercised
    for b in range(src.shape[1]):                                  # feed its own output back as the target
        tgt = out.tokens[b][:, None]
        _, o = teacher_forced_loss(enc, dec, head, src[:, [b]], tgt, start=START, end=END, backward=False)
        written = o.argmax(-1)[:, 0].tolist()                      # T_y + 1 tokens, teacher-forced
        if out.stopped[b]:
            assert written == [*out.tokens[b].tolist(), END]
        else:                                                      # cut at max_len: no </s> to compare
            assert written[:-1] == out.tokens[b].tolist()


def test_encoder_decoder_trains_and_owns_its_parameters():
    enc, dec, head = model(seed=5, H=16)
    m = EncoderDecoder(enc, dec, head, start=START, end=END)
    assert m.params["encoder.weight_ih_l0"] is enc.params["weight_ih_l0"]
    assert m.params["head.V"] is head.params["V"] and len(m.params) == 10
    with pytest.raises(RuntimeError, match="grads"):
        _ = m.grads
    src = tokens((2, 16), seed=6)
    opt = Adam(m.params, lr=0.05)
    losses = []
    for _ in range(40):
        L, _ = m.loss(src, src[::-1])                               # reverse two tokens
        assert set(m.grads) == set(m.params)
        opt.step(m.grads)
        losses.append(L)
    assert losses[-1] < 0.5 * losses[0]
    assert len(m.decode(src, max_len=4).tokens) == 16


def test_one_hot():
    assert np.array_equal(one_hot([[1, 0]], 3), [[[0, 1, 0], [1, 0, 0]]])


# --------------------------------------------------------------------------- bad arguments
def bad_calls():
    enc, dec, head = model()
    src, tgt = tokens((3, 2)), tokens((2, 2), seed=1)
    bidir = companion.RNN(V, H, bidirectional=True)
    tf = lambda **kw: teacher_forced_loss(**{"encoder": enc, "decoder": dec, "head": head, "src": src,  # noqa: E731
                                             "tgt": tgt, "start": START, "end": END, **kw})
    gd = lambda **kw: greedy_decode(**{"encoder": enc, "decoder": dec, "head": head, "src": src,  # noqa: E731
                                       "start": START, "end": END, "max_len": 5, **kw})
    return [
        ("src", lambda: tf(src=src.astype(float))), ("src", lambda: tf(src=src[:, 0])),
        ("src", lambda: tf(src=src + V)), ("src", lambda: tf(src=np.zeros((0, 2), int))),
        ("src", lambda: gd(src=-src)),
        ("tgt", lambda: tf(tgt=tgt[:, :1])), ("tgt", lambda: tf(tgt=tgt + V)),
        ("tgt", lambda: tf(tgt=tgt.astype(bool))),
        ("start", lambda: tf(start=V)), ("start", lambda: gd(start=True)), ("start", lambda: gd(start=1.0)),
        ("end", lambda: tf(end=-1)), ("end", lambda: gd(end=V)),
        ("max_len", lambda: gd(max_len=0)), ("max_len", lambda: gd(max_len=True)),
        ("max_len", lambda: gd(max_len=2.0)),
        ("backward", lambda: tf(backward=1)),
        ("encoder", lambda: tf(encoder="rnn")), ("decoder", lambda: gd(decoder=head)),
        ("decoder", lambda: tf(decoder=bidir)), ("decoder", lambda: tf(decoder=companion.RNN(V, H + 1))),
        ("decoder", lambda: tf(decoder=companion.GRU(V, H))),
        ("head", lambda: tf(head=companion.OutputHead(H + 1, V))), ("head", lambda: gd(head=dec)),
        ("decoder", lambda: gd(decoder=companion.RNN(V - 1, H), head=companion.OutputHead(H, V))),
        ("start", lambda: teacher_forcing_pairs(tgt, start=-1, end=END)),
        ("tgt", lambda: teacher_forcing_pairs(tgt[:, 0], start=START, end=END)),
        ("size", lambda: one_hot([1], 0)), ("tokens", lambda: one_hot([3], 3)),
        ("start", lambda: EncoderDecoder(enc, dec, head, start=V, end=END)),
    ]


@pytest.mark.parametrize("i", range(len(bad_calls())))
def test_bad_arguments_are_refused_naming_the_argument(i):
    name, call = bad_calls()[i]
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()


def test_refusals_change_nothing():
    enc, dec, head = model()
    before = [p.copy() for m in (enc, dec, head) for p in m.params.values()]
    with pytest.raises(ValueError):
        teacher_forced_loss(enc, dec, head, tokens((3, 2)), tokens((2, 3)), start=START, end=END)
    assert enc.grads is None and dec.grads is None and head.grads is None
    assert all(np.array_equal(a, p) for a, p in zip(before, (p for m in (enc, dec, head)
                                                              for p in m.params.values()), strict=True))


def test_module_exports():
    assert set(seq2seq.__all__) == {"one_hot", "teacher_forcing_pairs", "teacher_forced_loss",
                                    "greedy_decode", "Decoded", "EncoderDecoder"}
