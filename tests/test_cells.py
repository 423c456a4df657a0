"""Step-level cells (companion.cells): every intermediate the slides name, checked against
literal transcriptions of the equations and torch's cells, and every backward checked
against central differences (companion.numerical_grad), for one example (D,) and a batch
(B, D), with peepholes (diagonal and full) and both GRU variants."""
from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

import companion
from companion import cells
from companion.cells import GRU_WEIGHTS

D, H, K = 3, 4, 5
SHAPES = {"single": (), "batch": (2,)}
GRAD_TOL = 1e-7


def sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(a).max(), np.abs(b).max(), 1e-12))


def lstm_weights(rng, peephole=None):
    return cells.random_weights("lstm", D, H, rng, peephole=peephole, scale=0.6, distribution="normal")


def gru_weights(rng):
    return cells.random_weights("gru", D, H, rng, scale=0.6, distribution="normal")


def check_backward(loss, inputs, analytic, label):
    """Every analytic gradient against central differences of ``loss`` over the array it names."""
    for name, arr in inputs.items():
        num = companion.numerical_grad(loss, arr)
        assert analytic[name].shape == arr.shape, f"{label}: {name} shape {analytic[name].shape} != {arr.shape}"
        err = rel(analytic[name], num)
        assert err < GRAD_TOL, f"{label}: gradient of {name}: relative error {err:.2e}"


# --------------------------------------------------------------------------- RNN

@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_step_values(shape, nonlinearity):
    rng = np.random.default_rng(0)
    bs = SHAPES[shape]
    x, h = rng.normal(size=bs + (D,)), rng.normal(size=bs + (H,))
    U, W, b = rng.normal(size=(H, D)), rng.normal(size=(H, H)), rng.normal(size=H)
    V, c = rng.normal(size=(K, H)), rng.normal(size=K)
    st = companion.rnn_step(x, h, U, W, b, V, c, nonlinearity=nonlinearity)
    assert isinstance(st, companion.RNNStep)
    assert st._fields == ("a_t", "h_t", "o_t", "y_hat_t")
    a = np.einsum("hd,...d->...h", U, x) + np.einsum("hk,...k->...h", W, h) + b   # slide 5, literally
    np.testing.assert_allclose(st.a_t, a, rtol=1e-13, atol=1e-13)
    hh = np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0)
    np.testing.assert_allclose(st.h_t, hh, rtol=1e-13, atol=1e-13)
    o = c + np.einsum("kh,...h->...k", V, hh)
    np.testing.assert_allclose(st.o_t, o, rtol=1e-13, atol=1e-13)
    y = np.exp(o) / np.exp(o).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(st.y_hat_t, y, rtol=1e-13)
    assert st.a_t.shape == bs + (H,) and st.y_hat_t.shape == bs + (K,)
    # without a head, o and y_hat are None
    st2 = companion.rnn_step(x, h, U, W, b, nonlinearity=nonlinearity)
    assert st2.o_t is None and st2.y_hat_t is None
    np.testing.assert_array_equal(st2.h_t, st.h_t)
    # V without c: o = V h
    st3 = companion.rnn_step(x, h, U, W, b, V, nonlinearity=nonlinearity)
    np.testing.assert_allclose(st3.o_t, o - c, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_step_backward_numerical(shape, nonlinearity):
    rng = np.random.default_rng(1)
    bs = SHAPES[shape]
    arrs = {"x_t": rng.normal(size=bs + (D,)), "h_prev": rng.normal(size=bs + (H,)),
            "U": rng.normal(size=(H, D)), "W": rng.normal(size=(H, H)), "b": rng.normal(size=H)}
    R = rng.normal(size=bs + (H,))

    def loss():
        return float((R * companion.rnn_step(arrs["x_t"], arrs["h_prev"], arrs["U"], arrs["W"], arrs["b"],
                                             nonlinearity=nonlinearity).h_t).sum())

    st = companion.rnn_step(arrs["x_t"], arrs["h_prev"], arrs["U"], arrs["W"], arrs["b"], nonlinearity=nonlinearity)
    if nonlinearity == "relu":   # keep away from the kink where the derivative is undefined
        assert np.abs(st.a_t).min() > 1e-4
    g = companion.rnn_step_backward(R, arrs["x_t"], arrs["h_prev"], st, arrs["U"], arrs["W"],
                                    nonlinearity=nonlinearity)
    assert set(g) == {"dx_t", "dh_prev", "dU", "dW", "db"}
    analytic = {"x_t": g["dx_t"], "h_prev": g["dh_prev"], "U": g["dU"], "W": g["dW"], "b": g["db"]}
    check_backward(loss, arrs, analytic, f"rnn {nonlinearity} {shape}")


def test_rnn_head_gradient_enters_through_dh():
    """The head's gradient (y_hat - onehot) V enters rnn_step_backward through dh_t."""
    rng = np.random.default_rng(2)
    x, h = rng.normal(size=(2, D)), rng.normal(size=(2, H))
    U, W, b = rng.normal(size=(H, D)), rng.normal(size=(H, H)), rng.normal(size=H)
    V, c = rng.normal(size=(K, H)), rng.normal(size=K)
    y = np.array([1, 3])

    def loss():
        st = companion.rnn_step(x, h, U, W, b, V, c)
        return float(companion.cross_entropy(st.o_t, y, reduction="sum"))

    st = companion.rnn_step(x, h, U, W, b, V, c)
    d_o = st.y_hat_t.copy()
    d_o[np.arange(2), y] -= 1.0
    g = companion.rnn_step_backward(d_o @ V, x, h, st, U, W)
    check_backward(loss, {"x_t": x, "h_prev": h, "U": U, "W": W, "b": b},
                   {"x_t": g["dx_t"], "h_prev": g["dh_prev"], "U": g["dU"], "W": g["dW"], "b": g["db"]},
                   "rnn with head")
    check_backward(loss, {"V": V, "c": c}, {"V": d_o.T @ st.h_t, "c": d_o.sum(0)}, "head V, c")


# --------------------------------------------------------------------------- LSTM

def lstm_literal(x, h, C, w, peephole=None):
    """Slides 10 and 12 literally: each gate W · [C?, h, x] + b with the concatenated matrix."""
    def gate(name, cell=None, peep=None):
        Wcat = np.concatenate([w[f"W_h{name}"], w[f"W_x{name}"]], axis=1)    # W_name · [h, x]
        v = np.concatenate([h, x], axis=-1)
        pre = np.einsum("hk,...k->...h", Wcat, v) + w[f"b_{name}"]
        if peep is not None:
            pre = pre + (peep * cell if peep.ndim == 1 else np.einsum("hk,...k->...h", peep, cell))
        return pre
    f = sig(gate("f", C, w.get("w_cf") if peephole else None))
    i = sig(gate("i", C, w.get("w_ci") if peephole else None))
    Ct = np.tanh(gate("C"))
    Cn = f * C + i * Ct
    o = sig(gate("o", Cn, w.get("w_co") if peephole else None))
    return f, i, Ct, Cn, o, o * np.tanh(Cn)


def lstm_case(seed, shape, peephole):
    """An LSTM step's start: the generator, the batch shape ``SHAPES[shape]``, weights, and the
    inputs ``{"x_t", "h_prev", "C_prev"}`` of that batch shape (drawn in that order)."""
    rng = np.random.default_rng(seed)
    bs = SHAPES[shape]
    w = lstm_weights(rng, peephole)
    st_in = {"x_t": rng.normal(size=bs + (D,)), "h_prev": rng.normal(size=bs + (H,)),
             "C_prev": rng.normal(size=bs + (H,))}
    return rng, bs, w, st_in


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
@pytest.mark.parametrize("peephole", [None, "diagonal", "full"])
def test_lstm_step_values(shape, peephole):
    _, bs, w, st_in = lstm_case(3, shape, peephole)
    x, h, C = st_in["x_t"], st_in["h_prev"], st_in["C_prev"]
    st = companion.lstm_step(x, h, C, w, peephole=peephole)
    assert isinstance(st, companion.LSTMStep)
    assert st._fields == ("f_t", "i_t", "C_tilde_t", "C_t", "o_t", "h_t")
    for name, ours, ref in zip(st._fields, st, lstm_literal(x, h, C, w, peephole), strict=True):
        assert ours.shape == bs + (H,), name
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-14, err_msg=name)


def test_lstm_step_matches_torch_lstmcell():
    import torch
    cell = torch.nn.LSTMCell(D, H, dtype=torch.float64)
    rng = np.random.default_rng(4)
    x, h, C = rng.normal(size=(2, D)), rng.normal(size=(2, H)), rng.normal(size=(2, H))
    Wih, Whh = cell.weight_ih.detach().numpy(), cell.weight_hh.detach().numpy()
    b = (cell.bias_ih + cell.bias_hh).detach().numpy()
    w = {}
    for k, g in enumerate("ifCo"):    # torch's block order i, f, g, o
        w[f"W_x{g}"], w[f"W_h{g}"], w[f"b_{g}"] = Wih[k * H:(k + 1) * H], Whh[k * H:(k + 1) * H], b[k * H:(k + 1) * H]
    st = companion.lstm_step(x, h, C, w)
    h1, c1 = cell(torch.tensor(x), (torch.tensor(h), torch.tensor(C)))
    np.testing.assert_allclose(st.h_t, h1.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(st.C_t, c1.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
@pytest.mark.parametrize("peephole", [None, "diagonal", "full"])
def test_lstm_step_backward_numerical(shape, peephole):
    rng, bs, w, st_in = lstm_case(5, shape, peephole)
    Rh, RC = rng.normal(size=bs + (H,)), rng.normal(size=bs + (H,))

    def loss():
        st = companion.lstm_step(st_in["x_t"], st_in["h_prev"], st_in["C_prev"], w, peephole=peephole)
        return float((Rh * st.h_t).sum() + (RC * st.C_t).sum())

    st = companion.lstm_step(st_in["x_t"], st_in["h_prev"], st_in["C_prev"], w, peephole=peephole)
    g = companion.lstm_step_backward(Rh, RC, st_in["x_t"], st_in["h_prev"], st_in["C_prev"], st, w,
                                     peephole=peephole)
    assert set(g) == {"dx_t", "dh_prev", "dC_prev"} | {"d" + n for n in w}
    analytic = {"x_t": g["dx_t"], "h_prev": g["dh_prev"], "C_prev": g["dC_prev"],
                **{n: g["d" + n] for n in w}}
    check_backward(loss, {**st_in, **w}, analytic, f"lstm peephole={peephole} {shape}")


# --------------------------------------------------------------------------- GRU

def gru_lecture_literal(x, h, w):
    """Slide 16 with z, r from W · [h, x] + b and the candidate tanh(W_xh x + b_xh + W_hh (r*h) + b_hh)."""
    cat = lambda a, b: np.concatenate([a, b], axis=-1)   # noqa: E731
    z = sig(np.einsum("hk,...k->...h", cat(w["W_hz"], w["W_xz"]), cat(h, x)) + w["b_z"])
    r = sig(np.einsum("hk,...k->...h", cat(w["W_hr"], w["W_xr"]), cat(h, x)) + w["b_r"])
    ht = np.tanh(np.einsum("hk,...k->...h", cat(w["W_hh"], w["W_xh"]), cat(r * h, x)) + w["b_xh"] + w["b_hh"])
    return z, r, ht, (1 - z) * h + z * ht


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_gru_step_lecture_values(shape):
    rng = np.random.default_rng(6)
    bs = SHAPES[shape]
    w = gru_weights(rng)
    x, h = rng.normal(size=bs + (D,)), rng.normal(size=bs + (H,))
    st = companion.gru_step(x, h, w)     # default variant: the lecture's
    assert isinstance(st, companion.GRUStep)
    assert st._fields[:4] == ("z_t", "r_t", "h_tilde_t", "h_t")
    for name, ours, ref in zip(st._fields[:4], st[:4], gru_lecture_literal(x, h, w), strict=True):
        assert ours.shape == bs + (H,)
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-14, err_msg=name)
    np.testing.assert_allclose(st.hh_t, (st.r_t * h) @ w["W_hh"].T + w["b_hh"], rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_gru_step_torch_variant_matches_grucell(shape):
    import torch
    cell = torch.nn.GRUCell(D, H, dtype=torch.float64)
    rng = np.random.default_rng(7)
    bs = SHAPES[shape]
    x, h = rng.normal(size=bs + (D,)), rng.normal(size=bs + (H,))
    Wih, Whh = cell.weight_ih.detach().numpy(), cell.weight_hh.detach().numpy()
    bih, bhh = cell.bias_ih.detach().numpy(), cell.bias_hh.detach().numpy()
    blk = lambda a, k: a[k * H:(k + 1) * H]   # noqa: E731  torch order r, z, n
    w = {"W_xr": blk(Wih, 0), "W_hr": blk(Whh, 0), "b_r": blk(bih, 0) + blk(bhh, 0),
         "W_xz": blk(Wih, 1), "W_hz": blk(Whh, 1), "b_z": blk(bih, 1) + blk(bhh, 1),
         "W_xh": blk(Wih, 2), "W_hh": blk(Whh, 2), "b_xh": blk(bih, 2), "b_hh": blk(bhh, 2)}
    st = companion.gru_step(x, h, w, variant="torch")
    ref = cell(torch.tensor(x), torch.tensor(h)).detach().numpy()
    np.testing.assert_allclose(st.h_t, ref, rtol=1e-12, atol=1e-14)
    # the torch variant's z weights the old state: h = (1 - z) * h_tilde + z * h
    np.testing.assert_allclose(st.h_t, (1 - st.z_t) * st.h_tilde_t + st.z_t * h, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
@pytest.mark.parametrize("variant", ["lecture", "torch"])
def test_gru_step_backward_numerical(shape, variant):
    rng = np.random.default_rng(8)
    bs = SHAPES[shape]
    w = gru_weights(rng)
    st_in = {"x_t": rng.normal(size=bs + (D,)), "h_prev": rng.normal(size=bs + (H,))}
    R = rng.normal(size=bs + (H,))

    def loss():
        return float((R * companion.gru_step(st_in["x_t"], st_in["h_prev"], w, variant=variant).h_t).sum())

    st = companion.gru_step(st_in["x_t"], st_in["h_prev"], w, variant=variant)
    g = companion.gru_step_backward(R, st_in["x_t"], st_in["h_prev"], st, w, variant=variant)
    assert set(g) == {"dx_t", "dh_prev"} | {"d" + n for n in GRU_WEIGHTS}
    analytic = {"x_t": g["dx_t"], "h_prev": g["dh_prev"], **{n: g["d" + n] for n in GRU_WEIGHTS}}
    check_backward(loss, {**st_in, **w}, analytic, f"gru {variant} {shape}")


def test_gru_variants_map_when_r_is_one():
    """Negating z's weights maps the lecture's z to torch's (sigma(-a) = 1 - sigma(a)); the two
    variants then agree exactly where r = 1 (huge reset bias)."""
    rng = np.random.default_rng(9)
    w = gru_weights(rng)
    w["b_r"] = np.full(H, 1e3)      # r = sigmoid(1e3 + ...) == 1.0 exactly in float64
    x, h = rng.normal(size=(3, D)), rng.normal(size=(3, H))
    wt = dict(w, W_xz=-w["W_xz"], W_hz=-w["W_hz"], b_z=-w["b_z"])
    lec = companion.gru_step(x, h, w, variant="lecture")
    tor = companion.gru_step(x, h, wt, variant="torch")
    assert np.all(lec.r_t == 1.0)
    np.testing.assert_allclose(lec.z_t, 1.0 - tor.z_t, rtol=0, atol=1e-15)
    np.testing.assert_allclose(lec.h_t, tor.h_t, rtol=0, atol=1e-14)


def test_unknown_choices_raise_listing_valid_ones():
    rng = np.random.default_rng(10)
    x, h = rng.normal(size=D), rng.normal(size=H)
    U, W, b = rng.normal(size=(H, D)), rng.normal(size=(H, H)), rng.normal(size=H)
    with pytest.raises(ValueError, match=r"nonlinearity: expected one of 'tanh', 'relu', got 'sigmoid'"):
        companion.rnn_step(x, h, U, W, b, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"nonlinearity: expected one of 'tanh', 'relu', got 'gelu'"):
        companion.rnn_step_backward(h, x, h, companion.rnn_step(x, h, U, W, b), U, W, nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"peephole: expected one of None, 'diagonal', 'full', got 'yes'"):
        companion.lstm_step(x, h, h, lstm_weights(rng), peephole="yes")
    with pytest.raises(ValueError, match=r"variant: expected one of 'torch', 'lecture', got 'cho'"):
        companion.gru_step(x, h, gru_weights(rng), variant="cho")


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_cells_step_loop_equals_layer(mode):
    """A loop of the readable step functions over cell_weights equals the fused layer,
    for every layer and direction of a deep bidirectional layer."""
    kw = {"peephole": "full"} if mode == "LSTM" else {"variant": "lecture"} if mode == "GRU" else {}
    layer = getattr(companion, mode)(D, H, num_layers=2, bidirectional=True, seed=1, **kw)
    rng = np.random.default_rng(11)
    x = rng.normal(size=(5, 2, D))
    out, _ = layer(x)
    inp = x
    for li in range(2):
        outs = []
        for d in range(2):
            w = layer.cell_weights(li, d)
            h = np.zeros((2, H))
            C = np.zeros((2, H))
            hs = [None] * 5
            for t in (range(5) if d == 0 else reversed(range(5))):
                if mode == "RNN":
                    h = cells.rnn_step(inp[t], h, w["U"], w["W"], w["b"]).h_t
                elif mode == "LSTM":
                    st = cells.lstm_step(inp[t], h, C, w, peephole="full")
                    h, C = st.h_t, st.C_t
                else:
                    h = cells.gru_step(inp[t], h, w, variant="lecture").h_t
                hs[t] = h
            outs.append(np.stack(hs))
        inp = np.concatenate(outs, axis=-1)
    np.testing.assert_allclose(out, inp, rtol=0, atol=1e-13)


# --------------------------------------------------------------------------- the weight schema

# every kind with every form of its weights: (kind, peephole)
FORMS = [("rnn", None), ("lstm", None), ("lstm", "diagonal"), ("lstm", "full"), ("gru", None)]
FORM_IDS = [f"{k}-{p}" if p else k for k, p in FORMS]


def step_and_backward(kind, peephole, w, rng, B=2):
    """Run ``kind``'s step and backward on ``w``; the weight gradients' names (without the d)."""
    x, h, C = rng.normal(size=(B, D)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    if kind == "rnn":
        st = cells.rnn_step(x, h, w["U"], w["W"], w["b"])
        g = cells.rnn_step_backward(h, x, h, st, w["U"], w["W"])
        return {n[1:] for n in g} - {"x_t", "h_prev"}
    if kind == "lstm":
        st = cells.lstm_step(x, h, C, w, peephole=peephole)
        g = cells.lstm_step_backward(h, C, x, h, C, st, w, peephole=peephole)
        return {n[1:] for n in g} - {"x_t", "h_prev", "C_prev"}
    st = cells.gru_step(x, h, w)
    g = cells.gru_step_backward(h, x, h, st, w)
    return {n[1:] for n in g} - {"x_t", "h_prev"}


@pytest.mark.parametrize("kind,peephole", FORMS, ids=FORM_IDS)
@pytest.mark.parametrize("distribution", ["uniform", "normal"])
def test_random_weights_are_what_the_step_functions_take(kind, peephole, distribution):
    """random_weights' output goes into the step and its backward as it is; weight_names are
    exactly the weights the step takes (the backward's gradients), in the schema's order, with
    weight_shapes' shapes."""
    rng = np.random.default_rng(20)
    w = cells.random_weights(kind, D, H, rng, peephole=peephole, distribution=distribution)
    names = cells.weight_names(kind, peephole)
    assert tuple(w) == names and len(set(names)) == len(names)
    assert {k: v.shape for k, v in w.items()} == cells.weight_shapes(kind, D, H, peephole)
    assert all(v.dtype == np.float64 and np.isfinite(v).all() for v in w.values())
    assert step_and_backward(kind, peephole, w, rng) == set(names)
    if kind == "rnn":        # the RNN takes its weights as arguments, named as the schema names them
        params = list(inspect.signature(cells.rnn_step).parameters)
        assert params[2:2 + len(names)] == list(names)
        return
    step = cells.lstm_step if kind == "lstm" else cells.gru_step
    args = (np.zeros(D), np.zeros(H), np.zeros(H)) if kind == "lstm" else (np.zeros(D), np.zeros(H))
    kw = {"peephole": peephole} if kind == "lstm" else {}
    for n in names:           # each name is needed: without it, the step names it as missing
        with pytest.raises(ValueError, match=rf"^w: .*missing {n}\b"):
            step(*args, {k: v for k, v in w.items() if k != n}, **kw)
    with pytest.raises(ValueError, match=r"^w: .*unexpected 'W_extra'"):
        step(*args, {**w, "W_extra": np.zeros((H, D))}, **kw)


@pytest.mark.parametrize("kind,peephole", FORMS, ids=FORM_IDS)
def test_random_weights_seeded(kind, peephole):
    """The same seed gives identical weights (an int or a fresh Generator of that seed);
    different seeds give different ones; a Generator's stream is consumed."""
    a = cells.random_weights(kind, D, H, 7, peephole=peephole)
    b = cells.random_weights(kind, D, H, np.random.default_rng(7), peephole=peephole)
    c = cells.random_weights(kind, D, H, 8, peephole=peephole)
    for n in a:
        np.testing.assert_array_equal(a[n], b[n], err_msg=n)
        assert not np.any(a[n] == c[n]), n
    rng = np.random.default_rng(7)
    first, second = (cells.random_weights(kind, D, H, rng, peephole=peephole) for _ in range(2))
    assert all(not np.any(first[n] == second[n]) for n in first)
    fresh = [cells.random_weights(kind, D, H, peephole=peephole) for _ in range(2)]    # rng=None: fresh entropy
    assert any(not np.array_equal(fresh[0][n], fresh[1][n]) for n in fresh[0])


def _is_bias(name):
    return len(cells.weight_shape(name, 1, 2, "diagonal")) == 1 and name not in cells.PEEPHOLE_WEIGHTS


@pytest.mark.parametrize("kind,peephole", FORMS, ids=FORM_IDS)
def test_random_weights_scale_bias_scale_and_distribution(kind, peephole):
    """uniform: within [-scale, scale] (biases [-bias_scale, bias_scale]) and filling it; normal:
    mean 0 and standard deviation scale, by the sample's own error bars; the dtype asked for.
    A peephole weight is drawn with scale even when diagonal (it is no bias)."""
    Dn, Hn = 5, 200
    scale, bias_scale = 0.3, 2.5
    u = cells.random_weights(kind, Dn, Hn, 0, peephole=peephole, scale=scale, bias_scale=bias_scale)
    for n, v in u.items():
        assert np.abs(v).max() <= (bias_scale if _is_bias(n) else scale), n
    for group in (True, False):          # 200+ draws fill the interval: each end within 10 % of it
        v = np.concatenate([a.ravel() for n, a in u.items() if _is_bias(n) == group])
        s = bias_scale if group else scale
        assert v.max() > 0.9 * s and v.min() < -0.9 * s, group
    nrm = cells.random_weights(kind, Dn, Hn, 0, peephole=peephole, scale=scale, bias_scale=bias_scale,
                               distribution="normal")
    for group in (True, False):          # the biases together, the rest together
        v = np.concatenate([a.ravel() for n, a in nrm.items() if _is_bias(n) == group])
        s = bias_scale if group else scale
        m = v.size
        assert abs(v.mean()) < 5 * s / math.sqrt(m), (group, v.mean())
        assert abs(v.std() / s - 1) < 5 / math.sqrt(2 * m), (group, v.std())
        assert np.abs(v).max() > s, group           # a normal draw, not a uniform one in [-s, s]
    same = cells.random_weights(kind, D, H, 3, peephole=peephole, scale=scale)    # bias_scale defaults to scale
    assert all(np.abs(v).max() <= scale for v in same.values())
    zero_b = cells.random_weights(kind, D, H, 3, peephole=peephole, bias_scale=0.0)
    assert all((not np.any(v)) == _is_bias(n) for n, v in zero_b.items())     # only the biases are 0
    assert all(not np.any(v) for v in cells.random_weights(kind, D, H, 3, peephole=peephole, scale=0.0).values())
    f32 = cells.random_weights(kind, D, H, 3, peephole=peephole, dtype=np.float32)
    assert all(v.dtype == np.float32 for v in f32.values())
    f64 = cells.random_weights(kind, D, H, 3, peephole=peephole)
    for n in f32:       # the same draws, rounded
        np.testing.assert_array_equal(f32[n], f64[n].astype(np.float32), err_msg=n)


def _id(value):
    """A test id that is the same in every process (pytest-xdist compares them): no addresses."""
    return type(value).__name__ if isinstance(value, np.random.RandomState) else repr(value)


@pytest.mark.parametrize("arg,kwargs", [
    ("kind", dict(kind="transformer")), ("kind", dict(kind="LSTM")), ("kind", dict(kind=None)),
    ("peephole", dict(kind="lstm", peephole="yes")), ("peephole", dict(kind="lstm", peephole=True)),
    ("peephole", dict(kind="gru", peephole="diagonal")), ("peephole", dict(kind="rnn", peephole="full")),
    ("D", dict(D=0)), ("D", dict(D=-1)), ("D", dict(D=2.0)), ("D", dict(D=True)), ("D", dict(D="3")),
    ("H", dict(H=0)), ("H", dict(H=1.5)), ("H", dict(H=None)),
    ("scale", dict(scale=-0.1)), ("scale", dict(scale=float("nan"))), ("scale", dict(scale=float("inf"))),
    ("scale", dict(scale="1")), ("scale", dict(scale=True)), ("scale", dict(scale=None)),
    ("bias_scale", dict(bias_scale=-1.0)), ("bias_scale", dict(bias_scale=float("nan"))),
    ("bias_scale", dict(bias_scale=[1.0])),
    ("rng", dict(rng="0")), ("rng", dict(rng=1.5)), ("rng", dict(rng=True)),
    ("rng", dict(rng=np.random.RandomState(0))),
    ("distribution", dict(distribution="gaussian")), ("distribution", dict(distribution=None)),
], ids=lambda v: v if isinstance(v, str) else _id(next(iter(v.values()))))
def test_random_weights_refuses_bad_arguments_by_name(arg, kwargs):
    call = {"kind": "lstm", "D": D, "H": H, "rng": 0, **kwargs}
    with pytest.raises(ValueError, match=rf"^{arg}: expected"):
        cells.random_weights(call.pop("kind"), call.pop("D"), call.pop("H"), call.pop("rng"), **call)


def test_weight_names_and_shapes_refuse_bad_arguments_by_name():
    with pytest.raises(ValueError, match=r"^kind: expected one of 'rnn', 'lstm', 'gru', got 'cnn'"):
        cells.weight_names("cnn")
    with pytest.raises(ValueError, match=r"^peephole: expected one of None, 'diagonal', 'full', got 'yes'"):
        cells.weight_names("lstm", "yes")
    with pytest.raises(ValueError, match=r"^peephole: expected one of None, got 'full'"):
        cells.weight_shapes("gru", D, H, "full")
    with pytest.raises(ValueError, match=r"^name: expected a weight name"):
        cells.weight_shape("V", D, H)
    with pytest.raises(ValueError, match=r"^peephole: expected one of 'diagonal', 'full', got None"):
        cells.weight_shape("w_cf", D, H)
    with pytest.raises(ValueError, match=r"^H: expected a positive integer"):
        cells.weight_shapes("rnn", D, 0)


@pytest.mark.parametrize("mode,kw", [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}),
                                     ("LSTM", {"peephole": "diagonal"}), ("LSTM", {"peephole": "full"}),
                                     ("GRU", {"variant": "torch"}), ("GRU", {"variant": "lecture"})],
                         ids=["rnn", "rnn-relu", "lstm", "lstm-diagonal", "lstm-full", "gru-torch", "gru-lecture"])
def test_layer_cell_weights_are_the_schemas(mode, kw):
    """Every layer and direction's cell_weights hold exactly the schema's names and shapes
    (layer 1 of a bidirectional layer takes 2H inputs)."""
    layer = getattr(companion, mode)(D, H, num_layers=2, bidirectional=True, seed=0, **kw)
    for li, d in ((0, 0), (0, 1), (1, 0), (1, 1)):
        w = layer.cell_weights(li, d)
        Din = D if li == 0 else 2 * H
        assert set(w) == set(cells.weight_names(mode.lower(), kw.get("peephole"))), (li, d)
        assert {k: np.shape(v) for k, v in w.items()} == cells.weight_shapes(mode.lower(), Din, H, kw.get("peephole"))
