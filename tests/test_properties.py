"""Properties that hold for every input (hypothesis), and layer.traces.

- gates lie in [0, 1] always, strictly inside (0, 1) for inputs of moderate scale
  (for huge inputs a sigmoid saturates to exactly 0.0 or 1.0 in floating point);
- the GRU state is a convex combination of the old state and the candidate;
- |h| <= 1 for the tanh cells (given |h_0| <= 1 for the GRU, whose h is a running average);
- the fused forward equals forward_unfused (the readable cells) to 1e-12;
- traces: keys, shapes, layout, and consistency with output and final state.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import companion

SETTINGS = settings(max_examples=50, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def configs(draw, modes=("RNN", "LSTM", "GRU")):
    mode = draw(st.sampled_from(modes))
    kw = dict(num_layers=draw(st.integers(1, 2)), bidirectional=draw(st.booleans()),
              batch_first=draw(st.booleans()), bias=draw(st.booleans()))
    if mode == "RNN":
        kw["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]))
    elif mode == "LSTM":
        kw["peephole"] = draw(st.sampled_from([None, "diagonal", "full"]))
    else:
        kw["variant"] = draw(st.sampled_from(["torch", "lecture"]))
    dims = dict(D=draw(st.integers(1, 4)), H=draw(st.integers(1, 4)), T=draw(st.integers(1, 5)),
                B=draw(st.integers(1, 3)), unbatched=draw(st.booleans()))
    seed = draw(st.integers(0, 2 ** 31 - 1))
    return mode, kw, dims, seed


def build(cfg, x_scale=1.0, w_scale=1.0, h_scale=1.0):
    mode, kw, dims, seed = cfg
    layer = getattr(companion, mode)(dims["D"], dims["H"], seed=seed, **kw)
    rng = np.random.default_rng(seed)
    for p in layer.params.values():
        p *= w_scale
    T, B, D, H = dims["T"], dims["B"], dims["D"], dims["H"]
    LD = kw["num_layers"] * (2 if kw["bidirectional"] else 1)
    if dims["unbatched"]:
        x_shape, s_shape = (T, D), (LD, H)
    else:
        x_shape, s_shape = ((B, T, D) if kw["batch_first"] else (T, B, D)), (LD, B, H)
    x = x_scale * rng.uniform(-1, 1, size=x_shape)
    h0 = h_scale * rng.uniform(-1, 1, size=s_shape)
    state = (h0, h_scale * rng.uniform(-1, 1, size=s_shape)) if mode == "LSTM" else h0
    return layer, x, state


def gate_names(mode):
    return {"LSTM": ("f", "i", "o"), "GRU": ("z", "r"), "RNN": ()}[mode]


@SETTINGS
@given(cfg=configs(modes=("LSTM", "GRU")), x_scale=st.floats(0.0, 1e3), w_scale=st.floats(0.0, 30.0))
def test_gates_within_closed_unit_interval_for_any_scale(cfg, x_scale, w_scale):
    layer, x, state = build(cfg, x_scale, w_scale)
    layer(x, state)
    for key, tr in layer.traces.items():
        for g in gate_names(cfg[0]):
            assert np.isfinite(tr[g]).all()
            assert (tr[g] >= 0).all() and (tr[g] <= 1).all(), f"{key}[{g}] outside [0, 1]"


@SETTINGS
@given(cfg=configs(modes=("LSTM", "GRU")), x_scale=st.floats(0.0, 3.0))
def test_gates_strictly_inside_unit_interval_for_moderate_inputs(cfg, x_scale):
    layer, x, state = build(cfg, x_scale)      # torch's init, |x| <= 3, |h0|, |c0| <= 1
    layer(x, state)
    for key, tr in layer.traces.items():
        for g in gate_names(cfg[0]):
            assert (tr[g] > 0).all() and (tr[g] < 1).all(), f"{key}[{g}] not strictly inside (0, 1)"


def previous_states(tr_h, h0, reverse, time_axis):
    """h_{t-1} for every t of one direction (the reverse direction's 'previous' is t + 1)."""
    h = np.moveaxis(tr_h, time_axis, 0)
    if reverse:
        prev = np.concatenate([h[1:], h0[None]], axis=0)
    else:
        prev = np.concatenate([h0[None], h[:-1]], axis=0)
    return np.moveaxis(prev, 0, time_axis)


@SETTINGS
@given(cfg=configs(modes=("GRU",)), x_scale=st.floats(0.0, 10.0), w_scale=st.floats(0.1, 5.0),
       h_scale=st.floats(0.0, 5.0))
def test_gru_state_is_convex_combination(cfg, x_scale, w_scale, h_scale):
    layer, x, h0 = build(cfg, x_scale, w_scale, h_scale)
    layer(x, h0)
    mode, kw, dims, _ = cfg
    time_axis = 1 if (kw["batch_first"] and not dims["unbatched"]) else 0
    nd = 2 if kw["bidirectional"] else 1
    for key, tr in layer.traces.items():
        li, d = int(key[1]), int(key.endswith("_reverse"))
        prev = previous_states(tr["h"], h0[li * nd + d], bool(d), time_axis)
        lo, hi = np.minimum(prev, tr["h_tilde"]), np.maximum(prev, tr["h_tilde"])
        assert (tr["h"] >= lo - 1e-12).all() and (tr["h"] <= hi + 1e-12).all(), key
        # and exactly the combination the variant defines
        w_new = tr["z"] if kw["variant"] == "lecture" else 1.0 - tr["z"]
        np.testing.assert_allclose(tr["h"], (1 - w_new) * prev + w_new * tr["h_tilde"], rtol=0, atol=1e-12)


@SETTINGS
@given(cfg=configs(), x_scale=st.floats(0.0, 1e4), w_scale=st.floats(0.0, 10.0))
def test_tanh_cells_bounded_by_one(cfg, x_scale, w_scale):
    mode, kw, _, _ = cfg
    if kw.get("nonlinearity") == "relu":
        kw = dict(kw, nonlinearity="tanh")
        cfg = (mode, kw) + cfg[2:]
    layer, x, state = build(cfg, x_scale, w_scale)
    out, s_n = layer(x, state)
    assert np.isfinite(out).all()
    assert np.abs(out).max() <= 1.0
    h_n = s_n[0] if isinstance(s_n, tuple) else s_n
    assert np.abs(h_n).max() <= 1.0
    for tr in layer.traces.values():
        assert np.abs(tr["h"]).max() <= 1.0
        for name in ("C_tilde", "h_tilde"):
            if name in tr:
                assert np.abs(tr[name]).max() <= 1.0


@SETTINGS
@given(cfg=configs(), x_scale=st.floats(0.0, 5.0))
def test_fused_equals_unfused(cfg, x_scale):
    layer, x, state = build(cfg, x_scale)
    out, s_n = layer(x, state)
    out_u, s_u = layer.forward_unfused(x, state)
    assert out_u.shape == out.shape
    np.testing.assert_allclose(out, out_u, rtol=0, atol=1e-12)
    for a, b in zip(s_n if isinstance(s_n, tuple) else (s_n,), s_u if isinstance(s_u, tuple) else (s_u,), strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


@SETTINGS
@given(cfg=configs())
def test_traces_consistent_with_output_and_state(cfg):
    layer, x, state = build(cfg)
    out, s_n = layer(x, state)
    mode, kw, dims, _ = cfg
    H, L = dims["H"], kw["num_layers"]
    nd = 2 if kw["bidirectional"] else 1
    keys = [f"l{li}" + ("_reverse" if d else "") for li in range(L) for d in range(nd)]
    tr = layer.traces
    assert list(tr) == keys
    names = {"RNN": {"a", "h"}, "LSTM": {"f", "i", "C_tilde", "C", "o", "h"},
             "GRU": {"z", "r", "h_tilde", "h"}}[mode]
    one_dir_shape = out.shape[:-1] + (H,)
    time_axis = 1 if (kw["batch_first"] and not dims["unbatched"]) else 0
    h_n = s_n[0] if isinstance(s_n, tuple) else s_n
    for key in keys:
        assert set(tr[key]) == names, key
        for n, v in tr[key].items():
            assert v.shape == one_dir_shape, f"traces[{key!r}][{n!r}] shape {v.shape} != {one_dir_shape}"
    # the last layer's h is the output slice of its direction
    for d in range(nd):
        key = f"l{L - 1}" + ("_reverse" if d else "")
        np.testing.assert_array_equal(tr[key]["h"], out[..., d * H:(d + 1) * H])
    # the last step (t = T-1 forward, t = 0 reverse) gives h_n and, for the LSTM, c_n
    for li in range(L):
        for d in range(nd):
            key = f"l{li}" + ("_reverse" if d else "")
            last = 0 if d else -1
            np.testing.assert_array_equal(np.take(tr[key]["h"], last, axis=time_axis), h_n[li * nd + d])
            if mode == "LSTM":
                np.testing.assert_array_equal(np.take(tr[key]["C"], last, axis=time_axis), s_n[1][li * nd + d])
                np.testing.assert_allclose(tr[key]["h"], tr[key]["o"] * np.tanh(tr[key]["C"]), rtol=0, atol=1e-15)
            if mode == "RNN":
                f = np.tanh if kw["nonlinearity"] == "tanh" else (lambda a: np.maximum(a, 0))
                np.testing.assert_allclose(tr[key]["h"], f(tr[key]["a"]), rtol=0, atol=1e-15)


def test_traces_are_copies_and_layer_input_to_next_layer():
    layer = companion.LSTM(2, 3, num_layers=2, bidirectional=True, seed=0)
    x = np.random.default_rng(0).normal(size=(4, 2, 2))
    out, _ = layer(x)
    tr = layer.traces
    # layer 1's input is layer 0's two directions concatenated: check via a one-layer copy
    l1 = companion.LSTM(6, 3, bidirectional=True)
    for n in l1.params:
        l1.params[n][...] = layer.params[n.replace("_l0", "_l1")]
    out1, _ = l1(np.concatenate([tr["l0"]["h"], tr["l0_reverse"]["h"]], axis=-1))
    np.testing.assert_allclose(out1, out, rtol=0, atol=1e-15)
    tr["l0"]["h"][...] = 123.0
    assert not np.any(layer.traces["l0"]["h"] == 123.0)
    dx, _ = layer.backward(np.ones_like(out))
    assert np.isfinite(dx).all()


def test_traces_before_forward_raise():
    with pytest.raises(RuntimeError, match=r"traces: no forward pass recorded"):
        _ = companion.GRU(2, 3).traces


def test_cell_weights_names_and_views():
    lstm = companion.LSTM(2, 3, num_layers=2, bidirectional=True, peephole="diagonal", seed=1)
    w = lstm.cell_weights(1, 1)
    assert set(w) == set(companion.cells.LSTM_WEIGHTS) | {"w_ci", "w_cf", "w_co"}
    H = 3
    for k, g in enumerate("ifCo"):     # torch order i, f, g, o
        np.testing.assert_array_equal(w[f"W_x{g}"], lstm.params["weight_ih_l1_reverse"][k * H:(k + 1) * H])
        np.testing.assert_array_equal(w[f"W_h{g}"], lstm.params["weight_hh_l1_reverse"][k * H:(k + 1) * H])
        np.testing.assert_array_equal(w[f"b_{g}"], lstm.params["bias_ih_l1_reverse"][k * H:(k + 1) * H]
                                      + lstm.params["bias_hh_l1_reverse"][k * H:(k + 1) * H])
        assert np.shares_memory(w[f"W_x{g}"], lstm.params["weight_ih_l1_reverse"])
    gru = companion.GRU(2, 3, bias=False)
    assert set(gru.cell_weights()) == set(companion.cells.GRU_WEIGHTS)
    assert not np.any(gru.cell_weights()["b_z"])
    rnn = companion.RNN(2, 3)
    assert set(rnn.cell_weights()) == {"U", "W", "b"}
    with pytest.raises(ValueError, match=r"layer, direction: expected 0 <= layer < 2 and 0 <= direction < 2, got 2, 0"):
        lstm.cell_weights(2, 0)
    with pytest.raises(ValueError, match=r"0 <= direction < 1, got 0, 1"):
        rnn.cell_weights(0, 1)


@pytest.mark.parametrize("peephole", [None, "diagonal", "full"])
def test_lstm_step_loop_over_cell_weights_equals_layer(peephole):
    layer = companion.LSTM(3, 4, peephole=peephole, batch_first=True, seed=2)
    for n, p in layer.params.items():
        if n.startswith(("weight_ci", "weight_cf", "weight_co")):
            p[...] = np.random.default_rng(3).normal(size=p.shape)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 6, 3))
    h0, c0 = rng.normal(size=(1, 2, 4)), rng.normal(size=(1, 2, 4))
    out, (h_n, c_n) = layer(x, (h0, c0))
    w = layer.cell_weights()
    h, C = h0[0], c0[0]
    tr = layer.traces["l0"]
    for t in range(6):
        st = companion.lstm_step(x[:, t], h, C, w, peephole=peephole)
        for name, trace_name in (("f_t", "f"), ("i_t", "i"), ("C_tilde_t", "C_tilde"), ("C_t", "C"),
                                 ("o_t", "o"), ("h_t", "h")):
            np.testing.assert_allclose(getattr(st, name), tr[trace_name][:, t], rtol=0, atol=1e-14,
                                       err_msg=f"{name} at t={t}")
        h, C = st.h_t, st.C_t
    np.testing.assert_allclose(h, h_n[0], rtol=0, atol=1e-14)
    np.testing.assert_allclose(C, c_n[0], rtol=0, atol=1e-14)


# --------------------------------------------------------------------------- the layers follow the schema

LAYER_FORMS = [("RNN", "rnn", {}), ("RNN", "rnn", {"nonlinearity": "relu"}), ("LSTM", "lstm", {}),
               ("LSTM", "lstm", {"peephole": "diagonal"}), ("LSTM", "lstm", {"peephole": "full"}),
               ("GRU", "gru", {}), ("GRU", "gru", {"variant": "lecture"})]


@pytest.mark.parametrize("mode,kind,kw", LAYER_FORMS, ids=[f"{m}-{kw}" for m, _, kw in LAYER_FORMS])
def test_cell_weights_have_the_schemas_names_and_shapes(mode, kind, kw):
    """cell_weights of every layer and direction: exactly companion.cells' names, in the schema's
    gate order (peepholes last), of the schema's shapes for the layer's input size (D in layer
    0, 2H above it when bidirectional); the peephole parameters have the schema's shapes too."""
    D, H = 3, 5
    layer = getattr(companion, mode)(D, H, num_layers=2, bidirectional=True, seed=0, **kw)
    peephole = kw.get("peephole")
    names = companion.cells.weight_names(kind, peephole)
    for li, D_l in ((0, D), (1, 2 * H)):
        shapes = companion.cells.weight_shapes(kind, D_l, H, peephole)
        for d in (0, 1):
            w = layer.cell_weights(li, d)
            assert set(w) == set(names)
            peeps = companion.cells.PEEPHOLE_WEIGHTS
            assert [n for n in w if n not in peeps] == [n for n in names if n not in peeps]
            assert {n: v.shape for n, v in w.items()} == shapes
            for n in peeps if peephole else ():
                sfx = f"_l{li}" + ("_reverse" if d else "")
                assert layer.params[f"weight{n[1:]}{sfx}"].shape == shapes[n]
                assert np.shares_memory(w[n], layer.params[f"weight{n[1:]}{sfx}"])


def test_the_layers_declare_their_hooks():
    """_Recurrent declares the hooks a layer must fill in (abstract: it cannot be built itself),
    each layer fills them, and each GRU variant has its forward/backward pair."""
    from companion import layers
    assert layers._Recurrent.__abstractmethods__ == {"_dir_forward", "_dir_backward", "_trace", "_step"}
    with pytest.raises(TypeError, match="abstract"):
        layers._Recurrent(2, 3)
    for cls in (layers.RNN, layers.LSTM, layers.GRU):
        assert not cls.__abstractmethods__, cls
        assert len(cls._gates) == {"RNN": 1, "LSTM": 4, "GRU": 3}[cls._mode]
    assert set(layers._GRU_FORMS) == set(companion.cells.GRU_VARIANTS)
