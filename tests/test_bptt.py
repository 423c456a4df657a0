"""companion.bptt.truncated_bptt: full BPTT when the window covers the sequence (bit for bit),
torch's ``h.detach()`` at the chunk boundaries otherwise, the slides' BPTT loop with the
gradient reset at the boundaries for the vanilla RNN, and bad arguments refused by name."""
from __future__ import annotations

import numpy as np
import pytest
import torch  # a pinned test requirement: a missing torch must fail, not skip

import companion
from companion.bptt import truncated_bptt

torch.set_num_threads(1)

D, H, K = 3, 4, 5


def make(kind, num_layers=1, seed=0, **kw):
    cls = {"RNN": companion.RNN, "LSTM": companion.LSTM, "GRU": companion.GRU}[kind]
    return cls(D, H, num_layers=num_layers, seed=seed, **kw), companion.OutputHead(H, K, seed=seed + 1)


def data(T, B=None, seed=0):
    rng = np.random.default_rng(seed)
    shape = (T, D) if B is None else (T, B, D)
    return rng.normal(size=shape), rng.integers(0, K, size=shape[:-1])


def full(layer, head, x, y, state=None):
    """Full BPTT through the public API: one forward and one backward over the whole sequence."""
    out, h_n = layer(x, state)
    o, _ = head(out)
    L, d_o = head.loss(o, y)
    layer.backward(head.backward(d_o))
    return float(L), {n: g.copy() for n, g in layer.grads.items()}, dict(head.grads), h_n


def torch_truncated(layer, head, x, y, k, state=None):
    """The independent computation: torch's autograd with the state detached at every boundary."""
    module = layer.to_torch()
    V = torch.tensor(head.params["V"], requires_grad=True)
    c = torch.tensor(head.params["c"], requires_grad=True)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    B = x.shape[1] if x.ndim == 3 else 1
    s = state if state is None else (tuple(torch.from_numpy(a) for a in state) if isinstance(state, tuple)
                                     else torch.from_numpy(state))
    total = 0.0
    for start in range(0, x.shape[0], k):
        out, s = module(xt[start:start + k], s)
        o = out @ V.T + c
        L = torch.nn.functional.cross_entropy(o.reshape(-1, K), yt[start:start + k].reshape(-1),
                                              reduction="sum") / B
        L.backward()                                   # accumulates into .grad across chunks
        total += L.item()
        s = tuple(a.detach() for a in s) if isinstance(s, tuple) else s.detach()   # the cut
    grads = {n: p.grad.numpy() for n, p in module.named_parameters()}
    return total, grads, {"V": V.grad.numpy(), "c": c.grad.numpy()}


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max(initial=0.0) / max(np.abs(b).max(initial=0.0), 1e-30))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("k_extra", [0, 1, 100])
@pytest.mark.parametrize("B", [None, 2])
def test_a_window_covering_the_sequence_is_full_bptt_exactly(kind, k_extra, B):
    T = 6
    layer, head = make(kind)
    x, y = data(T, B)
    L, g, hg, h_n = full(layer, head, x, y)
    r = truncated_bptt(layer, head, x, y, k=T + k_extra)
    assert r.chunks == 1
    assert r.loss == L
    assert set(r.grads) == set(layer.params)
    for name in g:
        assert np.array_equal(r.grads[name], g[name]), name
    for name in hg:
        assert np.array_equal(r.head_grads[name], hg[name]), name
    for a, b in zip(r.state if isinstance(r.state, tuple) else (r.state,),
                    h_n if isinstance(h_n, tuple) else (h_n,), strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("kind,kw", [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}),
                                     ("GRU", {}), ("RNN", {"num_layers": 2}), ("LSTM", {"num_layers": 2})])
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("B", [None, 3])
def test_a_short_window_is_torch_with_the_state_detached_at_the_boundaries(kind, kw, k, B):
    T = 8                                   # k = 3: chunks of 3, 3, 2 (an uneven last one)
    layer, head = make(kind, **kw)
    x, y = data(T, B, seed=k)
    r = truncated_bptt(layer, head, x, y, k=k)
    L, g, hg = torch_truncated(layer, head, x, y, k)
    cfg = f"{kind} {kw} k={k} B={B}"
    assert r.chunks == -(-T // k), cfg
    assert abs(r.loss - L) <= 1e-12 * abs(L), cfg
    for name in layer.params:
        assert rel(r.grads[name], g[name]) <= 1e-10, f"{name} [{cfg}]"
    for name in ("V", "c"):
        assert rel(r.head_grads[name], hg[name]) <= 1e-10, f"{name} [{cfg}]"


def test_an_initial_state_is_carried_in():
    layer, head = make("LSTM")
    x, y = data(6, 2)
    rng = np.random.default_rng(5)
    s0 = (rng.normal(size=(1, 2, H)), rng.normal(size=(1, 2, H)))
    r = truncated_bptt(layer, head, x, y, k=4, state=s0)
    L, g, _ = torch_truncated(layer, head, x, y, 4, state=s0)
    assert abs(r.loss - L) <= 1e-12 * abs(L)
    for name in layer.params:
        assert rel(r.grads[name], g[name]) <= 1e-10, name


def test_truncation_changes_the_recurrent_gradients_but_not_the_forward_pass_or_the_head():
    T, k = 12, 3
    layer, head = make("RNN")
    x, y = data(T, 2)
    L, g, hg, h_n = full(layer, head, x, y)
    r = truncated_bptt(layer, head, x, y, k=k)
    assert abs(r.loss - L) <= 1e-12 * L                  # the same forward pass, carried
    assert np.allclose(r.state, h_n, rtol=0, atol=1e-13)
    for name in ("V", "c"):                              # no path through time: exact
        assert rel(r.head_grads[name], hg[name]) <= 1e-12, name
    for name in ("weight_hh_l0", "weight_ih_l0", "bias_ih_l0"):
        assert rel(r.grads[name], g[name]) > 1e-6, f"{name}: the cut removed nothing"


def test_the_slides_bptt_loop_with_the_gradient_reset_at_each_boundary():
    """Vanilla RNN, slides' symbols: the loop of chapter 02 with dL/da(t+1) set to 0 where t
    is the last step of a chunk gives the truncated gradient."""
    T, k = 10, 4
    layer, head = make("RNN")
    x, y = data(T)
    U, W = layer.params["weight_ih_l0"], layer.params["weight_hh_l0"]
    b = layer.params["bias_ih_l0"] + layer.params["bias_hh_l0"]
    V, c = head.params["V"], head.params["c"]
    h_s, h_prev = [], np.zeros(H)
    for t in range(T):
        h_prev = np.tanh(b + W @ h_prev + U @ x[t])
        h_s.append(h_prev)
    dW, dU, db, da_next = np.zeros_like(W), np.zeros_like(U), np.zeros(H), np.zeros(H)
    for t in reversed(range(T)):
        if (t + 1) % k == 0:                  # t is the last step of a chunk: nothing from after it
            da_next = np.zeros(H)
        do_t = companion.softmax(c + V @ h_s[t]) - np.eye(K)[y[t]]
        da_t = (V.T @ do_t + W.T @ da_next) * (1 - h_s[t] ** 2)
        h_before = h_s[t - 1] if t > 0 else np.zeros(H)
        dW += np.outer(da_t, h_before)
        dU += np.outer(da_t, x[t])
        db += da_t
        da_next = da_t
    r = truncated_bptt(layer, head, x, y, k=k)
    assert rel(r.grads["weight_hh_l0"], dW) <= 1e-12
    assert rel(r.grads["weight_ih_l0"], dU) <= 1e-12
    assert rel(r.grads["bias_ih_l0"], db) <= 1e-12


@pytest.mark.parametrize("k", [1, 3, 5, 9])
def test_stored_floats_grow_with_the_window_not_the_sequence(k):
    T, B, L = 9, 2, 2
    layer, head = make("RNN", num_layers=L)
    x, y = data(T, B)
    r = truncated_bptt(layer, head, x, y, k=k)
    assert r.stored_floats == 2 * min(k, T) * B * H * L      # a(t) and h(t) of each layer, one chunk


def test_the_layer_and_head_are_left_unchanged():
    layer, head = make("GRU")
    before = {n: p.copy() for n, p in layer.params.items()} | {n: p.copy() for n, p in head.params.items()}
    x, y = data(7, 2)
    x0, y0 = x.copy(), y.copy()
    truncated_bptt(layer, head, x, y, k=2)
    after = dict(layer.params) | dict(head.params)
    assert all(np.array_equal(before[n], after[n]) for n in before)
    assert np.array_equal(x, x0) and np.array_equal(y, y0)


class NotALayer:
    hidden_size = H


@pytest.mark.parametrize("change,argument", [
    ({"k": 0}, "k"), ({"k": -2}, "k"), ({"k": 1.5}, "k"), ({"k": True}, "k"), ({"k": "2"}, "k"),
    ({"k": None}, "k"),
    ({"layer": NotALayer()}, "layer"),
    ({"layer": companion.RNN(D, H, bidirectional=True)}, "layer"),
    ({"layer": companion.RNN(D, H, batch_first=True)}, "layer"),
    ({"head": companion.OutputHead(H + 1, K)}, "head"), ({"head": "V"}, "head"),
    ({"targets": np.zeros(5, dtype=int)}, "targets"), ({"targets": np.zeros(6)}, "targets"),
    ({"targets": np.full(6, K)}, "targets"), ({"targets": np.full(6, -1)}, "targets"),
    ({"targets": np.zeros(6, dtype=bool)}, "targets"),
    ({"x": np.zeros((6, D + 1))}, "x"), ({"x": np.zeros(6)}, "x"), ({"x": np.zeros((0, D))}, "x"),
    ({"x": np.full((6, D), np.nan)}, "x"), ({"x": "abc"}, "x"),
])
def test_bad_arguments_are_refused_by_name(change, argument):
    layer, head = make("RNN")
    x, y = data(6)
    args = {"layer": layer, "head": head, "x": x, "targets": y, "k": 2} | change
    if argument == "x" and "targets" not in change and np.ndim(args["x"]) >= 1 and np.shape(args["x"])[0] != 6:
        args["targets"] = np.zeros(np.shape(args["x"])[:1], dtype=int)
    with pytest.raises(ValueError, match=rf"^{argument}:"):
        truncated_bptt(**args)


@pytest.mark.parametrize("num_layers", [1, 2])
def test_without_recurrent_weights_no_path_crosses_a_boundary_and_the_cut_changes_nothing(num_layers):
    """Vanilla RNN with W = 0 in every layer: no gradient flows from one step's state to the step
    before, so truncation has nothing to cut and the truncated gradients are the full ones. (Not
    so for the LSTM and GRU: C(t-1) and h(t-1) reach the next step also past the weights.)"""
    layer, head = make("RNN", num_layers=num_layers)
    for n in range(num_layers):
        layer.params[f"weight_hh_l{n}"][...] = 0.0
    x, y = data(9, 2)
    L, g, hg, _ = full(layer, head, x, y)
    r = truncated_bptt(layer, head, x, y, k=2)
    assert abs(r.loss - L) <= 1e-12 * L
    for name in g:
        assert rel(r.grads[name], g[name]) <= 1e-12, name
    for name in hg:
        assert rel(r.head_grads[name], hg[name]) <= 1e-12, name
