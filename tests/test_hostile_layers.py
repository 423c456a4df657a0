"""Hostile use of the sequence layers, the head, gradcheck and interop (issue 11).

Each test here failed on the code before issue 11 (except the two marked "a regression guard":
deepcopy/pickle, which the per-thread workspace could break, and the initial state, already
copied) and names the class of misuse it guards:

- a forward pass interrupted half way (an exception, Ctrl-C) must not leave the previous
  pass's cache pointing at half-overwritten buffers: backward and traces refuse instead;
- threads sharing one layer get correct outputs (per-thread workspace), a forward running in
  the thread that owns the buffers a backward reads is detected, and copies are independent;
- the head keeps a copy of h, not the caller's array;
- numerical_grad refuses input it cannot perturb honestly and restores x even when f raises;
- NaN/inf parameters are refused at forward, at backward, by the head and by from_torch;
- a parameter changed between forward and backward is detected at backward (a version check).
"""
from __future__ import annotations

import copy
import pickle
import queue
import sys
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import companion
from companion import layers as layers_mod

MODES = ["RNN", "LSTM", "GRU"]
T, B, D, H = 6, 3, 4, 5
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def make(mode, **kw):
    return getattr(companion, mode)(D, H, seed=0, **kw)


def states_of(s):
    return s if isinstance(s, tuple) else (s,)


def fwd_bwd(layer, x, dy_seed=9):
    """forward + backward with a fixed d_output; returns (out, dx, d_state0, grads copy)."""
    out, _ = layer(x)
    dy = np.random.default_rng(dy_seed).normal(size=out.shape)
    dx, ds0 = layer.backward(dy)
    return out, dx, states_of(ds0), {k: v.copy() for k, v in layer.grads.items()}


class _FailingNumpy:
    """Stands in for ``numpy`` inside companion.layers: the k-th call of ``name`` runs ``action``
    (raise, or anything else), every other attribute is numpy's own."""

    def __init__(self, name, k, action):
        self._name, self._k, self._action, self.calls = name, k, action, 0
        real = getattr(np, name)

        def wrapper(*a, **kw):
            self.calls += 1
            if self.calls == self._k:
                self._action()
            return real(*a, **kw)

        self._wrapper = wrapper

    def __getattr__(self, attr):
        return self._wrapper if attr == self._name else getattr(np, attr)


def _raise(exc):
    def action():
        raise exc
    return action


# --------------------------------------------------------------------------- 1. interrupted forward

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("exc", [KeyboardInterrupt(), RuntimeError("boom")], ids=["ctrl-c", "exception"])
def test_interrupted_forward_invalidates_cache_grads_and_traces(mode, exc, monkeypatch):
    """forward(x1), backward; forward(x2) raises inside the time loop: the half-overwritten
    buffers belong to neither pass, so backward and traces refuse (they used to return a
    silent mixture of x1 and x2)."""
    layer = make(mode, num_layers=2)
    rng = np.random.default_rng(1)
    x1, x2 = rng.normal(size=(T, B, D)), rng.normal(size=(T, B, D))
    fwd_bwd(layer, x1)
    # the time loop calls np.matmul once a step: fail at step 3 of layer 0
    monkeypatch.setattr(layers_mod, "np", _FailingNumpy("matmul", 3, _raise(exc)))
    with pytest.raises(type(exc)):
        layer(x2)
    monkeypatch.undo()
    with pytest.raises(RuntimeError, match=r"backward: the last forward pass did not finish \(it raised an "
                                           r"exception or was interrupted\); call the layer on an input again"):
        layer.backward(np.zeros((T, B, H)))
    assert layer.grads is None
    with pytest.raises(RuntimeError, match=r"traces: the last forward pass did not finish"):
        _ = layer.traces
    # and the layer is not damaged: the next complete pass is exactly a fresh layer's
    ref = fwd_bwd(make(mode, num_layers=2), x2)
    got = fwd_bwd(layer, x2)
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])
    for k in ref[3]:
        np.testing.assert_array_equal(got[3][k], ref[3][k], err_msg=k)


@pytest.mark.parametrize("mode", MODES)
def test_interrupted_forward_unfused_leaves_no_stale_cache(mode, monkeypatch):
    """forward_unfused records nothing; interrupted, it must not leave the previous pass
    looking like the last one (backward used to differentiate the older input silently)."""
    layer = make(mode)
    x = np.random.default_rng(2).normal(size=(T, B, D))
    fwd_bwd(layer, x)
    real_step, calls = layer._step, []

    def step(*a):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_step(*a)

    monkeypatch.setattr(layer, "_step", step)
    with pytest.raises(KeyboardInterrupt):
        layer.forward_unfused(2 * x)
    with pytest.raises(RuntimeError, match=r"backward: the last forward pass did not finish"):
        layer.backward(np.zeros((T, B, H)))
    with pytest.raises(RuntimeError, match=r"traces: the last forward pass did not finish"):
        _ = layer.traces


@st.composite
def interruptions(draw):
    mode = draw(st.sampled_from(MODES))
    kw = dict(num_layers=draw(st.integers(1, 2)), bidirectional=draw(st.booleans()),
              batch_first=draw(st.booleans()))
    n_steps = kw["num_layers"] * (2 if kw["bidirectional"] else 1) * T
    return mode, kw, draw(st.integers(1, n_steps)), draw(st.sampled_from(["matmul", "tanh"]))


@SETTINGS
@given(interruptions())
def test_property_any_interruption_leaves_nothing_usable_and_nothing_broken(case):
    """Whatever step of whatever layer and direction the forward is interrupted at, backward
    refuses, and the next complete pass equals a fresh layer's exactly."""
    mode, kw, k, fn = case
    layer = make(mode, **kw)
    rng = np.random.default_rng(k)
    shape = (B, T, D) if kw["batch_first"] else (T, B, D)
    x1, x2 = rng.normal(size=shape), rng.normal(size=shape)
    fwd_bwd(layer, x1)
    failing = _FailingNumpy(fn, k, _raise(KeyboardInterrupt))
    interrupted = False
    layers_mod.np = failing
    try:
        layer(x2)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        layers_mod.np = np
    if not interrupted:            # fewer than k calls of fn in this configuration: nothing to test
        assert failing.calls < k
        return
    with pytest.raises(RuntimeError, match=r"did not finish"):
        layer.backward()
    ref = fwd_bwd(make(mode, **kw), x2)
    got = fwd_bwd(layer, x2)
    for a, b in zip(got[:2], ref[:2], strict=True):
        np.testing.assert_array_equal(a, b)
    for k_ in ref[3]:
        np.testing.assert_array_equal(got[3][k_], ref[3][k_], err_msg=k_)


# --------------------------------------------------------------------------- 2. threads and copies

@pytest.fixture
def fast_switching():
    """Switch threads every 10 microseconds, so that races show up in a short test."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


@pytest.mark.parametrize("mode", MODES)
def test_threads_sharing_a_layer_get_correct_outputs(mode, fast_switching):
    """Four threads run forward on one layer, each on its own input, many times: every output
    and final state equals the sequential run (the shared workspace used to mix them)."""
    Tl, Bl, Dl, Hl = 40, 8, 8, 16
    layer = getattr(companion, mode)(Dl, Hl, num_layers=2, bidirectional=True, seed=3)
    rng = np.random.default_rng(3)
    xs = [rng.normal(size=(Tl, Bl, Dl)) for _ in range(4)]
    refs = []
    for x in xs:
        out, s = layer(x)
        refs.append((out.copy(), [a.copy() for a in states_of(s)]))
    bad, errors = [], []
    barrier = threading.Barrier(len(xs))

    def work(i):
        try:
            barrier.wait()
            for _ in range(25):
                out, s = layer(xs[i])
                same = np.allclose(out, refs[i][0], rtol=1e-12, atol=1e-14) and all(
                    np.allclose(a, b, rtol=1e-12, atol=1e-14) for a, b in zip(states_of(s), refs[i][1], strict=True))
                if not same:
                    bad.append(i)
        except BaseException as e:      # pragma: no cover - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert not bad, f"{len(bad)} of {25 * len(xs)} concurrent forwards gave a wrong output"


class _Worker:
    """A thread that runs the callables it is given, one at a time, and returns their results."""

    def __init__(self):
        self.jobs, self.results = queue.Queue(), queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            job = self.jobs.get()
            if job is None:
                return
            try:
                self.results.put((True, job()))
            except BaseException as e:    # pragma: no cover
                self.results.put((False, e))

    def __call__(self, job):
        self.jobs.put(job)
        ok, val = self.results.get(timeout=60)
        if not ok:
            raise val
        return val

    def close(self):
        self.jobs.put(None)
        self.thread.join()


@pytest.mark.parametrize("mode", MODES)
def test_backward_detects_a_forward_that_overwrote_its_buffers_in_another_thread(mode, monkeypatch):
    """A forward/backward pair is not thread-safe (documented). The one way it could go silently
    wrong with per-thread buffers: thread A records a pass, thread B differentiates it, and A runs
    a new forward meanwhile, overwriting the buffers B is reading. That must raise, not mix."""
    layer = make(mode)
    rng = np.random.default_rng(4)
    x1, x2 = rng.normal(size=(T, B, D)), rng.normal(size=(T, B, D))
    worker = _Worker()
    try:
        out, _ = worker(lambda: layer(x1))
        # during backward (in this thread), the worker runs forward(x2) on the same layer
        monkeypatch.setattr(layers_mod, "np", _FailingNumpy("multiply", 2, lambda: worker(lambda: layer(x2))))
        with pytest.raises(RuntimeError, match=r"backward: a forward pass in another thread overwrote the "
                                               r"buffers of the recorded pass while backward read them; a "
                                               r"forward/backward pair is not thread-safe"):
            layer.backward(np.ones_like(out))
        monkeypatch.undo()
        assert layer.grads is None
        # traces read the same buffers: the same detection
        worker(lambda: layer(x1))
        monkeypatch.setattr(layers_mod, "np", _FailingNumpy("array", 1, lambda: worker(lambda: layer(x2))))
        with pytest.raises(RuntimeError, match=r"traces: a forward pass in another thread overwrote"):
            _ = layer.traces
    finally:
        worker.close()


@pytest.mark.parametrize("mode", MODES)
def test_shallow_copy_gets_its_own_workspace_and_no_cache(mode):
    """copy.copy(layer): the parameter arrays are shared (that is what shallow means), the
    workspace and the recorded pass are not (a shallow copy used to share both, so a forward
    on the copy corrupted the original's backward)."""
    layer = make(mode, num_layers=2)
    rng = np.random.default_rng(5)
    x1, x2 = rng.normal(size=(T, B, D)), rng.normal(size=(T, B, D))
    ref = fwd_bwd(make(mode, num_layers=2), x1)
    out, _ = layer(x1)
    twin = copy.copy(layer)
    with pytest.raises(RuntimeError, match=r"backward: no forward pass recorded"):
        twin.backward(np.zeros_like(out))
    twin(x2)                                   # must not touch the buffers of layer's pass
    dx, _ = layer.backward(np.random.default_rng(9).normal(size=out.shape))
    np.testing.assert_array_equal(dx, ref[1])
    for k in ref[3]:
        np.testing.assert_array_equal(layer.grads[k], ref[3][k], err_msg=k)
    # the params dict is the copy's own, its arrays are shared
    assert twin.params is not layer.params
    assert all(twin.params[k] is layer.params[k] for k in layer.params)
    twin.params["weight_hh_l0"] = twin.params["weight_hh_l0"] * 2.0     # replacing: the original keeps its own
    assert not np.array_equal(twin.params["weight_hh_l0"], layer.params["weight_hh_l0"])
    # changing a shared array in place between the original's forward and backward is caught
    layer(x1)
    twin.params["bias_ih_l1"][0] += 1.0
    with pytest.raises(RuntimeError, match=r"params\['bias_ih_l1'\] was changed after the forward pass"):
        layer.backward(np.zeros_like(out))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_deepcopy_and_pickle_give_an_independent_layer(mode, how):
    """A deep copy (or a pickled and loaded one) is a second layer: its own parameters, grads,
    workspace and a copy of the recorded pass (so backward on it differentiates the same pass).
    A regression guard: the per-thread workspace is not copyable, so this needs care."""
    layer = make(mode, bidirectional=True)
    rng = np.random.default_rng(6)
    x1, x2 = rng.normal(size=(T, B, D)), rng.normal(size=(T, B, D))
    ref = fwd_bwd(make(mode, bidirectional=True), x1)
    out, dx, _, _ = fwd_bwd(layer, x1)
    twin = copy.deepcopy(layer) if how == "deepcopy" else pickle.loads(pickle.dumps(layer))
    assert all(not np.shares_memory(twin.params[k], layer.params[k]) for k in layer.params)
    for k in ref[3]:
        np.testing.assert_array_equal(twin.grads[k], ref[3][k], err_msg=k)
    dy = np.random.default_rng(9).normal(size=out.shape)
    np.testing.assert_array_equal(twin.backward(dy)[0], ref[1])       # the copied recorded pass
    np.testing.assert_array_equal(twin.traces["l0"]["h"], layer.traces["l0"]["h"])
    for p in twin.params.values():
        p *= 3.0
    twin(x2)
    twin.backward(np.ones_like(out))
    np.testing.assert_array_equal(layer.backward(dy)[0], ref[1])      # the original is untouched
    for k in ref[3]:
        np.testing.assert_array_equal(layer.grads[k], ref[3][k], err_msg=k)
    clone = copy.deepcopy(layer) if how == "deepcopy" else pickle.loads(pickle.dumps(layer))
    np.testing.assert_array_equal(clone(x2)[0], layer(x2)[0])


# --------------------------------------------------------------------------- 3. references to caller arrays

def test_head_keeps_a_copy_of_h():
    """Mutating h after the head's forward must not change its backward (it used to)."""
    head = companion.OutputHead(H, 3, seed=0)
    h = np.random.default_rng(7).normal(size=(T, B, H))     # float64: as_real_array returned h itself
    o, _ = head(h)
    d_o = np.random.default_rng(8).normal(size=o.shape)
    d_h1 = head.backward(d_o)
    g1 = {k: v.copy() for k, v in head.grads.items()}
    h += 100.0
    d_h2 = head.backward(d_o)
    np.testing.assert_array_equal(d_h1, d_h2)
    for k in g1:
        np.testing.assert_array_equal(head.grads[k], g1[k], err_msg=k)


def test_head_keeps_a_copy_of_a_torch_tensor_h():
    torch = pytest.importorskip("torch")
    head = companion.OutputHead(H, 3, seed=0)
    h = torch.tensor(np.random.default_rng(7).normal(size=(T, H)))
    o, _ = head(h)
    head.backward(np.ones_like(o))
    g1 = head.grads["V"].copy()
    with torch.no_grad():
        h.add_(5.0)                          # .numpy() shares memory with the tensor
    head.backward(np.ones_like(o))
    np.testing.assert_array_equal(head.grads["V"], g1)


@pytest.mark.parametrize("mode", MODES)
def test_layer_keeps_no_reference_to_the_initial_state(mode):
    """h_0 (and c_0) already in the layer's dtype and shape are not kept by reference:
    mutating them after forward changes nothing (a regression guard; x is covered in
    test_bad_input.py)."""
    layer = make(mode)
    rng = np.random.default_rng(8)
    x = rng.normal(size=(T, B, D))
    st0 = tuple(rng.normal(size=(1, B, H)) for _ in range(2 if mode == "LSTM" else 1))
    out, _ = layer(x, st0 if mode == "LSTM" else st0[0])
    dy = rng.normal(size=out.shape)
    dx1, ds1 = layer.backward(dy)
    traces1 = layer.traces
    for s in st0:
        s += 3.0
    dx2, ds2 = layer.backward(dy)
    np.testing.assert_array_equal(dx1, dx2)
    for a, b in zip(states_of(ds1), states_of(ds2), strict=True):
        np.testing.assert_array_equal(a, b)
    for name, v in layer.traces["l0"].items():
        np.testing.assert_array_equal(v, traces1["l0"][name], err_msg=name)


# --------------------------------------------------------------------------- 4. gradcheck

@pytest.mark.parametrize("arr", [np.arange(3), np.array([True, False]), np.zeros(2, np.complex128),
                                 np.array([1, 2], dtype=np.uint8), np.array([1.0, None], dtype=object)],
                         ids=["int64", "bool", "complex128", "uint8", "object"])
def test_numerical_grad_refuses_non_float_x(arr):
    """x + eps on an int array is truncated: the gradient came out 0 or off by 1e6."""
    before = arr.copy()
    with pytest.raises(ValueError, match=rf"x: expected a floating-point array .*got dtype {arr.dtype}"):
        companion.numerical_grad(lambda: 0.0, arr)
    np.testing.assert_array_equal(arr, before)


def test_numerical_grad_refuses_a_step_below_the_resolution_of_x():
    """float32 cannot represent x + 1e-6 for x ~ 1: the step that f sees is not 2 eps. Refused,
    with the smallest eps that works; a large enough eps is accepted and right."""
    x = np.array([1.0, -0.5, 2.0], np.float32)
    with pytest.raises(ValueError, match=r"eps: 1e-06 is too small for a float32 x with values up to 2: "
                                         r"x \+ eps is rounded by up to .*use eps >= .* or a float64 x"):
        companion.numerical_grad(lambda: float((x.astype(np.float64) ** 2).sum()), x)
    g = companion.numerical_grad(lambda: float((x.astype(np.float64) ** 2).sum()), x, eps=1e-2)
    np.testing.assert_allclose(g, 2 * x.astype(np.float64), rtol=1e-4)
    big = np.array([1e12])              # float64, but 1e-6 is below its spacing at 1e12
    with pytest.raises(ValueError, match=r"eps: 1e-06 is too small for a float64 x with values up to 1e\+12"):
        companion.numerical_grad(lambda: float(big[0]), big)


@pytest.mark.parametrize("eps", [0.0, -1e-6, np.nan, np.inf, "1e-6", None])
def test_numerical_grad_refuses_bad_eps(eps):
    with pytest.raises(ValueError, match=r"eps: expected a positive finite number, got"):
        companion.numerical_grad(lambda: 0.0, np.zeros(2), eps=eps)


@pytest.mark.parametrize("exc", [ZeroDivisionError, KeyboardInterrupt])
def test_numerical_grad_restores_x_when_f_raises(exc):
    """The docstring promises x restored exactly; an f that raises mid-way left it perturbed."""
    x = np.array([0.1, 0.2, 0.3, 0.4])
    before = x.copy()
    calls = []

    def f():
        calls.append(1)
        if len(calls) == 4:              # the minus-eps call for the second element
            raise exc()
        return float(x.sum())

    with pytest.raises(exc):
        companion.numerical_grad(f, x)
    np.testing.assert_array_equal(x, before)


def test_check_layer_grads_refuses_float32_layer():
    layer = companion.RNN(2, 3, dtype=np.float32, seed=0)
    with pytest.raises(ValueError, match=r"layer: expected a float64 layer .*got dtype float32"):
        companion.check_layer_grads(layer, np.zeros((3, 2)))


def test_check_layer_grads_leaves_params_and_the_recorded_pass_clean():
    """After the check the parameters are exact and backward differentiates the caller's
    unperturbed pass (it used to be left on the last perturbed one)."""
    layer = companion.LSTM(2, 3, seed=5)
    x = np.random.default_rng(5).normal(size=(4, 1, 2))
    before = {k: v.copy() for k, v in layer.params.items()}
    companion.check_layer_grads(layer, x)
    for k, v in before.items():
        np.testing.assert_array_equal(layer.params[k], v, err_msg=k)
    ref = fwd_bwd(companion.LSTM(2, 3, seed=5), x)
    out = layer.traces["l0"]["h"]
    np.testing.assert_array_equal(out, ref[0])


# --------------------------------------------------------------------------- 5. NaN / inf parameters

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_parameter_refused_at_forward_and_at_backward(mode, bad):
    layer = make(mode, num_layers=2)
    x = np.random.default_rng(9).normal(size=(T, B, D))
    out, _ = layer(x)
    word = "NaN" if np.isnan(bad) else "inf"
    layer.params["weight_hh_l1"][1, 2] = bad
    with pytest.raises(ValueError, match=rf"params\['weight_hh_l1'\]: expected finite values, got {word}"):
        layer.backward(np.ones_like(out))
    assert layer.grads is None
    with pytest.raises(ValueError, match=rf"params\['weight_hh_l1'\]: expected finite values, got {word}"):
        layer(x)
    with pytest.raises(ValueError, match=rf"params\['weight_hh_l1'\]: expected finite values, got {word}"):
        layer.forward_unfused(x)


def test_nonfinite_head_parameter_refused():
    head = companion.OutputHead(H, 3, seed=0)
    head.params["c"][1] = np.nan
    with pytest.raises(ValueError, match=r"params\['c'\]: expected finite values, got NaN"):
        head(np.zeros((2, H)))
    head.params["c"][1] = 0.0
    head.params["V"] = np.zeros((3, H + 1))
    with pytest.raises(ValueError, match=rf"params\['V'\]: expected a numpy array of shape \(3, {H}\) and "
                                         rf"dtype float64, got shape \(3, {H + 1}\)"):
        head(np.zeros((2, H)))
    head.params["V"] = np.zeros((3, H))
    head.params["c"] = np.zeros((3, 1))       # would broadcast o to (2, 3, 3) silently
    with pytest.raises(ValueError, match=r"params\['c'\]: expected a numpy array of shape \(3,\)"):
        head(np.zeros((2, H)))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_from_torch_refuses_nonfinite_parameters(bad):
    torch = pytest.importorskip("torch")
    module = torch.nn.LSTM(3, 4, num_layers=2)
    with torch.no_grad():
        module.bias_hh_l1[5] = bad
    word = "NaN" if bad != bad else "inf"
    with pytest.raises(ValueError, match=rf"module\.bias_hh_l1: expected finite values, got {word}"):
        companion.from_torch(module)


def test_from_torch_refuses_values_that_overflow_the_dtype():
    torch = pytest.importorskip("torch")
    module = torch.nn.GRU(2, 3, dtype=torch.float64)
    with torch.no_grad():
        module.weight_ih_l0[0, 0] = 1e300
    with pytest.raises(ValueError, match=r"module\.weight_ih_l0: expected finite values, got inf"):
        companion.from_torch(module, dtype=np.float32)


def test_to_torch_refuses_nonfinite_parameters():
    pytest.importorskip("torch")
    layer = companion.GRU(2, 3, seed=0)
    layer.params["bias_ih_l0"][0] = np.inf
    with pytest.raises(ValueError, match=r"params\['bias_ih_l0'\]: expected finite values, got inf"):
        layer.to_torch()


# --------------------------------------------------------------------------- 6. version check

@pytest.mark.parametrize("mode", MODES)
def test_parameter_changed_between_forward_and_backward_is_detected(mode):
    """torch raises when a saved tensor is modified in place; companion's backward used to
    return gradients of neither parameter set."""
    layer = make(mode)
    x = np.random.default_rng(10).normal(size=(T, B, D))
    out, _ = layer(x)
    dy = np.ones_like(out)
    layer.backward(dy)
    g = {k: v.copy() for k, v in layer.grads.items()}
    w00, bias = layer.params["weight_hh_l0"][0, 0], layer.params["bias_ih_l0"]
    layer.params["weight_hh_l0"][0, 0] += 0.5                                  # in place
    with pytest.raises(RuntimeError, match=r"backward: params\['weight_hh_l0'\] was changed after the "
                                           r"forward pass; run forward again"):
        layer.backward(dy)
    layer.params["weight_hh_l0"][0, 0] = w00
    layer.params["bias_ih_l0"] = bias + 1.0                                    # replaced in the dict
    with pytest.raises(RuntimeError, match=r"params\['bias_ih_l0'\] was changed after the forward pass"):
        layer.backward(dy)
    layer.params["bias_ih_l0"] = bias.copy()
    layer.backward(dy)            # the same values again: the recorded pass is valid
    for k in g:
        np.testing.assert_array_equal(layer.grads[k], g[k], err_msg=k)


@st.composite
def param_changes(draw):
    mode = draw(st.sampled_from(MODES))
    kw = dict(num_layers=draw(st.integers(1, 2)), bidirectional=draw(st.booleans()))
    if mode == "LSTM":
        kw["peephole"] = draw(st.sampled_from([None, "diagonal", "full"]))
    layer = make(mode, **kw)
    name = draw(st.sampled_from(sorted(layer.params)))
    index = draw(st.integers(0, layer.params[name].size - 1))
    delta = draw(st.floats(-2, 2, allow_nan=False).filter(lambda d: abs(d) > 1e-12))
    return mode, kw, name, index, delta


@SETTINGS
@given(param_changes())
def test_property_any_changed_parameter_is_detected_at_backward(case):
    mode, kw, name, index, delta = case
    layer = make(mode, **kw)
    out, _ = layer(np.random.default_rng(11).normal(size=(T, B, D)))
    flat = layer.params[name].reshape(-1)
    old = flat[index]
    flat[index] = old + delta
    if flat[index] == old:        # delta below the spacing of old: nothing changed
        return
    with pytest.raises(RuntimeError, match=rf"params\[{name!r}\] was changed after the forward pass"):
        layer.backward(np.ones_like(out))
    assert layer.grads is None


def test_head_parameter_changed_between_forward_and_backward_is_detected():
    head = companion.OutputHead(H, 3, seed=0)
    o, _ = head(np.random.default_rng(12).normal(size=(T, H)))
    head.params["V"][0, 0] += 1.0
    with pytest.raises(RuntimeError, match=r"backward: params\['V'\] was changed after the forward pass; "
                                           r"run the head forward again"):
        head.backward(np.ones_like(o))
    assert head.grads is None
    head.params["V"][0, 0] = np.inf            # not valid any more: refused as such, naming it
    with pytest.raises(ValueError, match=r"params\['V'\]: expected finite values, got inf"):
        head.backward(np.ones_like(o))
