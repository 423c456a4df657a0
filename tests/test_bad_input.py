"""Bad input: every failure is a ValueError (RuntimeError for backward before forward) whose
message names the argument and says what was expected and what was given, and a refused
call changes nothing: parameters are unchanged, grads are unchanged, and the previous
forward's cache still gives exactly the same backward. (A forward that fails *after* its
input was accepted, e.g. interrupted, drops the cache instead: tests/test_hostile_layers.py.)"""
from __future__ import annotations

import re

import numpy as np
import pytest

import companion

T, B, D, H = 5, 2, 3, 4
MODES = ["RNN", "LSTM", "GRU"]


def make(mode, **kw):
    return getattr(companion, mode)(D, H, seed=0, **kw)


def good_state(mode, LD=1, b=B):
    rng = np.random.default_rng(1)
    h = rng.normal(size=(LD, b, H))
    return (h, rng.normal(size=(LD, b, H))) if mode == "LSTM" else h


class Snapshot:
    """A layer after forward + backward, to prove a failed call changed nothing."""

    def __init__(self, layer, mode, x_shape=(T, B, D)):
        rng = np.random.default_rng(2)
        self.layer, self.mode = layer, mode
        self.x = rng.normal(size=x_shape)
        out, s_n = layer(self.x, None)
        self.out_shape = out.shape
        self.dy = rng.normal(size=out.shape)
        self.ds = tuple(rng.normal(size=s.shape) for s in s_n) if isinstance(s_n, tuple) else rng.normal(size=s_n.shape)
        self.dx, self.d0 = layer.backward(self.dy, self.ds)
        self.params = {k: v.copy() for k, v in layer.params.items()}
        self.grads = {k: v.copy() for k, v in layer.grads.items()}

    def assert_unchanged(self):
        layer = self.layer
        assert list(layer.params) == list(self.params)
        for k, v in self.params.items():
            np.testing.assert_array_equal(layer.params[k], v, err_msg=f"params[{k!r}] changed")
        assert layer.grads is not None, "grads were cleared by a failed call"
        for k, v in self.grads.items():
            np.testing.assert_array_equal(layer.grads[k], v, err_msg=f"grads[{k!r}] changed")
        dx, d0 = layer.backward(self.dy, self.ds)       # the old cache still works
        np.testing.assert_array_equal(dx, self.dx)
        for a, b in zip(d0 if isinstance(d0, tuple) else (d0,), self.d0 if isinstance(self.d0, tuple) else (self.d0,),
                        strict=True):
            np.testing.assert_array_equal(a, b)
        for k, v in self.grads.items():
            np.testing.assert_array_equal(layer.grads[k], v, err_msg=f"grads[{k!r}] differ after a failed call")


def bad_forward_cases(mode):
    """(label, x, state, regex) for one-layer, unidirectional, time-major layers with D=3, H=4."""
    x = np.random.default_rng(3).normal(size=(T, B, D))
    st = good_state(mode)
    nan_x = x.copy()
    nan_x[2, 1, 0] = np.nan
    inf_x = x.copy()
    inf_x[0, 0, 2] = -np.inf
    s_name = r"state\[0\] \(h_0\)" if mode == "LSTM" else r"state \(h_0\)"
    cases = [
        ("feature size", np.zeros((T, B, D + 1)), None,
         rf"x: expected feature size \(last dimension\) {D}, got shape \({T}, {B}, {D + 1}\)"),
        ("ndim 1", np.zeros(D), None,
         rf"x: expected 3 dimensions \(T, B, D\) or 2 dimensions \(T, D\).*got shape \({D},\)"),
        ("ndim 4", np.zeros((1, T, B, D)), None,
         rf"x: expected 3 dimensions \(T, B, D\) or 2 dimensions \(T, D\).*got shape \(1, {T}, {B}, {D}\)"),
        ("ndim 0", np.float64(1.0), None, r"x: expected 3 dimensions .* got shape \(\)"),
        ("empty T", np.zeros((0, B, D)), None,
         r"x: expected at least one time step and one sequence, got shape \(0, 2, 3\)"),
        ("empty B", np.zeros((T, 0, D)), None,
         r"x: expected at least one time step and one sequence, got shape \(5, 0, 3\)"),
        ("NaN in x", nan_x, None, r"x: expected finite values, got NaN \(shape \(5, 2, 3\)\)"),
        ("inf in x", inf_x, None, r"x: expected finite values, got inf \(shape \(5, 2, 3\)\)"),
        ("strings", np.array([["a"]]), None, r"x: expected a real numeric array, got dtype <U1"),
        ("complex", x + 1j, None, r"x: expected a real numeric array, got dtype complex128"),
        ("object", np.array([[None]], dtype=object), None, r"x: expected a real numeric array, got dtype object"),
        ("bool", np.ones((T, B, D), dtype=bool), None, r"x: expected a real numeric array, got dtype bool"),
    ]
    wrong_batch = np.zeros((1, B + 1, H))
    wrong_ndim = np.zeros((B, H))
    exp = rf"expected shape \(1, {B}, {H}\) \(num_layers \* num_directions, batch, hidden_size\)"
    tuple_exp = r"state: expected a tuple \(h_0, c_0\) of shape \(1, 2, 4\) each for the LSTM"
    if mode == "LSTM":
        cases += [
            ("h0 wrong batch", x, (wrong_batch, st[1]), rf"{s_name}: {exp}, got \(1, {B + 1}, {H}\)"),
            ("c0 wrong batch", x, (st[0], wrong_batch), rf"state\[1\] \(c_0\): {exp}, got \(1, {B + 1}, {H}\)"),
            ("h0 wrong ndim", x, (wrong_ndim, st[1]), rf"{s_name}: {exp}, got \({B}, {H}\)"),
            ("c0 wrong hidden", x, (st[0], np.zeros((1, B, H + 1))),
             rf"state\[1\] \(c_0\): {exp}, got \(1, {B}, {H + 1}\)"),
            ("NaN in h0", x, (np.full((1, B, H), np.nan), st[1]), rf"{s_name}: expected finite values, got NaN"),
            ("inf in c0", x, (st[0], np.full((1, B, H), np.inf)),
             r"state\[1\] \(c_0\): expected finite values, got inf"),
            ("state not a tuple", x, st[0], rf"{tuple_exp}, got an array of shape \(1, 2, 4\)"),
            ("state 1-tuple", x, (st[0],), rf"{tuple_exp}, got a tuple of length 1"),
            ("state 3-tuple", x, (st[0], st[1], st[1]), rf"{tuple_exp}, got a tuple of length 3"),
        ]
    else:
        cases += [
            ("h0 wrong batch", x, wrong_batch, rf"{s_name}: {exp}, got \(1, {B + 1}, {H}\)"),
            ("h0 wrong ndim", x, wrong_ndim, rf"{s_name}: {exp}, got \({B}, {H}\)"),
            ("h0 too many layers", x, np.zeros((2, B, H)), rf"{s_name}: {exp}, got \(2, {B}, {H}\)"),
            ("NaN in h0", x, np.full((1, B, H), np.nan), rf"{s_name}: expected finite values, got NaN"),
            ("inf in h0", x, np.full((1, B, H), -np.inf), rf"{s_name}: expected finite values, got inf"),
            ("state a tuple", x, (st,), rf"state: expected one array h_0 for the {mode}, got a tuple"),
        ]
    return cases


ALL_FORWARD = [(m, c) for m in MODES for c in bad_forward_cases(m)]


@pytest.mark.parametrize("mode,case", ALL_FORWARD, ids=[f"{m}-{c[0]}" for m, c in ALL_FORWARD])
def test_bad_forward_input_raises_and_changes_nothing(mode, case):
    label, x, state, regex = case
    layer = make(mode)
    snap = Snapshot(layer, mode)
    x_before = np.array(x, copy=True)
    with pytest.raises(ValueError, match=regex):
        layer(x, state)
    snap.assert_unchanged()
    # forward_unfused validates the same way
    with pytest.raises(ValueError, match=regex):
        layer.forward_unfused(x, state)
    # the caller's arrays are not modified either
    np.testing.assert_array_equal(np.asarray(x), x_before)


@pytest.mark.parametrize("mode", MODES)
def test_batch_first_and_unbatched_messages(mode):
    layer = make(mode, batch_first=True, num_layers=2, bidirectional=True)
    snap = Snapshot(layer, mode, x_shape=(B, T, D))
    with pytest.raises(ValueError, match=r"x: expected 3 dimensions \(B, T, D\) or 2 dimensions \(T, D\)"):
        layer(np.zeros(D))
    # unbatched x: the state is (num_layers * num_directions, hidden_size)
    x = np.zeros((T, D))
    batched_state = good_state(mode, LD=4, b=1)
    name = r"state\[0\] \(h_0\)" if mode == "LSTM" else r"state \(h_0\)"
    with pytest.raises(ValueError, match=rf"{name}: expected shape \(4, {H}\) \(num_layers \* num_directions, "
                                         rf"hidden_size\), got \(4, 1, {H}\)"):
        layer(x, batched_state)
    # batched x with an unbatched state
    with pytest.raises(ValueError, match=rf"{name}: expected shape \(4, {B}, {H}\).*got \(4, {H}\)"):
        layer(np.zeros((B, T, D)), good_state(mode, LD=4, b=1)[:, 0] if mode != "LSTM"
              else tuple(s[:, 0] for s in good_state(mode, LD=4, b=1)))
    snap.assert_unchanged()


@pytest.mark.parametrize("mode", MODES)
def test_backward_before_forward(mode):
    layer = make(mode)
    with pytest.raises(RuntimeError, match=r"backward: no forward pass recorded; call the layer on an input first"):
        layer.backward(np.zeros((T, B, H)))
    assert layer.grads is None


@pytest.mark.parametrize("mode", MODES)
def test_backward_after_forward_unfused_is_refused(mode):
    """forward_unfused records nothing, and says so."""
    layer = make(mode)
    layer.forward_unfused(np.zeros((T, B, D)))
    with pytest.raises(RuntimeError, match=r"forward_unfused does not record one"):
        layer.backward(np.zeros((T, B, H)))


@pytest.mark.parametrize("mode", MODES)
def test_bad_backward_arguments(mode):
    layer = make(mode, bidirectional=True)
    snap = Snapshot(layer, mode)
    out_shape = (T, B, 2 * H)
    with pytest.raises(ValueError, match=rf"d_output: expected shape \({T}, {B}, {2 * H}\) \(the shape of the "
                                         rf"output\), got \({T}, {B}, {H}\)"):
        layer.backward(np.zeros((T, B, H)))
    with pytest.raises(ValueError, match=rf"d_output: expected shape .*got \({B}, {T}, {2 * H}\)"):
        layer.backward(np.zeros((B, T, 2 * H)))
    bad = np.zeros(out_shape)
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"d_output: expected finite values, got NaN"):
        layer.backward(bad)
    if mode == "LSTM":
        with pytest.raises(ValueError, match=r"d_state: expected a tuple \(d_h_n, d_c_n\) of shape \(2, 2, 4\) each "
                                             r"for the LSTM, got ndarray of shape \(2, 2, 4\)"):
            layer.backward(np.zeros(out_shape), np.zeros((2, B, H)))
        with pytest.raises(ValueError, match=rf"d_state\[1\]: expected shape \(2, {B}, {H}\) \(the shape of the "
                                             rf"returned state\), got \(1, {B}, {H}\)"):
            layer.backward(np.zeros(out_shape), (np.zeros((2, B, H)), np.zeros((1, B, H))))
    else:
        with pytest.raises(ValueError, match=rf"d_state: expected one array d_h_n for the {mode}"):
            layer.backward(np.zeros(out_shape), (np.zeros((2, B, H)),))
        with pytest.raises(ValueError, match=rf"d_state: expected shape \(2, {B}, {H}\) \(the shape of the "
                                             rf"returned state\), got \(2, {B}, {H + 1}\)"):
            layer.backward(np.zeros(out_shape), np.zeros((2, B, H + 1)))
        with pytest.raises(ValueError, match=r"d_state: expected finite values, got inf"):
            layer.backward(np.zeros(out_shape), np.full((2, B, H), np.inf))
    snap.assert_unchanged()


@pytest.mark.parametrize("mode", MODES)
def test_failed_forward_keeps_the_previous_cache_for_backward(mode):
    """forward(x1), failing forward(bad): backward still differentiates the x1 pass (not a later one)."""
    layer = make(mode)
    snap = Snapshot(layer, mode)
    with pytest.raises(ValueError):
        layer(np.full((T, B, D), np.nan))
    with pytest.raises(ValueError):
        layer(np.zeros((T + 3, B + 1, D)), good_state(mode, b=B))     # state batch does not match x
    snap.assert_unchanged()


@pytest.mark.parametrize("mode,kw,regex", [
    ("RNN", {"nonlinearity": "sigmoid"}, r"nonlinearity: expected one of 'tanh', 'relu', got 'sigmoid'"),
    ("RNN", {"nonlinearity": None}, r"nonlinearity: expected one of 'tanh', 'relu', got None"),
    ("LSTM", {"peephole": "diag"}, r"peephole: expected one of None, 'diagonal', 'full', got 'diag'"),
    ("LSTM", {"peephole": True}, r"peephole: expected one of None, 'diagonal', 'full', got True"),
    ("GRU", {"variant": "cho"}, r"variant: expected one of 'torch', 'lecture', got 'cho'"),
    ("GRU", {"variant": None}, r"variant: expected one of 'torch', 'lecture', got None"),
])
def test_unknown_options_list_the_valid_ones(mode, kw, regex):
    with pytest.raises(ValueError, match=regex):
        make(mode, **kw)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.int32, np.float16, np.complex128, "float16", "nonsense", object, np.longdouble])
def test_bad_dtype(mode, dtype):
    if dtype is np.longdouble and np.dtype(np.longdouble) == np.float64:
        dtype = np.int8     # platforms where long double is double: use another bad one
    with pytest.raises(ValueError, match=r"dtype: expected np.float32 or np.float64, got " + re.escape(repr(dtype))):
        make(mode, dtype=dtype)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, "float32", np.dtype("float64")])
def test_good_dtypes(mode, dtype):
    layer = make(mode, dtype=dtype)
    assert layer.dtype == np.dtype(dtype)
    out, _ = layer(np.zeros((2, 1, D)))
    assert out.dtype == np.dtype(dtype)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("arg,value", [("input_size", 0), ("input_size", -2), ("hidden_size", 0),
                                       ("hidden_size", 2.5), ("num_layers", 0), ("num_layers", -1),
                                       ("num_layers", True), ("hidden_size", "4"), ("input_size", None)])
def test_non_positive_or_non_integer_sizes(mode, arg, value):
    kw = {"input_size": D, "hidden_size": H}
    kw[arg] = value
    with pytest.raises(ValueError, match=rf"{arg}: expected a positive integer, got {re.escape(repr(value))}"):
        getattr(companion, mode)(**kw)


@pytest.mark.parametrize("arg", ["bias", "batch_first", "bidirectional"])
def test_flags_must_be_bool(arg):
    with pytest.raises(ValueError, match=rf"{arg}: expected True or False, got 1"):
        companion.GRU(D, H, **{arg: 1})
    with pytest.raises(ValueError, match=rf"{arg}: expected True or False, got 'yes'"):
        companion.LSTM(D, H, **{arg: "yes"})


@pytest.mark.parametrize("mode", MODES)
def test_replaced_parameter_of_wrong_shape_or_dtype_is_refused(mode):
    layer = make(mode)
    G = {"RNN": 1, "LSTM": 4, "GRU": 3}[mode]
    layer.params["weight_hh_l0"] = np.zeros((G * H, H + 1))
    with pytest.raises(ValueError, match=rf"params\['weight_hh_l0'\]: expected a numpy array of shape "
                                         rf"\({G * H}, {H}\) and dtype float64, got shape \({G * H}, {H + 1}\)"):
        layer(np.zeros((T, B, D)))
    layer.params["weight_hh_l0"] = np.zeros((G * H, H), np.float32)
    with pytest.raises(ValueError, match=r"got shape .*, dtype float32"):
        layer(np.zeros((T, B, D)))
    del layer.params["weight_hh_l0"]
    with pytest.raises(ValueError, match=r"params\['weight_hh_l0'\]: .*got missing"):
        layer(np.zeros((T, B, D)))


def test_integer_and_list_inputs_are_accepted_as_numbers():
    layer = companion.RNN(2, 3, seed=0)
    out1, _ = layer([[[1, 2]], [[3, 4]]])
    out2, _ = layer(np.array([[[1.0, 2.0]], [[3.0, 4.0]]]))
    np.testing.assert_array_equal(out1, out2)


def test_numerical_grad_refuses_non_arrays():
    with pytest.raises(ValueError, match=r"x: expected a numpy array that f reads, got list"):
        companion.numerical_grad(lambda: 0.0, [1.0, 2.0])
    a = np.zeros((3, 4)).T       # its flat view would be a copy: perturbing it would do nothing
    with pytest.raises(ValueError, match=r"x: expected a contiguous array"):
        companion.numerical_grad(lambda: 0.0, a)
    # an evenly strided view is fine (its flat reshape is still a view)
    base = np.arange(8.0)
    v = base[::2]
    g = companion.numerical_grad(lambda: float((v ** 2).sum()), v)
    np.testing.assert_allclose(g, 2 * v, rtol=1e-8)
    np.testing.assert_array_equal(base, np.arange(8.0))     # restored exactly


@pytest.mark.parametrize("mode", MODES)
def test_backward_differentiates_the_recorded_pass_even_if_caller_mutates_x(mode):
    """The cache owns a copy of x: reusing the input buffer after forward must not change
    backward (regression: a time-major float64 x used to be cached by reference)."""
    layer = make(mode)
    x = np.random.default_rng(5).normal(size=(T, B, D))      # already time-major, float64, C-contiguous
    out, _ = layer(x)
    dy = np.ones_like(out)
    dx1, _ = layer.backward(dy)
    g1 = {k: v.copy() for k, v in layer.grads.items()}
    x += 10.0                                                # the caller reuses its buffer
    dx2, _ = layer.backward(dy)
    np.testing.assert_array_equal(dx1, dx2)
    for k in g1:
        np.testing.assert_array_equal(layer.grads[k], g1[k], err_msg=k)


@pytest.mark.parametrize("mode", MODES)
def test_forward_and_backward_do_not_modify_caller_arrays(mode):
    layer = make(mode, num_layers=2, bidirectional=True)
    rng = np.random.default_rng(6)
    x = rng.normal(size=(T, B, D))
    st = good_state(mode, LD=4)
    copies = [x.copy()] + [s.copy() for s in (st if isinstance(st, tuple) else (st,))]
    out, s_n = layer(x, st)
    dy = rng.normal(size=out.shape)
    ds = tuple(rng.normal(size=s.shape) for s in s_n) if isinstance(s_n, tuple) else rng.normal(size=s_n.shape)
    dcopies = [dy.copy()] + [s.copy() for s in (ds if isinstance(ds, tuple) else (ds,))]
    layer.backward(dy, ds)
    for a, b in zip([x] + list(st if isinstance(st, tuple) else (st,)), copies, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip([dy] + list(ds if isinstance(ds, tuple) else (ds,)), dcopies, strict=True):
        np.testing.assert_array_equal(a, b)
    # and the returned arrays are not the layer's internals: changing them changes nothing
    out_before = out.copy()
    dx1, _ = layer.backward(dy, ds)
    out[...] = 0.0
    (s_n[0] if isinstance(s_n, tuple) else s_n)[...] = 0.0
    dx2, _ = layer.backward(dy, ds)
    np.testing.assert_array_equal(dx1, dx2)
    np.testing.assert_array_equal(layer(x, st)[0], out_before)


def test_float32_overflow_on_conversion_is_a_value_error_not_a_warning():
    """1e39 does not fit a float32: refused as 'inf' with a ValueError, with no RuntimeWarning
    from the cast first (regression: numpy warned 'overflow encountered in cast')."""
    import warnings
    layer = companion.RNN(D, H, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"x: expected finite values, got inf"):
            layer(np.full((T, B, D), 1e39))


def test_torch_tensor_and_noncontiguous_inputs_accepted():
    import torch
    layer = companion.GRU(D, H, batch_first=True, seed=0)
    x = np.random.default_rng(7).normal(size=(B, T, D))
    ref, _ = layer(x)
    np.testing.assert_array_equal(layer(torch.tensor(x))[0], ref)
    np.testing.assert_array_equal(layer(np.asfortranarray(x))[0], ref)
    np.testing.assert_array_equal(layer(np.ascontiguousarray(x[::-1])[::-1])[0], ref)
    np.testing.assert_array_equal(layer(x.tolist())[0], ref)


# --------------------------------------------------------------------------- the parsing functions themselves

def test_parse_sequence_layouts_and_copy():
    from companion.validation import parse_sequence
    x = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)
    xt, unb = parse_sequence(x, 4, batch_first=False, dtype=np.float64)
    assert not unb and xt.shape == (2, 3, 4) and np.array_equal(xt, x) and not np.shares_memory(xt, x)
    xt, unb = parse_sequence(x, 4, batch_first=True, dtype=np.float32)
    assert not unb and xt.dtype == np.float32 and np.array_equal(xt, x.transpose(1, 0, 2))
    assert xt.flags.c_contiguous
    xt, unb = parse_sequence(x[0], 4, batch_first=True, dtype=np.float64)    # (T, D) whatever batch_first
    assert unb and xt.shape == (3, 1, 4)
    with pytest.raises(ValueError, match=r"x: expected feature size \(last dimension\) 5, got shape \(2, 3, 4\)"):
        parse_sequence(x, 5, batch_first=False, dtype=np.float64)
    with pytest.raises(ValueError, match=r"x: expected at least one time step and one sequence, got shape \(0, 4\)"):
        parse_sequence(np.zeros((0, 4)), 4, batch_first=False, dtype=np.float64)


@pytest.mark.parametrize("has_cell", [False, True])
@pytest.mark.parametrize("unbatched", [False, True])
def test_parse_state_and_its_gradient(has_cell, unbatched):
    from companion.validation import parse_state, parse_state_grad
    LD, b = 2, (1 if unbatched else B)
    shape = (LD, b, H)
    kw = dict(unbatched=unbatched, has_cell=has_cell, mode="LSTM" if has_cell else "GRU", dtype=np.float64)
    n = 2 if has_cell else 1
    for parse in (parse_state, parse_state_grad):
        zeros = parse(None, shape, **kw)
        assert len(zeros) == n and all(z.shape == shape and not z.any() for z in zeros)
        given = [np.random.default_rng(k).normal(size=(LD, H) if unbatched else shape) for k in range(n)]
        got = parse(tuple(given) if has_cell else given[0], shape, **kw)
        assert len(got) == n and all(np.array_equal(g.reshape(LD, -1), v.reshape(LD, -1))
                                     and g.shape == shape for g, v in zip(got, given, strict=True))
    caller = (LD, H) if unbatched else shape
    axes = "hidden_size" if unbatched else "batch, hidden_size"
    if has_cell:
        with pytest.raises(ValueError, match=rf"state: expected a tuple \(h_0, c_0\) of shape {re.escape(str(caller))} "
                                             r"each for the LSTM, got a list of length 1"):
            parse_state([np.zeros(caller)], shape, **kw)
        with pytest.raises(ValueError, match=rf"state\[1\] \(c_0\): expected shape {re.escape(str(caller))} "
                                             rf"\(num_layers \* num_directions, {axes}\), got \(3,\)"):
            parse_state((np.zeros(caller), np.zeros(3)), shape, **kw)
        with pytest.raises(ValueError, match=r"d_state: expected a tuple \(d_h_n, d_c_n\) .* got ndarray of shape"):
            parse_state_grad(np.zeros(caller), shape, **kw)
    else:
        with pytest.raises(ValueError, match=r"state: expected one array h_0 for the GRU, got a tuple"):
            parse_state((np.zeros(caller),), shape, **kw)
        with pytest.raises(ValueError, match=r"d_state: expected one array d_h_n for the GRU"):
            parse_state_grad([np.zeros(caller)], shape, **kw)
        with pytest.raises(ValueError, match=r"d_state: expected finite values, got NaN"):
            parse_state_grad(np.full(caller, np.nan), shape, **kw)


@pytest.mark.parametrize("batch_first", [False, True])
def test_parse_sequence_grad_layouts(batch_first):
    from companion.validation import parse_sequence_grad
    d = np.random.default_rng(0).normal(size=(B, T, H) if batch_first else (T, B, H))
    got = parse_sequence_grad("d_output", d, (T, B, H), unbatched=False, batch_first=batch_first, dtype=np.float64)
    assert np.array_equal(got, d.transpose(1, 0, 2) if batch_first else d)
    got = parse_sequence_grad("d_output", d[0] if batch_first else d[:, 0], (T, 1, H), unbatched=True,
                              batch_first=batch_first, dtype=np.float64)
    assert got.shape == (T, 1, H)
    with pytest.raises(ValueError, match=rf"dy: expected shape \({T}, {H}\) \(the shape of the output\), got"):
        parse_sequence_grad("dy", d, (T, 1, H), unbatched=True, batch_first=batch_first, dtype=np.float64)
