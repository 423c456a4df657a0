"""companion.optim against torch.optim, step by step, and its refusals."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import companion
from companion.optim import SGD, Adam, clip_grad_norm, global_norm

torch = pytest.importorskip("torch")

SHAPES = {"W": (4, 3), "b": (4,), "V": (2, 4)}


def _params(seed):
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(s) for k, s in SHAPES.items()}


def _grad_stream(seed, steps):
    rng = np.random.default_rng(seed + 1000)
    # gradients of very different sizes, as training sees: Adam's normalisation matters
    return [{k: rng.standard_normal(s) * 10.0 ** rng.integers(-4, 3) for k, s in SHAPES.items()}
            for _ in range(steps)]


def _run_both(make_ours, make_torch, seed, steps=20):
    ours = _params(seed)
    theirs = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in ours.items()}
    opt, topt = make_ours(ours), make_torch(list(theirs.values()))
    worst = 0.0
    for grads in _grad_stream(seed, steps):
        for k, t in theirs.items():
            t.grad = torch.tensor(grads[k])
        topt.step()
        opt.step(grads)
        worst = max(worst, max(float(np.abs(ours[k] - t.detach().numpy()).max()) for k, t in theirs.items()))
    return worst


@pytest.mark.parametrize("kw", [dict(), dict(lr=0.05), dict(betas=(0.8, 0.99), eps=1e-6),
                                dict(lr=0.01, weight_decay=0.1)])
@pytest.mark.parametrize("seed", [0, 1])
def test_adam_equals_torch_step_by_step(kw, seed):
    err = _run_both(lambda p: Adam(p, **kw), lambda ps: torch.optim.Adam(ps, **kw), seed)
    assert err < 1e-12


@pytest.mark.parametrize("kw", [dict(lr=0.1), dict(lr=0.05, momentum=0.9),
                                dict(lr=0.05, momentum=0.9, dampening=0.5),
                                dict(lr=0.05, momentum=0.9, nesterov=True),
                                dict(lr=0.01, momentum=0.5, weight_decay=0.01)])
@pytest.mark.parametrize("seed", [0, 1])
def test_sgd_equals_torch_step_by_step(kw, seed):
    err = _run_both(lambda p: SGD(p, **kw), lambda ps: torch.optim.SGD(ps, **kw), seed)
    assert err < 1e-12


def test_adam_trains_a_companion_layer_as_torch_adam_trains_torch():
    """The whole loop: companion's BPTT gradients and Adam equal torch's autograd and Adam."""
    lstm = companion.LSTM(3, 5, seed=0)
    ref = lstm.to_torch().double()
    x = np.random.default_rng(0).standard_normal((6, 2, 3))
    opt = Adam(lstm.params, lr=0.02)
    topt = torch.optim.Adam(ref.parameters(), lr=0.02)
    for _ in range(20):
        out, _ = lstm(x)
        lstm.backward(2 * out)                                 # L = sum(out^2)
        opt.step(lstm.grads)
        topt.zero_grad()
        (ref(torch.from_numpy(x))[0] ** 2).sum().backward()
        topt.step()
    for name, p in ref.named_parameters():
        assert np.abs(lstm.params[name] - p.detach().numpy()).max() < 1e-12, name


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_clip_grad_norm_equals_torch(scale):
    rng = np.random.default_rng(3)
    grads = {k: rng.standard_normal(s) * scale for k, s in SHAPES.items()}
    tensors = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in SHAPES.values()]
    for t, g in zip(tensors, grads.values(), strict=True):
        t.grad = torch.tensor(g)
    total_t = float(torch.nn.utils.clip_grad_norm_(tensors, 1.0))
    total = clip_grad_norm(grads, 1.0)
    assert abs(total - total_t) <= 1e-12 * max(1.0, total_t)
    for t, g in zip(tensors, grads.values(), strict=True):
        assert np.abs(g - t.grad.numpy()).max() < 1e-12
    assert global_norm(grads) <= 1.0 + 1e-9


def _snapshot(opt):
    return copy.deepcopy({k: v for k, v in vars(opt).items() if k != "params"}), \
        {k: p.copy() for k, p in opt.params.items()}


@pytest.mark.parametrize("make", [lambda p: Adam(p), lambda p: SGD(p, lr=0.1, momentum=0.9)])
@pytest.mark.parametrize("bad, match", [
    (lambda g: {k: v for k, v in g.items() if k != "b"}, r"^grads: expected the names.*missing \['b'\]"),
    (lambda g: {**g, "extra": np.zeros(2)}, r"^grads: expected the names.*unexpected \['extra'\]"),
    (lambda g: {**g, "W": np.zeros((3, 4))}, r"^grads\['W'\]: expected a float array of shape \(4, 3\)"),
    (lambda g: {**g, "V": np.full((2, 4), np.nan)}, r"^grads\['V'\]: expected finite values, got NaN"),
    (lambda g: {**g, "b": np.arange(4)}, r"^grads\['b'\]: expected a float array"),
    (lambda g: [1, 2], r"^grads: expected a dict"),
])
def test_a_refused_step_changes_nothing(make, bad, match):
    opt = make(_params(0))
    opt.step(_grad_stream(0, 1)[0])                  # some state to keep
    before_state, before_params = _snapshot(opt)
    with pytest.raises(ValueError, match=match):
        opt.step(bad(_grad_stream(1, 1)[0]))
    after_state, after_params = _snapshot(opt)
    assert after_state.keys() == before_state.keys() and opt.t == before_state["t"]
    for k in before_params:
        assert np.array_equal(before_params[k], after_params[k])
    if isinstance(opt, Adam):
        for k in before_params:
            assert np.array_equal(before_state["m"][k], opt.m[k])


@pytest.mark.parametrize("call, match", [
    (lambda: Adam({}), r"^params: expected a non-empty dict"),
    (lambda: Adam({"w": np.arange(3)}), r"^params\['w'\]: expected a writeable float numpy array"),
    (lambda: Adam(_params(0), lr=0), r"^lr: expected a finite number in \(0"),
    (lambda: Adam(_params(0), lr=float("nan")), r"^lr:"),
    (lambda: Adam(_params(0), betas=(0.9,)), r"^betas: expected a pair"),
    (lambda: Adam(_params(0), betas=(1.0, 0.999)), r"^betas\[0\]: expected a finite number in \[0, 1\)"),
    (lambda: SGD(_params(0), lr=0.1, momentum=-1), r"^momentum:"),
    (lambda: SGD(_params(0), lr=0.1, nesterov=True), r"^nesterov: expected momentum > 0"),
    (lambda: SGD(_params(0), lr=True), r"^lr:"),
    (lambda: clip_grad_norm(_params(0), 0), r"^max_norm:"),
    (lambda: clip_grad_norm({"w": np.full(2, np.inf)}, 1.0), r"^grads: expected finite values"),
    (lambda: global_norm({}), r"^grads: expected a non-empty dict"),
])
def test_bad_arguments_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_clip_grad_norm_leaves_short_gradients_alone_and_keeps_direction():
    g = {"a": np.array([3.0, 4.0])}
    assert clip_grad_norm(g, 10.0) == 5.0 and np.array_equal(g["a"], [3.0, 4.0])
    g = {"a": np.array([30.0, 40.0]), "b": np.array([0.0])}
    assert clip_grad_norm(g, 5.0) == 50.0
    assert np.allclose(g["a"], [3.0, 4.0], atol=1e-6) and g["b"][0] == 0.0
