"""The two layers torch has no equivalent for: the peephole LSTM (slide 12) and the
lecture GRU (slide 16). Proved by (1) reduction to the torch-equivalent layer where the
extra terms vanish, (2) central-difference checks of the BPTT, (3) a literal,
independent numpy transcription of the slide's equations."""
from __future__ import annotations

import numpy as np
import pytest

import companion

GRAD_TOL = 1e-6


def sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def as_list(s):
    return list(s) if isinstance(s, tuple) else [s]


# --------------------------------------------------------------------------- peephole

@pytest.mark.parametrize("peephole", ["diagonal", "full"])
@pytest.mark.parametrize("num_layers,bidirectional,batch_first,bias",
                         [(1, False, False, True), (2, True, True, True), (3, False, False, False)])
def test_zero_peepholes_equal_plain_lstm(peephole, num_layers, bidirectional, batch_first, bias):
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias)
    plain = companion.LSTM(3, 4, seed=0, **kw)
    peep = companion.LSTM(3, 4, seed=1, peephole=peephole, **kw)
    shape = (4,) if peephole == "diagonal" else (4, 4)
    extra = [n for n in peep.params if n not in plain.params]
    sfxs = [f"_l{k}" + r for k in range(num_layers) for r in (("", "_reverse") if bidirectional else ("",))]
    assert sorted(extra) == sorted(f"weight_{g}{s}" for g in ("ci", "cf", "co") for s in sfxs)
    for n in extra:
        assert peep.params[n].shape == shape, n
        peep.params[n][...] = 0.0
    for n in plain.params:
        peep.params[n][...] = plain.params[n]

    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 5, 3) if batch_first else (5, 2, 3))
    LD = num_layers * (2 if bidirectional else 1)
    state = (rng.normal(size=(LD, 2, 4)), rng.normal(size=(LD, 2, 4)))
    o1, (h1, c1) = plain(x, state)
    o2, (h2, c2) = peep(x, state)
    for name, a, b in (("output", o1, o2), ("h_n", h1, h2), ("c_n", c1, c2)):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-14, err_msg=f"{name} peephole={peephole}")
    dy = rng.normal(size=o1.shape)
    ds = (rng.normal(size=h1.shape), rng.normal(size=c1.shape))
    dx1, (dh1, dc1) = plain.backward(dy, ds)
    dx2, (dh2, dc2) = peep.backward(dy, ds)
    for name, a, b in (("d_x", dx1, dx2), ("d_h0", dh1, dh2), ("d_c0", dc1, dc2)):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-13, err_msg=f"{name} peephole={peephole}")
    for n in plain.params:
        np.testing.assert_allclose(peep.grads[n], plain.grads[n], rtol=0, atol=1e-13, err_msg=n)
    # the peephole weights still get a (generally nonzero) gradient of their own shape
    for n in extra:
        assert peep.grads[n].shape == shape and np.abs(peep.grads[n]).max() > 0, n


@pytest.mark.parametrize("peephole", ["diagonal", "full"])
@pytest.mark.parametrize("num_layers,bidirectional,batch_first,unbatched",
                         [(1, False, False, False), (2, True, True, False), (2, True, False, True)])
def test_peephole_lstm_finite_differences(peephole, num_layers, bidirectional, batch_first, unbatched):
    layer = companion.LSTM(2, 3, num_layers=num_layers, bidirectional=bidirectional,
                           batch_first=batch_first, peephole=peephole, seed=3)
    for n in layer.params:            # make the peepholes matter
        if n.startswith(("weight_ci", "weight_cf", "weight_co")):
            layer.params[n][...] = np.random.default_rng(4).normal(scale=0.8, size=layer.params[n].shape)
    rng = np.random.default_rng(5)
    LD = num_layers * (2 if bidirectional else 1)
    x = rng.normal(size=(4, 2) if unbatched else ((2, 4, 2) if batch_first else (4, 2, 2)))
    sshape = (LD, 3) if unbatched else (LD, 2, 3)
    state = (rng.normal(size=sshape), rng.normal(size=sshape))
    errors = companion.check_layer_grads(layer, x, state)
    assert set(errors) == set(layer.params) | {"x", "state0", "state1"}
    bad = {k: v for k, v in errors.items() if not v < GRAD_TOL}
    assert not bad, f"peephole={peephole}: relative errors above {GRAD_TOL}: {bad}"


@pytest.mark.parametrize("peephole", ["diagonal", "full"])
def test_peephole_layer_matches_literal_slide_12(peephole):
    """One-layer peephole LSTM against slide 12 written out: gates W·[C, h, x] + b."""
    H, D, T, B = 3, 2, 5, 2
    layer = companion.LSTM(D, H, peephole=peephole, seed=6)
    for g in ("ci", "cf", "co"):
        layer.params[f"weight_{g}_l0"][...] = np.random.default_rng(7).normal(size=layer.params[f"weight_{g}_l0"].shape)
    p = layer.params
    blk = lambda a, k: a[k * H:(k + 1) * H]   # noqa: E731  torch order i, f, g, o
    b = p["bias_ih_l0"] + p["bias_hh_l0"]

    def peep_mat(name):
        w = p[name]
        return np.diag(w) if w.ndim == 1 else w

    def gate(k, peep, cell, h, x_t):   # block k's pre-activation W · [C, h, x] + b
        Wcat = np.concatenate([peep_mat(peep), blk(p["weight_hh_l0"], k), blk(p["weight_ih_l0"], k)], axis=1)
        return np.concatenate([cell, h, x_t], axis=1) @ Wcat.T + blk(b, k)

    rng = np.random.default_rng(8)
    x = rng.normal(size=(T, B, D))
    h, C = np.zeros((B, H)), np.zeros((B, H))
    outs = []
    for t in range(T):
        i = sig(gate(0, "weight_ci_l0", C, h, x[t]))
        f = sig(gate(1, "weight_cf_l0", C, h, x[t]))
        Ct = np.tanh(x[t] @ blk(p["weight_ih_l0"], 2).T + h @ blk(p["weight_hh_l0"], 2).T + blk(b, 2))
        C = f * C + i * Ct
        o = sig(gate(3, "weight_co_l0", C, h, x[t]))
        h = o * np.tanh(C)
        outs.append(h)
    out, (h_n, c_n) = layer(x)
    np.testing.assert_allclose(out, np.stack(outs), rtol=0, atol=1e-14)
    np.testing.assert_allclose(h_n[0], h, rtol=0, atol=1e-14)
    np.testing.assert_allclose(c_n[0], C, rtol=0, atol=1e-14)


# --------------------------------------------------------------------------- lecture GRU

def lecture_gru_literal(layer, x, h0):
    """Slide 16 transcribed with plain numpy, from the torch-named parameter blocks r, z, n:

        z_t = sigma(W_z . [h_{t-1}, x_t] + b_z)           W_z = [W_hz | W_iz], b_z = b_iz + b_hz
        r_t = sigma(W_r . [h_{t-1}, x_t] + b_r)           W_r = [W_hr | W_ir], b_r = b_ir + b_hr
        h~_t = tanh(W_in x_t + b_in + W_hn (r_t * h_{t-1}) + b_hn)
        h_t = (1 - z_t) * h_{t-1} + z_t * h~_t

    x: (T, B, D) time-major, h0: (L * nd, B, H). Returns output and h_n (and per-step z, r, h~, h
    for layer 0 forward)."""
    H = layer.hidden_size
    nd = 2 if layer.bidirectional else 1
    inp = x
    finals = []
    trace0 = None
    for li in range(layer.num_layers):
        T = inp.shape[0]
        outs = []
        for d in range(nd):
            sfx = f"_l{li}" + ("_reverse" if d else "")
            W_ih, W_hh = layer.params["weight_ih" + sfx], layer.params["weight_hh" + sfx]
            if layer.bias:
                b_ih, b_hh = layer.params["bias_ih" + sfx], layer.params["bias_hh" + sfx]
            else:
                b_ih = b_hh = np.zeros(3 * H)
            W_ir, W_iz, W_in = W_ih[:H], W_ih[H:2 * H], W_ih[2 * H:]
            W_hr, W_hz, W_hn = W_hh[:H], W_hh[H:2 * H], W_hh[2 * H:]
            b_r = b_ih[:H] + b_hh[:H]
            b_z = b_ih[H:2 * H] + b_hh[H:2 * H]
            b_in, b_hn = b_ih[2 * H:], b_hh[2 * H:]
            W_z = np.concatenate([W_hz, W_iz], axis=1)
            W_r = np.concatenate([W_hr, W_ir], axis=1)
            h = h0[li * nd + d]
            hs = [None] * T
            tr = {k: [None] * T for k in ("z", "r", "h_tilde", "h")}
            for t in (range(T) if d == 0 else reversed(range(T))):
                hx = np.concatenate([h, inp[t]], axis=1)           # [h_{t-1}, x_t]
                z = sig(hx @ W_z.T + b_z)
                r = sig(hx @ W_r.T + b_r)
                h_tilde = np.tanh(inp[t] @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)
                h = (1.0 - z) * h + z * h_tilde
                hs[t] = h
                for k, v in (("z", z), ("r", r), ("h_tilde", h_tilde), ("h", h)):
                    tr[k][t] = v
            if li == 0 and d == 0:
                trace0 = {k: np.stack(v) for k, v in tr.items()}
            finals.append(h)
            outs.append(np.stack(hs))
        inp = np.concatenate(outs, axis=-1)
    return inp, np.stack(finals), trace0


@pytest.mark.parametrize("num_layers,bidirectional,batch_first,bias",
                         [(1, False, False, True), (1, False, True, False), (2, True, False, True),
                          (3, True, True, True)])
def test_lecture_gru_equals_literal_slide_16(num_layers, bidirectional, batch_first, bias):
    layer = companion.GRU(3, 4, num_layers=num_layers, bidirectional=bidirectional,
                          batch_first=batch_first, bias=bias, variant="lecture", seed=9)
    rng = np.random.default_rng(10)
    T, B = 6, 2
    x_tm = rng.normal(size=(T, B, 3))
    h0 = rng.normal(size=(num_layers * (2 if bidirectional else 1), B, 4))
    ref_out, ref_hn, ref_tr = lecture_gru_literal(layer, x_tm, h0)
    x = x_tm.transpose(1, 0, 2) if batch_first else x_tm
    out, h_n = layer(x, h0)
    out_tm = out.transpose(1, 0, 2) if batch_first else out
    np.testing.assert_allclose(out_tm, ref_out, rtol=0, atol=1e-13)
    np.testing.assert_allclose(h_n, ref_hn, rtol=0, atol=1e-13)
    tr = layer.traces["l0"]
    for k in ("z", "r", "h_tilde", "h"):
        v = tr[k].transpose(1, 0, 2) if batch_first else tr[k]
        np.testing.assert_allclose(v, ref_tr[k], rtol=0, atol=1e-13, err_msg=f"traces['l0'][{k!r}]")
    np.testing.assert_allclose(layer.forward_unfused(x, h0)[0], out, rtol=0, atol=1e-13)


@pytest.mark.parametrize("num_layers,bidirectional,batch_first,unbatched,bias",
                         [(1, False, False, False, True), (2, True, True, False, True),
                          (2, True, False, True, False)])
def test_lecture_gru_finite_differences(num_layers, bidirectional, batch_first, unbatched, bias):
    layer = companion.GRU(2, 3, num_layers=num_layers, bidirectional=bidirectional, bias=bias,
                          batch_first=batch_first, variant="lecture", seed=11)
    rng = np.random.default_rng(12)
    LD = num_layers * (2 if bidirectional else 1)
    x = rng.normal(size=(4, 2) if unbatched else ((2, 4, 2) if batch_first else (4, 2, 2)))
    h0 = rng.normal(size=(LD, 3) if unbatched else (LD, 2, 3))
    errors = companion.check_layer_grads(layer, x, h0)
    assert set(errors) == set(layer.params) | {"x", "state0"}
    bad = {k: v for k, v in errors.items() if not v < GRAD_TOL}
    assert not bad, f"lecture GRU: relative errors above {GRAD_TOL}: {bad}"


@pytest.mark.parametrize("mode,kw", [("RNN", {"nonlinearity": "tanh"}), ("RNN", {"nonlinearity": "relu"}),
                                     ("LSTM", {}), ("GRU", {"variant": "torch"})])
def test_torch_equivalent_layers_finite_differences(mode, kw):
    """check_layer_grads itself on the layers that torch also has (a sanity check of the tool)."""
    layer = getattr(companion, mode)(2, 3, num_layers=2, bidirectional=True, seed=13, **kw)
    x = np.random.default_rng(14).normal(size=(3, 2, 2))
    errors = companion.check_layer_grads(layer, x)
    assert set(errors) >= set(layer.params) | {"x", "state0"}
    bad = {k: v for k, v in errors.items() if not v < GRAD_TOL}
    assert not bad, f"{mode} {kw}: {bad}"


def test_lecture_gru_with_reset_one_and_negated_z_equals_torch_variant():
    """The mapping between the variants, at layer level.

    Lecture:  h_t = (1 - z_t) * h_{t-1} + z_t * tanh(W_in x + b_in + W_hn (r * h_{t-1}) + b_hn)
    torch:    h_t = z'_t * h_{t-1} + (1 - z'_t) * tanh(W_in x + b_in + r * (W_hn h_{t-1} + b_hn))

    (1) torch's z' is the lecture's 1 - z: since 1 - sigma(a) = sigma(-a), negating the z blocks
        (rows H:2H of weight_ih, weight_hh, bias_ih, bias_hh) maps one to the other exactly;
    (2) the reset acts before the product in the lecture and after it in torch, which no weight
        mapping undoes, but with r = 1 both read W_hn h + b_hn. A reset bias of +1e3 makes
        r = sigmoid(1e3 + ...) == 1.0 exactly in float64.
    Then outputs, states and d_x, d_h0 agree, and so do all gradients, except the z blocks'
    gradients, which are negated (and the r blocks', which are 0 in both: r saturates).
    """
    import torch
    H = 4
    lec = companion.GRU(3, H, num_layers=2, bidirectional=True, variant="lecture", seed=15)
    tor = companion.GRU(3, H, num_layers=2, bidirectional=True, variant="torch", seed=99)
    zrows = slice(H, 2 * H)
    for n, p in lec.params.items():
        if n.startswith("bias_ih"):
            p[:H] = 1e3                          # r == 1
        tor.params[n][...] = p
        tor.params[n][zrows] = -p[zrows]         # z' = 1 - z
    rng = np.random.default_rng(16)
    x = rng.normal(size=(5, 2, 3))
    h0 = rng.normal(size=(4, 2, H))
    o1, h1 = lec(x, h0)
    o2, h2 = tor(x, h0)
    for k in lec.traces:
        assert np.all(lec.traces[k]["r"] == 1.0), k
        np.testing.assert_allclose(lec.traces[k]["z"], 1.0 - tor.traces[k]["z"], rtol=0, atol=1e-15)
    np.testing.assert_allclose(o1, o2, rtol=0, atol=1e-14)
    np.testing.assert_allclose(h1, h2, rtol=0, atol=1e-14)
    # and the torch variant really is torch.nn.GRU
    ref_o, ref_h = tor.to_torch()(torch.tensor(x), torch.tensor(h0))
    np.testing.assert_allclose(o1, ref_o.detach().numpy(), rtol=0, atol=1e-14)
    np.testing.assert_allclose(h1, ref_h.detach().numpy(), rtol=0, atol=1e-14)
    dy, dh = rng.normal(size=o1.shape), rng.normal(size=h1.shape)
    dx1, d01 = lec.backward(dy, dh)
    dx2, d02 = tor.backward(dy, dh)
    np.testing.assert_allclose(dx1, dx2, rtol=0, atol=1e-13)
    np.testing.assert_allclose(d01, d02, rtol=0, atol=1e-13)
    for n in lec.params:
        sign = np.ones(lec.params[n].shape[0])
        sign[zrows] = -1.0
        g2 = tor.grads[n] * (sign[:, None] if tor.grads[n].ndim == 2 else sign)
        np.testing.assert_allclose(lec.grads[n], g2, rtol=0, atol=1e-13, err_msg=n)


def test_lecture_gru_differs_from_torch_variant_in_general():
    """Same parameters, different equations: the variants really are different cells."""
    lec = companion.GRU(3, 4, variant="lecture", seed=17)
    tor = companion.GRU(3, 4, variant="torch", seed=17)
    x = np.random.default_rng(18).normal(size=(4, 2, 3))
    assert np.abs(lec(x)[0] - tor(x)[0]).max() > 1e-3
    assert repr(lec).endswith("variant='lecture', dtype=float64)")
