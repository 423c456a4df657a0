"""Parity with torch.nn.RNN / LSTM / GRU: forward output, final state, d_x, d_state0 and
every parameter gradient, for many random configurations (numpy-ml's template).

For each configuration: build the torch module, copy it into companion with
``from_torch`` (and, separately, build a companion layer and copy it to torch with
``to_torch``), run both forward, backpropagate the same random upstream gradient on
the output AND on the final state (h_n, and c_n for the LSTM), and compare every
tensor with a message naming the tensor and the configuration.

float64: max|a - b| / max|b| <= 1e-10; float32: <= 1e-5.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch  # a pinned test requirement: a missing torch must fail, not skip

import companion

torch.set_num_threads(1)

MODULES = {"RNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}
TOL = {np.float64: 1e-10, np.float32: 1e-5}


def rel(a, b):
    """Scale-free distance: max |a - b| / max(|b|, tiny)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    assert a.shape == b.shape, f"shape {a.shape} != {b.shape}"
    return float(np.abs(a - b).max(initial=0.0) / max(np.abs(b).max(initial=0.0), 1e-30))


def assert_close(name, ours, theirs, cfg, tol):
    ours = np.asarray(ours)
    theirs = theirs.detach().cpu().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{name}: shape {ours.shape} != torch {theirs.shape} [{cfg}]"
    err = rel(ours, theirs)
    assert err <= tol, f"{name}: relative error {err:.3e} > {tol:g} [{cfg}]"


def make_configs(n=42, seed=20240605):
    """Seeded random configurations, cycling over the three cell types."""
    rng = np.random.default_rng(seed)
    configs = []
    for k in range(n):
        mode = ("RNN", "LSTM", "GRU")[k % 3]
        cfg = dict(
            mode=mode,
            num_layers=int(rng.integers(1, 4)),
            bidirectional=bool(rng.integers(2)),
            batch_first=bool(rng.integers(2)),
            bias=bool(rng.integers(2)),
            D=int(rng.integers(1, 6)),
            H=int(rng.integers(1, 6)),
            T=int(rng.choice([1, 2, 3, 5, 7])),
            B=int(rng.choice([1, 2, 3, 4])),
            unbatched=bool(rng.random() < 0.2),
            with_state=bool(rng.integers(2)),
            nonlinearity=str(rng.choice(["tanh", "relu"])) if mode == "RNN" else None,
            seed=int(rng.integers(2 ** 31)),
        )
        configs.append(cfg)
    return configs


EDGE_CASES = [
    # T = 1 and B = 1, every cell, both directions
    *[dict(mode=m, num_layers=1, bidirectional=bd, batch_first=False, bias=True, D=3, H=4, T=1, B=1,
           unbatched=False, with_state=True, nonlinearity="tanh" if m == "RNN" else None, seed=1)
      for m in ("RNN", "LSTM", "GRU") for bd in (False, True)],
    # unbatched (T, D) input, deep and bidirectional
    *[dict(mode=m, num_layers=3, bidirectional=True, batch_first=bf, bias=True, D=2, H=3, T=4, B=1,
           unbatched=True, with_state=ws, nonlinearity="relu" if m == "RNN" else None, seed=2)
      for m in ("RNN", "LSTM", "GRU") for bf, ws in ((False, True), (True, False))],
    # unbatched with T = 1
    *[dict(mode=m, num_layers=2, bidirectional=False, batch_first=False, bias=False, D=1, H=1, T=1, B=1,
           unbatched=True, with_state=True, nonlinearity="tanh" if m == "RNN" else None, seed=3)
      for m in ("RNN", "LSTM", "GRU")],
    # batch_first with B = 1, no bias, relu
    dict(mode="RNN", num_layers=2, bidirectional=True, batch_first=True, bias=False, D=4, H=2, T=6, B=1,
         unbatched=False, with_state=False, nonlinearity="relu", seed=4),
    # a longer sequence
    *[dict(mode=m, num_layers=2, bidirectional=True, batch_first=True, bias=True, D=3, H=5, T=25, B=3,
           unbatched=False, with_state=True, nonlinearity="tanh" if m == "RNN" else None, seed=5)
      for m in ("RNN", "LSTM", "GRU")],
]


def cfg_id(c):
    return (f"{c['mode']}-L{c['num_layers']}-{'bi' if c['bidirectional'] else 'uni'}"
            f"-{'bf' if c['batch_first'] else 'tm'}-{'b' if c['bias'] else 'nob'}"
            f"-D{c['D']}H{c['H']}T{c['T']}B{c['B']}{'-unb' if c['unbatched'] else ''}"
            f"{'-s0' if c['with_state'] else ''}{'-' + c['nonlinearity'] if c['nonlinearity'] else ''}")


RANDOM_CONFIGS = make_configs()


def test_random_configs_cover_the_space():
    """The generated list really spans the options the spec names."""
    seen = {k: {c[k] for c in RANDOM_CONFIGS} for k in
            ("mode", "num_layers", "bidirectional", "batch_first", "bias", "unbatched", "with_state")}
    assert seen["mode"] == {"RNN", "LSTM", "GRU"}
    assert seen["num_layers"] == {1, 2, 3}
    for k in ("bidirectional", "batch_first", "bias", "unbatched", "with_state"):
        assert seen[k] == {False, True}, k
    assert {c["nonlinearity"] for c in RANDOM_CONFIGS if c["mode"] == "RNN"} == {"tanh", "relu"}
    assert any(c["T"] == 1 for c in RANDOM_CONFIGS) and any(c["B"] == 1 for c in RANDOM_CONFIGS)
    assert len(RANDOM_CONFIGS) >= 40


def torch_module(c, dtype):
    torch.manual_seed(c["seed"])
    kw = dict(num_layers=c["num_layers"], bias=c["bias"], batch_first=c["batch_first"],
              bidirectional=c["bidirectional"], dtype=dtype)
    if c["mode"] == "RNN":
        kw["nonlinearity"] = c["nonlinearity"]
    return MODULES[c["mode"]](c["D"], c["H"], **kw)


def companion_layer(c, dtype):
    kw = dict(num_layers=c["num_layers"], bias=c["bias"], batch_first=c["batch_first"],
              bidirectional=c["bidirectional"], dtype=dtype, seed=c["seed"])
    if c["mode"] == "RNN":
        kw["nonlinearity"] = c["nonlinearity"]
    return getattr(companion, c["mode"])(c["D"], c["H"], **kw)


def make_data(c, np_dtype):
    rng = np.random.default_rng(c["seed"] + 7)
    T, B, D, H = c["T"], c["B"], c["D"], c["H"]
    LD = c["num_layers"] * (2 if c["bidirectional"] else 1)
    if c["unbatched"]:
        x_shape, s_shape = (T, D), (LD, H)
    else:
        x_shape = (B, T, D) if c["batch_first"] else (T, B, D)
        s_shape = (LD, B, H)
    x = rng.standard_normal(x_shape).astype(np_dtype)
    state = None
    if c["with_state"]:
        h0 = (0.5 * rng.standard_normal(s_shape)).astype(np_dtype)
        state = (h0, (0.5 * rng.standard_normal(s_shape)).astype(np_dtype)) if c["mode"] == "LSTM" else h0
    return rng, x, state


def run_torch(module, x, state, c, rng, torch_dtype):
    """Forward, then autograd of L = <R_out, output> + <R_h, h_n> (+ <R_c, c_n>)."""
    xt = torch.tensor(x, dtype=torch_dtype, requires_grad=True)
    if state is None:
        st = None
    elif isinstance(state, tuple):
        st = tuple(torch.tensor(s, dtype=torch_dtype, requires_grad=True) for s in state)
    else:
        st = torch.tensor(state, dtype=torch_dtype, requires_grad=True)
    out, s_n = module(xt, st)
    s_n_list = list(s_n) if isinstance(s_n, tuple) else [s_n]
    R_out = rng.standard_normal(tuple(out.shape))
    R_st = [rng.standard_normal(tuple(s.shape)) for s in s_n_list]
    loss = (out * torch.tensor(R_out, dtype=torch_dtype)).sum()
    for s, r in zip(s_n_list, R_st, strict=True):
        loss = loss + (s * torch.tensor(r, dtype=torch_dtype)).sum()
    loss.backward()
    st_list = [] if st is None else (list(st) if isinstance(st, tuple) else [st])
    return dict(out=out, s_n=s_n_list, x_grad=xt.grad, st_grad=[s.grad for s in st_list],
                R_out=R_out, R_st=R_st,
                grads={n: p.grad for n, p in module.named_parameters()})


def compare(layer, module, c, np_dtype, torch_dtype, where):
    tol = TOL[np_dtype]
    cid = f"{cfg_id(c)} {np.dtype(np_dtype).name} {where}"
    rng, x, state = make_data(c, np_dtype)
    ref = run_torch(module, x, state, c, rng, torch_dtype)

    out, s_n = layer(x, state)
    assert out.dtype == np_dtype, f"output dtype {out.dtype} [{cid}]"
    assert_close("output", out, ref["out"], cid, tol)
    s_n_list = list(s_n) if isinstance(s_n, tuple) else [s_n]
    assert isinstance(s_n, tuple) == (c["mode"] == "LSTM"), f"state type [{cid}]"
    for k, (ours, theirs) in enumerate(zip(s_n_list, ref["s_n"], strict=True)):
        assert_close(("h_n", "c_n")[k], ours, theirs, cid, tol)

    d_state = tuple(ref["R_st"]) if c["mode"] == "LSTM" else ref["R_st"][0]
    d_x, d_state0 = layer.backward(ref["R_out"], d_state)
    assert_close("d_x", d_x, ref["x_grad"], cid, tol)
    d0 = list(d_state0) if isinstance(d_state0, tuple) else [d_state0]
    assert isinstance(d_state0, tuple) == (c["mode"] == "LSTM"), f"d_state0 type [{cid}]"
    if state is not None:
        for k, (ours, theirs) in enumerate(zip(d0, ref["st_grad"], strict=True)):
            assert_close(("d_h0", "d_c0")[k], ours, theirs, cid, tol)
    else:   # still shaped like the state torch would take, and equal to the explicit-zero-state case
        LD = c["num_layers"] * (2 if c["bidirectional"] else 1)
        shape = (LD, c["H"]) if c["unbatched"] else (LD, c["B"], c["H"])
        for s in d0:
            assert s.shape == shape, f"d_state0 shape {s.shape} != {shape} [{cid}]"

    assert set(layer.grads) == set(ref["grads"]) == set(layer.params), f"grad keys [{cid}]"
    for name, g in ref["grads"].items():
        assert layer.grads[name].shape == tuple(g.shape), f"grads[{name}] shape [{cid}]"
        assert_close(f"grads[{name}]", layer.grads[name], g, cid, tol)


ALL_CONFIGS = RANDOM_CONFIGS + EDGE_CASES


@pytest.mark.parametrize("c", ALL_CONFIGS, ids=[cfg_id(c) for c in ALL_CONFIGS])
def test_parity_from_torch_float64(c):
    module = torch_module(c, torch.float64)
    layer = companion.from_torch(module)
    assert type(layer) is getattr(companion, c["mode"])
    assert layer.dtype == np.float64
    # params keyed and shaped exactly like named_parameters, in the same order
    names = [n for n, _ in module.named_parameters()]
    assert list(layer.params) == names
    for n, p in module.named_parameters():
        assert layer.params[n].shape == tuple(p.shape), n
        np.testing.assert_array_equal(layer.params[n], p.detach().numpy(), err_msg=n)
    assert layer.num_parameters() == sum(p.numel() for p in module.parameters())
    compare(layer, module, c, np.float64, torch.float64, "from_torch")


@pytest.mark.parametrize("c", ALL_CONFIGS[::2], ids=[cfg_id(c) for c in ALL_CONFIGS[::2]])
def test_parity_to_torch_float64(c):
    """The reverse path: a companion layer (own seeded init) copied into torch with to_torch."""
    layer = companion_layer(c, np.float64)
    module = layer.to_torch()
    assert type(module) is MODULES[c["mode"]]
    for attr in ("num_layers", "bias", "batch_first", "bidirectional", "input_size", "hidden_size"):
        assert getattr(module, attr) == getattr(layer, attr), attr
    if c["mode"] == "RNN":
        assert module.nonlinearity == c["nonlinearity"]
    for n, p in module.named_parameters():
        assert p.dtype == torch.float64
        np.testing.assert_array_equal(p.detach().numpy(), layer.params[n], err_msg=n)
    compare(layer, module, c, np.float64, torch.float64, "to_torch")


@pytest.mark.parametrize("c", ALL_CONFIGS[1::3], ids=[cfg_id(c) for c in ALL_CONFIGS[1::3]])
def test_parity_float32(c):
    """float32 companion (from_torch(m, dtype=np.float32)) against a float32 torch module."""
    module = torch_module(c, torch.float32)
    layer = companion.from_torch(module, dtype=np.float32)
    assert layer.dtype == np.float32
    assert all(p.dtype == np.float32 for p in layer.params.values())
    compare(layer, module, c, np.float32, torch.float32, "from_torch float32")
    assert all(g.dtype == np.float32 for g in layer.grads.values())


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_float32_to_torch_gives_float32_module(mode):
    layer = getattr(companion, mode)(3, 4, dtype=np.float32, seed=0)
    module = layer.to_torch()
    assert all(p.dtype == torch.float32 for p in module.parameters())


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_from_torch_default_dtype_is_float64_even_for_float32_module(mode):
    module = MODULES[mode](2, 3)
    layer = companion.from_torch(module)
    assert layer.dtype == np.float64
    for n, p in module.named_parameters():
        np.testing.assert_array_equal(layer.params[n], p.detach().double().numpy())


def test_from_torch_copies_not_shares():
    module = torch.nn.GRU(2, 3, dtype=torch.float64)
    layer = companion.from_torch(module)
    before = layer.params["weight_hh_l0"].copy()
    with torch.no_grad():
        module.weight_hh_l0.add_(1.0)
    np.testing.assert_array_equal(layer.params["weight_hh_l0"], before)


def test_from_torch_refuses_lstm_projection():
    module = torch.nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match=r"proj_size=2.*not supported"):
        companion.from_torch(module)


def test_from_torch_refuses_other_modules():
    with pytest.raises(ValueError, match=r"module: expected a torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU, got Linear"):
        companion.from_torch(torch.nn.Linear(2, 3))


def test_from_torch_refuses_bad_dtype():
    with pytest.raises(ValueError, match=r"dtype: expected np.float32 or np.float64"):
        companion.from_torch(torch.nn.RNN(2, 3), dtype=np.int64)


def test_to_torch_refuses_peephole_and_lecture():
    with pytest.raises(ValueError, match=r"no peepholes.*'diagonal'"):
        companion.LSTM(2, 3, peephole="diagonal").to_torch()
    with pytest.raises(ValueError, match=r"no peepholes.*'full'"):
        companion.to_torch(companion.LSTM(2, 3, peephole="full"))
    with pytest.raises(ValueError, match=r"variant='torch' only, got variant='lecture'"):
        companion.GRU(2, 3, variant="lecture").to_torch()


def test_to_torch_refuses_non_layers():
    with pytest.raises(ValueError, match=r"layer: expected a companion RNN, LSTM or GRU, got OutputHead"):
        companion.to_torch(companion.OutputHead(3, 2))


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_round_trip_companion_torch_companion(mode):
    layer = getattr(companion, mode)(3, 4, num_layers=2, bidirectional=True, seed=11)
    back = companion.from_torch(layer.to_torch())
    assert list(back.params) == list(layer.params)
    for n in layer.params:
        np.testing.assert_array_equal(back.params[n], layer.params[n], err_msg=n)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_params_are_live(mode):
    """Changing a parameter array in place changes the layer's output (and torch agrees)."""
    layer = getattr(companion, mode)(3, 4, num_layers=2, seed=5)
    x = np.random.default_rng(0).standard_normal((5, 2, 3))
    out0, _ = layer(x)
    layer.params["weight_hh_l1"][...] *= 2.0
    layer.params["bias_ih_l0"][0] += 1.0
    out1, _ = layer(x)
    assert np.abs(out1 - out0).max() > 1e-6
    ref, _ = layer.to_torch()(torch.tensor(x))
    assert rel(out1, ref.detach().numpy()) <= 1e-10


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_unbatched_equals_batch_of_one(mode):
    layer = getattr(companion, mode)(3, 4, num_layers=2, bidirectional=True, seed=2)
    x = np.random.default_rng(1).standard_normal((6, 3))
    out_u, st_u = layer(x)
    dx_u, ds_u = layer.backward(np.ones_like(out_u))
    g_u = {k: v.copy() for k, v in layer.grads.items()}
    out_b, st_b = layer(x[:, None, :])
    dx_b, ds_b = layer.backward(np.ones_like(out_b))
    np.testing.assert_allclose(out_u, out_b[:, 0], rtol=0, atol=1e-14)
    np.testing.assert_allclose(dx_u, dx_b[:, 0], rtol=0, atol=1e-14)
    for a, b in zip(st_u if isinstance(st_u, tuple) else (st_u,), st_b if isinstance(st_b, tuple) else (st_b,),
                    strict=True):
        np.testing.assert_allclose(a, b[:, 0], rtol=0, atol=1e-14)
    for a, b in zip(ds_u if isinstance(ds_u, tuple) else (ds_u,), ds_b if isinstance(ds_b, tuple) else (ds_b,),
                    strict=True):
        np.testing.assert_allclose(a, b[:, 0], rtol=0, atol=1e-14)
    for k in g_u:
        np.testing.assert_allclose(g_u[k], layer.grads[k], rtol=0, atol=1e-13, err_msg=k)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_backward_defaults_and_repeatability(mode):
    """d_output=None / d_state=None mean zeros; backward twice gives the same grads (replaced,
    not accumulated), and grads is None again after the next forward."""
    layer = getattr(companion, mode)(2, 3, num_layers=2, bidirectional=True, batch_first=True, seed=3)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 2))
    out, st = layer(x)
    zero_state = tuple(np.zeros_like(s) for s in st) if isinstance(st, tuple) else np.zeros_like(st)
    dx1, _ = layer.backward(np.ones_like(out))
    g1 = {k: v.copy() for k, v in layer.grads.items()}
    dx2, _ = layer.backward(np.ones_like(out), zero_state)
    np.testing.assert_array_equal(dx1, dx2)
    for k in g1:
        np.testing.assert_array_equal(g1[k], layer.grads[k], err_msg=k)
    dx0, ds0 = layer.backward()
    assert not np.any(dx0) and all(not np.any(g) for g in layer.grads.values())
    layer(x)
    assert layer.grads is None


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("scale", [30.0, 1e4])
def test_parity_with_saturating_inputs(mode, scale):
    """Large inputs drive the gates to 0/1 (sigmoid computed as 0.5 (1 + tanh(x/2))): still torch's
    numbers, with no warning and no NaN."""
    import warnings
    c = dict(mode=mode, num_layers=2, bidirectional=True, batch_first=False, bias=True, D=3, H=4, T=6, B=2,
             unbatched=False, with_state=True, nonlinearity="tanh" if mode == "RNN" else None, seed=21)
    module = torch_module(c, torch.float64)
    layer = companion.from_torch(module)
    rng = np.random.default_rng(22)
    x = scale * rng.standard_normal((6, 2, 3))
    xt = torch.tensor(x, requires_grad=True)
    out_t, s_t = module(xt)
    s_t = list(s_t) if isinstance(s_t, tuple) else [s_t]
    R = rng.standard_normal(tuple(out_t.shape))
    Rs = [rng.standard_normal(tuple(s.shape)) for s in s_t]
    loss = sum((s * torch.tensor(r)).sum() for s, r in zip(s_t, Rs, strict=True)) + (out_t * torch.tensor(R)).sum()
    loss.backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            out, s_n = layer(x)
            d_x, _ = layer.backward(R, tuple(Rs) if mode == "LSTM" else Rs[0])
    cid = f"{mode} scale={scale}"
    assert np.isfinite(out).all() and np.isfinite(d_x).all()
    assert_close("output", out, out_t, cid, 1e-10)
    for k, (a, b) in enumerate(zip(s_n if isinstance(s_n, tuple) else (s_n,), s_t, strict=True)):
        assert_close(("h_n", "c_n")[k], a, b, cid, 1e-10)
    # d_x is tiny where gates saturate; compare on the scale of the largest gradient
    assert np.abs(d_x - xt.grad.numpy()).max() <= 1e-10 * max(np.abs(xt.grad.numpy()).max(), 1.0), cid
    for n, p in module.named_parameters():
        assert_close(f"grads[{n}]", layer.grads[n], p.grad, cid, 1e-10)
