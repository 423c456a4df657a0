"""companion.gradient_flow (the gradient-flow widget's reference) and its widget class.

Properties that could fail: the linear RNN with W = rho Q decays by exactly rho per step; the
tanh RNN never above it; the step-by-step backward equals an independent one (the layer's own
backward restarted from every state); the LSTM's forget bias and the GRU's update bias move
the decay the way the slides say; the stream's documented order; no NaN at the extremes; bad
input refused naming the argument; the widget validates and computes with companion; the
shared vectors regenerate equal; chapter 05's paragraph holds at the widget's settings there.
"""
import json
import math
from pathlib import Path

import numpy as np
import pytest
import traitlets

from companion import LSTM, RNN
from companion import gradient_flow as gf
from companion.rng import SplitMix64

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "js" / "gradflow_vectors.json"


# --------------------------------------------------------------------------- the RNN

@pytest.mark.parametrize("rho", [0.0, 0.3, 0.9, 1.0, 1.1, 1.6, 2.0])
@pytest.mark.parametrize("seed,H", [(0, 16), (3, 1), (7, 5)])
def test_linear_rnn_decays_by_exactly_rho(rho, seed, H):
    f = gf.gradient_flow("rnn", rho=rho, nonlinearity="linear", seed=seed, H=H, T=100)
    assert abs(f.decay - rho) <= 1e-9
    k = np.arange(99, -1, -1)                        # T - t for t = 1..T
    np.testing.assert_allclose(f.norms, rho ** k, rtol=1e-12, atol=0)
    assert np.all(np.isfinite(f.grads))


def test_recurrent_matrix_has_spectral_radius_and_norm_rho():
    for seed, H in [(0, 16), (1, 7), (2, 2)]:
        p, _, _ = gf.setup("rnn", rho=1.3, seed=seed, H=H)
        W = p["weight_hh_l0"]
        np.testing.assert_allclose(W.T @ W, 1.69 * np.eye(H), atol=1e-13)     # 1.3 Q, Q orthogonal
        assert abs(np.abs(np.linalg.eigvals(W)).max() - 1.3) < 1e-12
        assert abs(np.linalg.norm(W, 2) - 1.3) < 1e-12


def test_orthogonal_is_gram_schmidt_of_the_columns():
    A = np.random.default_rng(0).normal(size=(6, 6))
    Q = gf.orthogonal(A)
    np.testing.assert_allclose(Q.T @ Q, np.eye(6), atol=1e-14)
    R = Q.T @ A                                      # A = Q R with R upper triangular, positive diagonal
    np.testing.assert_allclose(np.tril(R, -1), 0, atol=1e-13)
    assert np.all(np.diag(R) > 0)
    with pytest.raises(ValueError, match="^A:"):
        gf.orthogonal(np.zeros((3, 3)))


@pytest.mark.parametrize("rho", [0.5, 0.9, 1.0, 1.1, 1.5])
def test_tanh_rnn_never_above_the_linear_one(rho):
    # chapter 05: for W = rho Q each tanh factor can only shrink the gradient
    for seed in range(3):
        f = gf.gradient_flow("rnn", rho=rho, seed=seed, T=100, input_scale=1.0)
        assert np.all(f.norms <= rho ** np.arange(99, -1, -1) * (1 + 1e-12))
        assert f.decay <= rho + 1e-12
    assert gf.gradient_flow("rnn", rho=1.0).decay < 1               # the tanh shrinks where linear keeps


def test_rho_zero_gives_zero_not_nan():
    for nl in gf.NONLINEARITIES:
        f = gf.gradient_flow("rnn", rho=0.0, nonlinearity=nl)
        assert f.decay == 0.0 and np.all(f.norms[:-1] == 0) and f.norms[-1] == pytest.approx(1.0)


def test_norm_and_decay_never_underflow_or_nan():
    assert gf.norm(np.array([3e-200, 4e-200])) == pytest.approx(5e-200, rel=1e-15)
    assert gf.norm(np.array([3e200, 4e200])) == pytest.approx(5e200, rel=1e-15)
    assert gf.norm(np.zeros(4)) == 0.0
    assert gf.decay_factor(np.array([1e-300, 1.0])) == pytest.approx(1e-300)
    assert gf.decay_factor(np.array([0.0, 0.5, 1.0])) == 0.0
    with pytest.raises(ValueError, match="^norms:"):
        gf.decay_factor(np.array([1.0]))


@pytest.mark.parametrize("kind,extreme", [
    ("rnn", dict(rho=2.0, nonlinearity="linear")), ("rnn", dict(rho=2.0, input_scale=5.0)),
    ("rnn", dict(rho=0.05, nonlinearity="linear")), ("lstm", dict(forget_bias=6.0, input_scale=5.0)),
    ("lstm", dict(forget_bias=-6.0)), ("gru", dict(update_bias=6.0, input_scale=5.0)), ("gru", dict(update_bias=-6.0))])
def test_extremes_are_finite(kind, extreme):
    f = gf.gradient_flow(kind, T=100, H=16, D=16, **extreme)
    assert np.all(np.isfinite(f.grads)) and np.all(np.isfinite(f.norms)) and math.isfinite(f.decay)


# --------------------------------------------------------------------------- LSTM and GRU knobs

@pytest.mark.parametrize("seed", range(5))
def test_larger_forget_bias_slower_decay(seed):
    phi = [gf.gradient_flow("lstm", forget_bias=b, seed=seed).decay for b in (-1.0, 0.0, 1.0, 2.0)]
    assert phi == sorted(phi) and phi[0] < phi[-1], phi
    assert phi[1] < 0.7 and phi[-1] > 0.9, phi            # b_f = 0 vanishes; b_f = 2 nearly keeps


@pytest.mark.parametrize("seed", range(5))
def test_more_negative_update_bias_slower_decay(seed):
    # the slides' GRU: z_t weights the new candidate, so z_t near 0 (b_z << 0) keeps h and its gradient
    phi = [gf.gradient_flow("gru", update_bias=b, seed=seed).decay for b in (-6.0, -4.0, -2.0, 0.0, 2.0)]
    assert phi == sorted(phi, reverse=True), phi
    assert phi[1] > 0.97 and phi[3] < 0.7, phi


def test_knobs_act_on_their_cell_only():
    base = {k: gf.gradient_flow(k).decay for k in gf.KINDS}
    assert gf.gradient_flow("lstm", rho=0.1, nonlinearity="linear", update_bias=3.0).decay == base["lstm"]
    assert gf.gradient_flow("gru", rho=0.1, forget_bias=3.0).decay == base["gru"]
    assert gf.gradient_flow("rnn", forget_bias=3.0, update_bias=-3.0).decay == base["rnn"]


# --------------------------------------------------------------------------- the backward, independently

def _restarted(kind, T=12, H=4, D=3, seed=5, **kw):
    """g_t from the layer's own backward, restarted at every step from the recorded state: the
    gradient of u . h_T with respect to the state h_t, all other paths through later steps only."""
    layer, x, u = gf.make_layer(kind, T=T, H=H, D=D, seed=seed, **kw)
    out, _ = layer(x)
    tr = layer.traces["l0"]
    g = []
    for t in range(1, T + 1):
        if t == T:
            g.append(u)
            continue
        state = tr["h"][t - 1][None] if kind != "lstm" else (tr["h"][t - 1][None], tr["C"][t - 1][None])
        out2, _ = layer(x[t:], state)
        np.testing.assert_allclose(out2, out[t:], rtol=1e-12, atol=1e-14)   # the same trajectory
        d = np.zeros_like(out2)
        d[-1, 0] = u
        _, d0 = layer.backward(d)
        g.append((d0[0] if kind == "lstm" else d0)[0, 0])
    return np.array(g), gf.gradient_flow(kind, T=T, H=H, D=D, seed=seed, **kw)


@pytest.mark.parametrize("kind,kw", [("rnn", dict(rho=1.2, input_scale=1.0)), ("lstm", dict(forget_bias=1.0)),
                                     ("gru", dict(update_bias=-1.0, input_scale=2.0))])
def test_step_backward_equals_layer_backward_restarted(kind, kw):
    g, f = _restarted(kind, **kw)
    np.testing.assert_allclose(f.grads, g, rtol=1e-10, atol=1e-14)


def test_linear_rnn_equals_finite_differences():
    # h_t = W h_{t-1} + U x_t: dL/dh_t by finite differences of L = u . h_T from h_t (exact for a linear map)
    s = gf.check_settings("rnn", T=6, H=3, D=2, seed=1, rho=1.3, nonlinearity="linear")
    p, _, u = gf.setup("rnn", **s)
    W = p["weight_hh_l0"]
    f = gf.gradient_flow("rnn", **s)
    for t in range(1, 7):
        L = lambda h, t=t: u @ np.linalg.matrix_power(W, 6 - t) @ h  # noqa: E731
        fd = np.array([(L(e) - L(-e)) / 2 for e in np.eye(3)])
        np.testing.assert_allclose(f.grads[t - 1], fd, rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------- the stream

def test_stream_order_is_the_documented_one():
    s = gf.check_settings("lstm", T=7, H=3, D=2, seed=42, input_scale=0.5, forget_bias=1.5)
    p, x, u = gf.setup("lstm", **s)
    st = SplitMix64(42)
    raw_u = st.normal(3)
    A = st.normal(9).reshape(3, 3)
    k = 1 / math.sqrt(3)
    W_ih, W_hh = st.uniform(-k, k, 24).reshape(12, 2), st.uniform(-k, k, 36).reshape(12, 3)
    z = st.normal(14).reshape(7, 1, 2)
    np.testing.assert_allclose(u, raw_u / np.linalg.norm(raw_u), rtol=1e-15)
    np.testing.assert_array_equal(p["weight_ih_l0"], W_ih)
    np.testing.assert_array_equal(p["weight_hh_l0"], W_hh)
    np.testing.assert_array_equal(x, 0.5 * z)
    np.testing.assert_array_equal(p["bias_ih_l0"], [0, 0, 0, 1.5, 1.5, 1.5, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(p["bias_hh_l0"], np.zeros(12))
    r, _, _ = gf.setup("rnn", **{**s, "rho": 0.7})
    np.testing.assert_allclose(r["weight_hh_l0"], 0.7 * gf.orthogonal(A), rtol=0, atol=0)
    np.testing.assert_array_equal(r["weight_ih_l0"], W_ih[:3])
    g, _, _ = gf.setup("gru", **{**s, "update_bias": -2.0})
    np.testing.assert_array_equal(g["weight_hh_l0"], W_hh[:9])
    np.testing.assert_array_equal(g["bias_ih_l0"], [0, 0, 0, -2, -2, -2, 0, 0, 0])


def test_longer_sequence_only_adds_steps():
    short, long_ = gf.setup("gru", T=20, seed=3), gf.setup("gru", T=50, seed=3)
    for k in short[0]:
        np.testing.assert_array_equal(short[0][k], long_[0][k])
    np.testing.assert_array_equal(short[1], long_[1][:20])


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("name,value", [
    ("kind", "cnn"), ("T", 1), ("T", 101), ("T", 2.5), ("T", True), ("H", 0), ("H", 17), ("D", 17), ("seed", -1),
    ("seed", 2 ** 53), ("rho", -0.01), ("rho", 2.01), ("rho", float("nan")), ("rho", "1"), ("forget_bias", 6.5),
    ("update_bias", -7), ("input_scale", -1), ("input_scale", float("inf")), ("nonlinearity", "relu")])
def test_bad_input_names_the_argument(name, value):
    kw = {"kind": value} if name == "kind" else {name: value}
    with pytest.raises(ValueError, match=f"^{name}:"):
        gf.gradient_flow(**kw)


def test_unknown_setting_refused():
    with pytest.raises(ValueError, match="^rhoo:"):
        gf.gradient_flow("rnn", rhoo=0.5)


# --------------------------------------------------------------------------- the widget

def test_widget_outputs_are_companions():
    import companion.widgets as cw
    w = cw.GradientFlowExplorer(kind="all", T=30, rho=1.2, forget_bias=1.0)
    assert set(w.outputs) == set(gf.KINDS)
    for kind, out in w.outputs.items():
        f = gf.gradient_flow(kind, **{**gf.DEFAULTS, "T": 30, "rho": 1.2, "forget_bias": 1.0})
        assert out["decay"] == f.decay and out["norms"] == f.norms.tolist()
    w.kind = "gru"
    assert set(w.outputs) == {"gru"}
    w.update_bias = -3.0
    assert w.outputs["gru"]["decay"] == gf.gradient_flow("gru", update_bias=-3.0, T=30).decay
    assert w.static_state() == {"kind": "gru", **gf.DEFAULTS, "T": 30, "rho": 1.2, "forget_bias": 1.0,
                                "update_bias": -3.0}
    assert cw.static_html(w).count('data-cw-module="gradflow"') == 1


@pytest.mark.parametrize("name,value", [("kind", "cnn"), ("T", 1), ("T", 2.5), ("H", 17), ("rho", 3.0),
                                        ("rho", True), ("nonlinearity", "relu"), ("forget_bias", 9.0),
                                        ("update_bias", "x"), ("input_scale", -0.5), ("seed", -2)])
def test_widget_refuses_bad_values(name, value):
    import companion.widgets as cw
    w = cw.GradientFlowExplorer()
    before = (w.get_state(), dict(w.outputs))
    with pytest.raises(traitlets.TraitError, match=name):
        setattr(w, name, value)
    assert (w.get_state(), dict(w.outputs)) == before


def test_widget_update_all_or_nothing_and_outputs_read_only():
    import companion.widgets as cw
    w = cw.GradientFlowExplorer()
    with pytest.raises(traitlets.TraitError, match="^rho"):
        w.update(T=40, rho=5.0)
    assert w.T == 60 and w.rho == 0.9
    w.update(T=40, rho=1.0)
    assert w.outputs["rnn"]["decay"] == gf.gradient_flow("rnn", T=40, rho=1.0).decay
    with pytest.raises(traitlets.TraitError, match="outputs"):
        w.set_state({"outputs": {}})
    with pytest.raises(traitlets.TraitError, match="^outputs"):
        w.update(outputs={})
    with pytest.raises(ValueError, match="^rhoo:"):
        cw.GradientFlowExplorer(rhoo=1)


# --------------------------------------------------------------------------- chapter 05's paragraph

def test_chapter_05_claims_at_its_settings():
    """The paragraph beside cw.show(GradientFlowExplorer(kind="rnn", rho=0.9, input_scale=0.1))."""
    s = {**gf.DEFAULTS, "rho": 0.9, "input_scale": 0.1}
    phi = lambda kind, **kw: gf.gradient_flow(kind, **{**s, **kw}).decay  # noqa: E731
    assert phi("rnn") < 0.9                                         # vanishes, a little faster than 0.9
    for rho in (0.5, 0.9, 1.0, 1.5):                                # linear: exactly rho
        assert abs(phi("rnn", rho=rho, nonlinearity="linear") - rho) < 1e-9
    assert phi("rnn", rho=1.0) < 1                                  # tanh at rho = 1 vanishes
    assert 1 < phi("rnn", rho=1.5) < 1.2                            # grows, far less than 1.5
    assert phi("rnn", rho=1.5, input_scale=2.0) < 1                 # saturated by large inputs: vanishes
    assert phi("lstm") < 0.7 and phi("gru") < 0.7                   # b_f = b_z = 0: vanish as well
    assert phi("lstm", forget_bias=2.0) > 0.95 and phi("gru", update_bias=-4.0) > 0.95


# --------------------------------------------------------------------------- shared vectors

def test_vectors_regenerate_equal(tmp_path):
    fresh = tmp_path / "v.json"
    gf.write(fresh)
    new, old = fresh.read_text(), VECTORS.read_text()
    if new == old:
        return
    # not byte-identical: allow only last-bit differences of libm/BLAS (another platform)
    a, b = json.loads(new), json.loads(old)
    assert [c["name"] for c in a["cases"]] == [c["name"] for c in b["cases"]], \
        "tests/js/gradflow_vectors.json is stale: run `python -m companion.gradient_flow <that file>`"
    for ca, cb in zip(a["cases"], b["cases"], strict=True):
        assert ca["settings"] == cb["settings"] and ca["steps"] == cb["steps"], ca["name"]
        tol = gf.CHAOTIC_TOLERANCE if ca["chaotic"] else 1e-12
        np.testing.assert_allclose(ca["norms"], cb["norms"], rtol=tol, atol=0, err_msg=ca["name"])
        scale = np.array(cb["norms"])[np.array(cb["steps"]) - 1][:, None]
        assert np.all(np.abs(np.array(ca["grads"]) - np.array(cb["grads"])) <= tol * scale), ca["name"]
        assert abs(ca["decay"] - cb["decay"]) <= tol, ca["name"]


def test_vectors_cover_every_kind_and_knob():
    data = json.loads(VECTORS.read_text())
    cases = data["cases"]
    assert {c["kind"] for c in cases} == set(gf.KINDS)
    assert {c["settings"]["nonlinearity"] for c in cases if c["kind"] == "rnn"} == {"tanh", "linear"}
    assert len({c["settings"]["forget_bias"] for c in cases if c["kind"] == "lstm"}) >= 3
    assert len({c["settings"]["update_bias"] for c in cases if c["kind"] == "gru"}) >= 3
    assert data["tolerance"] == 1e-9 and sum(c["chaotic"] for c in cases) == 1


def test_the_layers_are_companions():
    # the reference runs companion's own layers: an RNN with tanh, an LSTM, the lecture GRU
    layer, x, _ = gf.make_layer("gru", T=9)
    assert layer.variant == "lecture" and x.shape == (9, 1, 4)
    rnn = gf.make_layer("rnn")[0]
    assert isinstance(rnn, RNN) and rnn.nonlinearity == "tanh"
    assert isinstance(gf.make_layer("lstm")[0], LSTM)


def test_chapter_09_claims_at_its_settings():
    """The paragraph proposed for chapter 09, beside
    cw.show(cw.GradientFlowExplorer(kind="all", T=61, input_scale=1.0))."""
    s = {**gf.DEFAULTS, "T": 61, "input_scale": 1.0}
    phi = {k: gf.gradient_flow(k, **s).decay for k in gf.KINDS}
    assert all(0.6 < p < 0.8 for p in phi.values()), phi                # all three vanish geometrically
    assert gf.gradient_flow("lstm", **{**s, "forget_bias": 4.0}).decay > 0.97   # keep-init's b_f
    assert gf.gradient_flow("gru", **{**s, "update_bias": -4.0}).decay > 0.97
