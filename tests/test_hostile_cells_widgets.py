"""Hostile input to the step cells, the activations and the widgets (issue 11).

- companion.cells: every argument of every step function and backward is checked with the
  layers' named ValueErrors (shape, peephole form, dtype, NaN/inf, weight names); before,
  a bias of shape (H, 1) broadcast to an (H, H) state and a diagonal peephole given an
  (H, H) weight did a matrix product, silently;
- companion.activations: for every finite float64/float32 input, no warning, no NaN,
  results in range (softmax([1e308, -1e308]) warned "overflow encountered in subtract");
  non-real dtypes refused;
- companion.widgets: traits are validated against each other; after any assignment,
  accepted or refused, alone or several at once, the outputs are companion.cells' values
  for the current traits (RNNCellExplorer used to accept V and c of different lengths and
  freeze its outputs), and the static page's JavaScript computes the same.
"""
from __future__ import annotations

import contextlib
import json
import math
import re
import shutil
import subprocess
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import companion
from companion import activations, cells
from companion.cells import GRU_WEIGHTS, LSTM_WEIGHTS

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ROOT = Path(__file__).resolve().parents[1]
NODE = shutil.which("node")


# =========================================================================== cells

def _normal(kind, D, H, rng, peephole=None):
    """N(0, 1) weights of the schema (companion.cells): the same draws as rng.normal per weight."""
    return cells.random_weights(kind, D, H, rng, peephole=peephole, distribution="normal")


FUNCS = ["rnn", "rnn_head", "rnn_back", "lstm", "lstm_diagonal", "lstm_full", "lstm_back",
         "lstm_back_diagonal", "lstm_back_full", "gru_lecture", "gru_torch", "gru_back_lecture",
         "gru_back_torch"]


def build(func, D=3, H=4, K=5, B=2, seed=0):
    """Valid arguments for one step function, as a flat dict name -> array (dict weights
    under their own names, step fields as step.<field>), and a function calling it."""
    rng = np.random.default_rng(seed)
    bs = () if B is None else (B,)
    x, h, C = rng.normal(size=bs + (D,)), rng.normal(size=bs + (H,)), rng.normal(size=bs + (H,))
    if func.startswith("rnn"):
        a = {"x_t": x, "h_prev": h, **_normal("rnn", D, H, rng)}
        if func == "rnn_head":
            a.update(V=rng.normal(size=(K, H)), c=rng.normal(size=K))
            return a, lambda a: cells.rnn_step(a["x_t"], a["h_prev"], a["U"], a["W"], a["b"], a["V"], a["c"])
        if func == "rnn":
            return a, lambda a: cells.rnn_step(a["x_t"], a["h_prev"], a["U"], a["W"], a["b"])
        s = cells.rnn_step(x, h, a["U"], a["W"], a["b"])
        a.update({"dh_t": rng.normal(size=bs + (H,)), "step.a_t": s.a_t, "step.h_t": s.h_t})
        del a["b"]
        return a, lambda a: cells.rnn_step_backward(
            a["dh_t"], a["x_t"], a["h_prev"], cells.RNNStep(a["step.a_t"], a["step.h_t"], None, None),
            a["U"], a["W"])
    if func.startswith("lstm"):
        peephole = "diagonal" if func.endswith("diagonal") else "full" if func.endswith("full") else None
        w = _normal("lstm", D, H, rng, peephole)
        a = {"x_t": x, "h_prev": h, "C_prev": C, **w}
        wd = _weight_dict
        if "back" not in func:
            return a, lambda a: cells.lstm_step(a["x_t"], a["h_prev"], a["C_prev"], wd(a), peephole=peephole)
        s = cells.lstm_step(x, h, C, w, peephole=peephole)
        a.update({"dh_t": rng.normal(size=bs + (H,)), "dC_t": rng.normal(size=bs + (H,))})
        a.update({f"step.{f}": v for f, v in s._asdict().items()})
        return a, lambda a: cells.lstm_step_backward(
            a["dh_t"], a["dC_t"], a["x_t"], a["h_prev"], a["C_prev"],
            cells.LSTMStep(*(a[f"step.{f}"] for f in cells.LSTMStep._fields)), wd(a), peephole=peephole)
    variant = func.rsplit("_", 1)[1]
    w = _normal("gru", D, H, rng)
    a = {"x_t": x, "h_prev": h, **w}
    wd = _weight_dict
    if "back" not in func:
        return a, lambda a: cells.gru_step(a["x_t"], a["h_prev"], wd(a), variant=variant)
    s = cells.gru_step(x, h, w, variant=variant)
    a["dh_t"] = rng.normal(size=bs + (H,))
    a.update({f"step.{f}": v for f, v in s._asdict().items()})
    return a, lambda a: cells.gru_step_backward(
        a["dh_t"], a["x_t"], a["h_prev"], cells.GRUStep(*(a[f"step.{f}"] for f in cells.GRUStep._fields)),
        wd(a), variant=variant)


def _weight_dict(a):
    """The weight dict of a flat argument dict: every entry that is not an input or a step field."""
    return {n: v for n, v in a.items()
            if n not in ("x_t", "h_prev", "C_prev", "dh_t", "dC_t") and not n.startswith("step.")}


def names_in(msg, name):
    return re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", msg) is not None


@st.composite
def call_with_one_bad_shape(draw):
    func = draw(st.sampled_from(FUNCS))
    dims = dict(D=draw(st.integers(1, 4)), H=draw(st.integers(1, 4)), K=draw(st.integers(1, 4)),
                B=draw(st.one_of(st.none(), st.integers(1, 3))))
    args, call = build(func, **dims)
    name = draw(st.sampled_from(sorted(args)))
    shape = tuple(draw(st.lists(st.integers(0, 5), max_size=3)))
    assume(shape != args[name].shape)
    return func, dims, args, call, name, shape


@SETTINGS
@given(case=call_with_one_bad_shape())
def test_wrong_shape_of_any_argument_is_a_named_value_error(case):
    """Any argument of any step function or backward with a wrong shape: a ValueError that
    names it (first, or as the argument the odd size disagrees with where two tie)."""
    func, dims, args, call, name, shape = case
    args[name] = np.ones(shape)
    before = {k: v.copy() for k, v in args.items()}
    with pytest.raises(ValueError) as err:
        call(args)
    msg = str(err.value)
    assert re.match(r"^[\w.]+: expected ", msg), msg
    assert names_in(msg, name), f"{func} {dims}: {name} of shape {shape}: {msg}"
    for k, v in args.items():                    # nothing was changed
        np.testing.assert_array_equal(v, before[k])


@pytest.mark.parametrize("func,bias", [("rnn", "b"), ("lstm", "b_f"), ("lstm", "b_o"), ("gru_lecture", "b_hh"),
                                       ("gru_torch", "b_z")])
@pytest.mark.parametrize("B", [None, 2])
def test_bias_of_shape_H_by_1_refused_not_broadcast(func, bias, B):
    """The issue's case: an (H, 1) bias used to broadcast, an (H,) state became (H, H)."""
    args, call = build(func, B=B)
    args[bias] = args[bias][:, None]
    with pytest.raises(ValueError, match=rf"^{bias}: expected shape \(4,\) = \(H,\), got \(4, 1\); H = 4 as in"):
        call(args)


def test_peephole_form_must_match_the_option():
    args, call = build("lstm_diagonal", H=4)
    args["w_cf"] = np.diag(args["w_cf"])          # (H, H) given to a diagonal peephole
    with pytest.raises(ValueError,
                       match=r"^w_cf: expected shape \(4,\) = \(H,\) for peephole='diagonal', got \(4, 4\)"):
        call(args)
    args, call = build("lstm_full", H=4)
    args["w_co"] = np.ones(4)                      # a vector given to a full peephole
    with pytest.raises(ValueError, match=r"^w_co: expected shape \(4, 4\) = \(H, H\) for peephole='full', got \(4,\)"):
        call(args)
    args, _ = build("lstm_full")
    x, h, C = args.pop("x_t"), args.pop("h_prev"), args.pop("C_prev")
    with pytest.raises(ValueError, match=r"^w: .*unexpected 'w_cf', 'w_ci', 'w_co'; peephole weights need"):
        cells.lstm_step(x, h, C, args)             # peephole weights, peephole=None: not ignored
    for k in ("w_cf", "w_ci", "w_co"):
        del args[k]
    with pytest.raises(ValueError, match=r"^w: .*missing w_cf, w_ci, w_co; peephole='diagonal' needs"):
        cells.lstm_step(x, h, C, args, peephole="diagonal")


@pytest.mark.parametrize("func", [f for f in FUNCS if f not in ("rnn", "rnn_head")])   # those take no dict, no step
def test_weight_dict_and_step_tuple_refused_by_name(func):
    args, call = build(func)
    wnames = [n for n in args if n in LSTM_WEIGHTS + GRU_WEIGHTS]
    if wnames:
        bad = dict(args)
        bad["b_F" if "lstm" in func else "b_R"] = bad.pop(wnames[2])     # a misspelt bias
        with pytest.raises(ValueError, match=rf"^w: expected the .* weights .*missing {wnames[2]}; unexpected"):
            call(bad)
    if "back" in func:
        step_names = [n for n in args if n.startswith("step.")]
        with pytest.raises(ValueError, match=r"^step: expected the \w+Step that \w+ returned"):
            if func.startswith("rnn"):
                cells.rnn_step_backward(args["dh_t"], args["x_t"], args["h_prev"], (1.0, 2.0), args["U"], args["W"])
            elif func.startswith("lstm"):
                cells.lstm_step_backward(args["dh_t"], args["dC_t"], args["x_t"], args["h_prev"], args["C_prev"],
                                         tuple(args[n] for n in step_names[:-1]), _weight_dict(args))
            else:
                cells.gru_step_backward(args["dh_t"], args["x_t"], args["h_prev"], [args[n] for n in step_names],
                                        _weight_dict(args))
    if func.startswith(("lstm", "gru")) and "back" not in func:
        with pytest.raises(ValueError, match=r"^w: expected a dict of the (LSTM|GRU) weights"):
            cells.lstm_step(args["x_t"], args["h_prev"], args["h_prev"], [1, 2]) if "lstm" in func \
                else cells.gru_step(args["x_t"], args["h_prev"], None)


@SETTINGS
@given(func=st.sampled_from(FUNCS), data=st.data(), bad=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_nan_or_inf_in_any_argument_refused(func, data, bad):
    args, call = build(func)
    name = data.draw(st.sampled_from(sorted(args)))
    a = args[name].astype(np.float64)
    a.flat[data.draw(st.integers(0, a.size - 1))] = bad
    args[name] = a
    kind = "NaN" if np.isnan(bad) else "inf"
    with pytest.raises(ValueError, match=rf"^{re.escape(name)}: expected finite values, got {kind}"):
        call(args)


@pytest.mark.parametrize("func", ["rnn_head", "lstm_full", "gru_back_torch", "lstm_back_diagonal"])
@pytest.mark.parametrize("how", ["complex", "bool", "object", "str", "None", "ragged"])
def test_non_numeric_argument_refused(func, how):
    args, call = build(func)
    for name in sorted(args):
        bad = dict(args)
        a = args[name]
        bad[name] = {"complex": lambda a=a: a.astype(complex), "bool": lambda a=a: a > 0,
                     "object": lambda a=a: a.astype(object), "str": lambda a=a: a.astype(str),
                     "None": lambda: None, "ragged": lambda: [[1.0, 2.0], [3.0]]}[how]()
        want = rf"^{re.escape(name)}: expected a real numeric array"
        if how == "None" and name == "V":       # V=None is "no head": then c is the odd one
            want = r"^c: the output bias needs the output weights V"
        if how == "None" and name == "c":       # c=None is o = V h, no bias: valid
            call(bad)
            continue
        with pytest.raises(ValueError, match=want):
            call(bad)


@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize("B", [None, 3])
def test_valid_forms_still_accepted(func, B):
    """Lists, integer arrays and float32 pass; float32 stays float32; the unchecked internal
    functions give the same values."""
    args, call = build(func, B=B)
    ref = call(args)
    ref = ref._asdict() if hasattr(ref, "_asdict") else ref
    as_lists = call({k: v.tolist() for k, v in args.items()})
    as_lists = as_lists._asdict() if hasattr(as_lists, "_asdict") else as_lists
    for k, v in ref.items():
        if v is not None:
            np.testing.assert_array_equal(as_lists[k], v, err_msg=k)
    f32 = call({k: v.astype(np.float32) for k, v in args.items()})
    f32 = f32._asdict() if hasattr(f32, "_asdict") else f32
    for k, v in f32.items():
        if v is not None:
            assert v.dtype == np.float32, k
            np.testing.assert_allclose(v, ref[k], rtol=1e-4, atol=1e-4, err_msg=k)
    ints = call({k: np.round(v).astype(np.int64) for k, v in args.items()})
    assert all(np.isfinite(np.asarray(v, float)).all() for v in
               (ints._asdict() if hasattr(ints, "_asdict") else ints).values() if v is not None)


def test_unchecked_steps_equal_checked():
    for func, unchecked in (("rnn_head", cells._rnn_step),):
        args, call = build(func)
        a = call(args)
        b = unchecked(args["x_t"], args["h_prev"], args["U"], args["W"], args["b"], args["V"], args["c"])
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)
    for p in cells.PEEPHOLES:
        args, call = build("lstm" + (f"_{p}" if p else ""))
        w = {k: v for k, v in args.items() if k not in ("x_t", "h_prev", "C_prev")}
        for x, y in zip(call(args), cells._lstm_step(args["x_t"], args["h_prev"], args["C_prev"], w, p), strict=True):
            np.testing.assert_array_equal(x, y)
    for v in cells.GRU_VARIANTS:
        args, call = build(f"gru_{v}")
        w = {k: args[k] for k in GRU_WEIGHTS}
        for x, y in zip(call(args), cells._gru_step(args["x_t"], args["h_prev"], w, v), strict=True):
            np.testing.assert_array_equal(x, y)


# =========================================================================== activations

@contextlib.contextmanager
def strict():
    """No warning of any kind; overflow, invalid and divide raise. (Underflow to 0 or to a
    subnormal is correct rounding; see the activations module's docstring.)"""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            yield


def very_strict():
    """softmax, log_softmax and cross_entropy hold even under np.errstate(all='raise')."""
    ctx = np.errstate(all="raise")
    return ctx


FMAX = {np.float64: np.finfo(np.float64).max, np.float32: np.finfo(np.float32).max}
SPECIAL = {dt: [FMAX[dt], -FMAX[dt], np.finfo(dt).smallest_subnormal, -np.finfo(dt).smallest_subnormal,
                np.finfo(dt).tiny, 0.0, -0.0, 1.0, -1.0] for dt in (np.float64, np.float32)}


def score_arrays(dtype):
    width = 64 if dtype == np.float64 else 32
    finite = st.floats(allow_nan=False, allow_infinity=False, width=width)
    elements = st.one_of(finite, st.sampled_from(SPECIAL[dtype]))
    return hnp.arrays(dtype, hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=6), elements=elements)


def true_log_softmax(row):
    """Exact o_k - max o (Fractions) minus log sum exp, in float64: (value or None if below
    -max float64, the difference alone)."""
    m = max(Fraction(float(v)) for v in row)
    d = [Fraction(float(v)) - m for v in row]
    lim = Fraction(float(FMAX[np.float64]))
    L = math.log(math.fsum(math.exp(float(x)) if x > -lim else 0.0 for x in d))
    return [float(x) - L if x > -lim else None for x in d], d, L


@SETTINGS
@given(data=st.data(), dtype=st.sampled_from([np.float64, np.float32]))
def test_activations_keep_their_promise_for_every_finite_float(data, dtype):
    x = data.draw(score_arrays(dtype))
    targets = data.draw(hnp.arrays(np.int64, x.shape[:-1], elements=st.integers(0, x.shape[-1] - 1)))
    with strict():
        check_activations(x, targets, dtype)


def check_activations(x, targets, dtype):
    eps = np.finfo(dtype).eps
    y = activations.sigmoid(x)
    assert y.dtype == dtype and np.isfinite(y).all() and ((y >= 0) & (y <= 1)).all()
    order = np.argsort(x, axis=None, kind="stable")
    assert np.all(np.diff(y.reshape(-1)[order]) >= 0), "sigmoid not monotone"
    t = activations.tanh(x)
    assert np.isfinite(t).all() and (np.abs(t) <= 1).all()
    r = activations.relu(x)
    assert (r >= 0).all() and np.array_equal(r, np.maximum(x, 0))
    with very_strict():
        p = activations.softmax(x)
        lp = activations.log_softmax(x)
        nll = activations.cross_entropy(x, targets, reduction="none")
        mean = activations.cross_entropy(x, targets)
        total = activations.cross_entropy(x, targets, reduction="sum")
    K = x.shape[-1]
    assert p.dtype == dtype and not np.isnan(p).any() and ((p >= 0) & (p <= 1)).all()
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=0, atol=4 * K * eps)
    assert not np.isnan(lp).any() and (lp <= 0).all()
    lim = Fraction(float(FMAX[dtype]))
    for row, lrow, prow in zip(x.reshape(-1, K), lp.reshape(-1, K), p.reshape(-1, K), strict=True):
        assert prow[np.argmax(row)] == prow.max()
        want, d, L = true_log_softmax(row)
        for got, w, dk in zip(lrow, want, d, strict=True):
            if dk - Fraction(L) < -lim * (1 + Fraction(1, 10 ** 6)):
                assert got == -np.inf, (row, lrow)        # below -max float: -inf is the rounded value
            elif dk - Fraction(L) > -lim * (1 - Fraction(1, 10 ** 6)):
                assert np.isfinite(got), (row, lrow)
                assert abs(got - w) <= 2 * eps * abs(w) + 8 * eps * (1 + L), (row, got, w)
    assert not np.isnan(nll).any() and (nll >= 0).all()
    np.testing.assert_array_equal(nll, -np.take_along_axis(lp, targets[..., None], -1)[..., 0])
    assert not np.isnan(mean) and mean >= 0 and not np.isnan(total)
    if np.isfinite(nll).all():
        assert np.isfinite(mean) and float(mean) <= float(nll.max()) * (1 + 4 * float(eps))   # Python floats: no trap


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_of_opposite_huge_scores(dtype):
    """The issue's case: softmax([1e308, -1e308]) warned 'overflow encountered in subtract'."""
    with strict():
        big = FMAX[dtype]
        x = np.array([big, -big, 0.0, big], dtype)
        with very_strict():
            p = activations.softmax(x)
            lp = activations.log_softmax(x)
            nll = activations.cross_entropy(x[None], np.array([1]), reduction="none")
        np.testing.assert_array_equal(p, np.array([0.5, 0.0, 0.0, 0.5], dtype))
        assert lp[1] == -np.inf and np.isfinite(lp[[0, 2, 3]]).all() and lp[2] == -big   # -big - log 2 rounds to -big
        assert nll[0] == np.inf                       # the true loss 2 max + log 2 exceeds max float


def test_integer_scores_do_not_wrap_around():
    with strict():
        x = np.array([2 ** 63 - 1, -(2 ** 63)])       # max - min wraps to 1 in int64
        np.testing.assert_array_equal(activations.softmax(x), [1.0, 0.0])
        assert activations.log_softmax(x)[0] == 0.0


def test_cross_entropy_mean_of_huge_losses_is_finite():
    with strict():
        big = 1e308
        logits = np.array([[big, -0.75 * big, 0.0], [big, -0.75 * big, 0.0]])
        with very_strict():
            m = activations.cross_entropy(logits, np.array([2, 2]))
            s = activations.cross_entropy(logits, np.array([2, 2]), reduction="sum")
        assert m == big and s == np.inf               # the true sum, 2e308, exceeds max float
        with pytest.raises(ValueError, match=r"logits: reduction='mean' needs at least one example"):
            activations.cross_entropy(np.zeros((0, 3)), np.zeros(0, int))
        assert activations.cross_entropy(np.zeros((0, 3)), np.zeros(0, int), reduction="sum") == 0.0
        with pytest.raises(ValueError, match=r"logits: expected at least one class"):
            activations.cross_entropy(np.zeros((2, 0)), np.zeros(2, int))


@pytest.mark.parametrize("fn", ["sigmoid", "tanh", "relu", "softmax", "log_softmax", "cross_entropy"])
@pytest.mark.parametrize("bad", [np.array([1 + 2j, 0j]), np.array([True, False]), np.array([1.0, 2.0], object),
                                 np.array(["1", "2"]), ["a", "b"]],
                         ids=["complex", "bool", "object", "str", "list-str"])
def test_activations_refuse_non_real_dtypes(fn, bad):
    f = getattr(activations, fn)
    name = "logits" if fn == "cross_entropy" else "x"
    with pytest.raises(ValueError, match=rf"^{name}: expected a real numeric array, got dtype"):
        f(bad, np.array(0)) if fn == "cross_entropy" else f(bad)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax", "cross_entropy"])
@pytest.mark.parametrize("bad,kind", [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "inf")])
def test_softmax_family_refuses_nan_and_inf(fn, bad, kind):
    x = np.array([[0.0, bad, 1.0]])
    name = "logits" if fn == "cross_entropy" else "x"
    with pytest.raises(ValueError, match=rf"^{name}: expected finite values, got {kind}"):
        getattr(activations, fn)(x, np.array([0])) if fn == "cross_entropy" else getattr(activations, fn)(x)
    with pytest.raises(ValueError, match=r"^x: expected at least 1 dimension"):
        activations.softmax(np.float64(1.0))
    with pytest.raises(ValueError, match=r"^x: expected at least one entry along axis -1"):
        activations.log_softmax(np.zeros((2, 0)))


# =========================================================================== widgets

pytest.importorskip("anywidget")
import traitlets  # noqa: E402

import companion.widgets as cw  # noqa: E402
from companion.widgets import explorers  # noqa: E402
from companion.widgets.sequence import run_sequence  # noqa: E402


def expected_outputs(w):
    """What companion.cells computes from the widget's current traits, independently."""
    if isinstance(w, cw.RNNCellExplorer):
        assert len(w.V) == len(w.c), "V and c of different lengths"
        s = cells.rnn_step(np.array([w.x_t]), np.array([w.h_prev]), np.array([[w.U]]), np.array([[w.W]]),
                           np.array([w.b]), np.array(w.V)[:, None], np.array(w.c), nonlinearity=w.nonlinearity)
        return {"a_t": float(s.a_t[0]), "h_t": float(s.h_t[0]), "o_t": s.o_t.tolist(), "y_hat_t": s.y_hat_t.tolist()}
    if isinstance(w, cw.LSTMExplorer):
        peephole = "diagonal" if w.peephole else None
        ws = {k: np.full(cells.weight_shape(k, 1, 1, peephole), v)
              for k, v in w.weights.items() if k in cells.weight_names("lstm", peephole)}
        s = cells.lstm_step(np.array([w.x_t]), np.array([w.h_prev]), np.array([w.C_prev]), ws, peephole=peephole)
        return {k: float(v[0]) for k, v in s._asdict().items()}
    if isinstance(w, cw.GRUExplorer):
        def arr(ws):
            return {k: np.full(cells.weight_shape(k, 1, 1), v) for k, v in ws.items()}
        s = cells.gru_step(np.array([w.x_t]), np.array([w.h_prev]), arr(w.weights), variant=w.variant)
        other = "torch" if w.variant == "lecture" else "lecture"
        o = cells.gru_step(np.array([w.x_t]), np.array([w.h_prev]), arr(explorers.map_gru_variant(w.weights)),
                           variant=other)
        return {"z_t": float(s.z_t[0]), "r_t": float(s.r_t[0]), "h_tilde_t": float(s.h_tilde_t[0]),
                "h_t": float(s.h_t[0]), "h_t_other": float(o.h_t[0])}
    T_, D, H = len(w.xs), len(w.xs[0]), len(w.h0)
    assert len(w.C0) == H and 1 <= w.t <= T_ and 0 <= w.unit < H and 0 <= w.feature < D
    tr = run_sequence(w.kind, w.xs, {k: np.array(v) for k, v in w.weights.items()}, w.h0, w.C0,
                      peephole=w.peephole, variant=w.variant, nonlinearity=w.nonlinearity)
    return {k: v.tolist() for k, v in tr.items()}


def current(w):
    return w.traces if isinstance(w, cw.SequenceStepper) else w.outputs


def inputs(w):
    return json.dumps(w.static_state(), sort_keys=True)


NUM = st.one_of(st.floats(-12, 12), st.sampled_from([float("nan"), float("inf"), "1.0", True, None, [1.0]]))
SMALL = st.floats(-1, 1)


WEIGHT = st.floats(-10, 10)


def lists(lo, hi, elements=WEIGHT):
    return st.lists(elements, min_size=lo, max_size=hi)


@st.composite
def rnn_values(draw):
    name = draw(st.sampled_from(["x_t", "h_prev", "U", "W", "b", "V", "c", "nonlinearity"]))
    if name in ("V", "c"):
        return name, draw(st.one_of(lists(0, 11), lists(1, 3, NUM)))
    if name == "nonlinearity":
        return name, draw(st.sampled_from(["tanh", "relu", "gelu", 3]))
    return name, draw(st.one_of(SMALL, NUM))


def lstm_weight_dicts(draw):
    base = dict(draw(st.sampled_from(list(explorers.LSTM_PRESETS.values())))["weights"])
    for k in draw(st.lists(st.sampled_from(cells.weight_names("lstm", "diagonal")), max_size=3)):
        base[k] = draw(st.one_of(st.floats(-10, 10), NUM))
    if draw(st.integers(0, 9)) == 0:
        base.pop(draw(st.sampled_from(sorted(base))))
    if draw(st.integers(0, 9)) == 0:
        base["evil"] = 1.0
    return base


@st.composite
def lstm_values(draw):
    name = draw(st.sampled_from(["x_t", "h_prev", "C_prev", "weights", "peephole"]))
    if name == "weights":
        return name, lstm_weight_dicts(draw)
    if name == "peephole":
        return name, draw(st.sampled_from([True, False, 1, "yes", None]))
    return name, draw(st.one_of(SMALL, NUM))


@st.composite
def gru_values(draw):
    name = draw(st.sampled_from(["x_t", "h_prev", "weights", "variant"]))
    if name == "weights":
        w = dict(explorers._GRU_DEFAULT)
        for k in draw(st.lists(st.sampled_from(cells.weight_names("gru")), max_size=3)):
            w[k] = draw(st.one_of(st.floats(-10, 10), NUM))
        if draw(st.integers(0, 9)) == 0:
            w.pop("b_hh")
        return name, w
    if name == "variant":
        return name, draw(st.sampled_from(["lecture", "torch", "cho"]))
    return name, draw(st.one_of(SMALL, NUM))


@st.composite
def stepper_config(draw):
    """A whole consistent stepper state (sizes change from one to the next)."""
    kind = draw(st.sampled_from(["rnn", "lstm", "gru"]))
    H, D, T_ = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 6))
    peephole = draw(st.sampled_from(cells.PEEPHOLES)) if kind == "lstm" else None
    shapes = cells.weight_shapes(kind, D, H, peephole)
    rnd = lambda shape: np.asarray(draw(hnp.arrays(np.float64, shape, elements=st.floats(-3, 3)))).tolist()  # noqa: E731
    return {"kind": kind, "peephole": peephole, "variant": draw(st.sampled_from(cells.GRU_VARIANTS)),
            "nonlinearity": draw(st.sampled_from(cells.NONLINEARITIES)),
            "xs": rnd((T_, D)), "h0": rnd((H,)), "C0": rnd((H,)),
            "weights": {k: rnd(s) for k, s in shapes.items()},
            "t": draw(st.integers(1, T_)), "unit": draw(st.integers(0, H - 1)), "feature": draw(st.integers(0, D - 1))}


@st.composite
def stepper_values(draw):
    cfg = draw(stepper_config())
    keys = draw(st.lists(st.sampled_from(sorted(cfg)), min_size=1, max_size=len(cfg), unique=True))
    if draw(st.booleans()):
        keys = sorted(cfg)               # the whole new state: accepted
    return {k: cfg[k] for k in keys}


MAKERS = {"rnn": (cw.RNNCellExplorer, rnn_values), "lstm": (cw.LSTMExplorer, lstm_values),
          "gru": (cw.GRUExplorer, gru_values), "stepper": (cw.SequenceStepper, None)}


@st.composite
def operations(draw, which):
    """One operation on a widget: a single assignment, several at once (update, set_state, a
    held block, possibly interrupted by another exception), or an attempt to set the outputs."""
    how = draw(st.sampled_from(["set", "update", "set_state", "hold", "hold-interrupted", "set-outputs"]))
    if which == "stepper":
        values = draw(stepper_values())
        if how == "set":
            values = dict([next(iter(values.items()))])
    else:
        gen = MAKERS[which][1]
        values = dict(draw(st.lists(gen(), min_size=1, max_size=1 if how == "set" else 3)))
    return how, values


def apply(w, how, values):
    if how == "set":
        (k, v), = values.items()
        setattr(w, k, v)
    elif how == "update":
        w.update(**values)
    elif how == "set_state":
        w.set_state(values)
    elif how == "set-outputs":
        w.set_state({**values, ("traces" if isinstance(w, cw.SequenceStepper) else "outputs"): {"a_t": 0.0}})
    else:
        with w.hold_trait_notifications():
            for k, v in values.items():
                setattr(w, k, v)
            if how == "hold-interrupted":
                raise KeyboardInterrupt


@pytest.mark.parametrize("which", list(MAKERS))
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_widget_outputs_always_equal_companion_for_current_traits(which, data):
    w = MAKERS[which][0]()
    assert current(w) == expected_outputs(w)
    for how, values in data.draw(st.lists(operations(which), min_size=1, max_size=6)):
        before_in, before_out = inputs(w), json.dumps(current(w), sort_keys=True)
        try:
            apply(w, how, values)
            refused = how in ("hold-interrupted", "set-outputs")
            assert not refused, f"{how} {values} accepted"
        except (traitlets.TraitError, KeyboardInterrupt) as e:
            if isinstance(e, traitlets.TraitError):
                assert re.match(r"^[\w.\[\], ]+: ", str(e)) or "trait of" in str(e), str(e)
            # refused: nothing changed, inputs nor outputs
            assert inputs(w) == before_in, f"{how} {values} refused but changed the inputs"
            assert json.dumps(current(w), sort_keys=True) == before_out, f"{how} {values} changed the outputs"
        assert current(w) == expected_outputs(w), f"after {how} {values}"


def test_rnn_explorer_refuses_V_and_c_of_different_lengths_and_resizes_with_update():
    w = cw.RNNCellExplorer()
    before = (w.static_state(), dict(w.outputs))
    with pytest.raises(traitlets.TraitError, match=r"^V: expected a list of 3 numbers \(one per class, as c has\), "
                                                   r"got 2; .*widget.update\(V=\[\.\.\.\], c=\[\.\.\.\]\)"):
        w.V = [1.0, 2.0]
    with pytest.raises(traitlets.TraitError, match=r"^c: expected a list of 3 numbers"):
        w.set_state({"c": [0.0] * 4})                # as the page would send it
    with pytest.raises(traitlets.TraitError, match=r"^V: expected a list of 3"):
        w.update(V=[1.0, 2.0], x_t=0.5)              # several at once: all refused
    assert (w.static_state(), w.outputs) == before
    w.update(V=[1.0, 2.0], c=[0.0, 0.5])             # K = 2, set together
    assert len(w.outputs["y_hat_t"]) == 2 and w.outputs == expected_outputs(w)
    with pytest.raises(traitlets.TraitError, match=r"^V: expected a list of 3"):
        cw.RNNCellExplorer(V=[1.0, 2.0, 3.0, 4.0])   # c keeps its default length 3 ...
    assert cw.RNNCellExplorer(V=[1.0], c=[2.0]).outputs["y_hat_t"] == [1.0]   # ... both: fine


def test_held_changes_roll_back_on_any_exception():
    w = cw.RNNCellExplorer()
    before = (w.static_state(), dict(w.outputs))
    with pytest.raises(RuntimeError, match="boom"):
        with w.hold_trait_notifications():
            w.V = [1.0, 2.0]
            w.x_t = 2.0
            raise RuntimeError("boom")
    assert (w.static_state(), w.outputs) == before


@pytest.mark.parametrize("which", list(MAKERS))
def test_computed_traits_cannot_be_set_from_outside(which):
    w = MAKERS[which][0]()
    key = "traces" if which == "stepper" else "outputs"
    before = (w.static_state(), current(w))
    with pytest.raises(traitlets.TraitError, match=rf"^{key}: read-only, computed by Python"):
        w.set_state({key: {}})
    with pytest.raises(traitlets.TraitError, match=rf"^{key}: not an input"):
        w.update(**{key: {}})
    assert (w.static_state(), current(w)) == before


def test_presets_and_switch_are_atomic():
    w = cw.LSTMExplorer(preset="remember")
    with pytest.raises(ValueError, match=r"^name: expected one of 'remember'"):
        w.apply_preset("nope")
    w.apply_preset("read")
    assert w.outputs == expected_outputs(w)
    g = cw.GRUExplorer()
    g.switch_variant()
    assert g.variant == "torch" and g.outputs == expected_outputs(g)


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_static_page_math_equals_python_on_widget_states(tmp_path):
    """The page computes from the stored state with static/cells.js, after the same checks as
    rnn.js (c as long as V): on accepted widget states it gives Python's outputs."""
    states = []
    for V, c in ([[2.0, -1.0, 0.0], [0.0, 0.0, 0.5]], [[1.0], [3.0]], [[0.5] * 10, list(np.linspace(-1, 1, 10))]):
        w = cw.RNNCellExplorer(x_t=0.7, h_prev=-0.2, U=1.1, W=-0.4, b=0.3, V=V, c=c)
        states.append({"cell": "rnn", "state": w.static_state(), "outputs": w.outputs})
    for make in (lambda: companion.LSTM(2, 3, seed=0, peephole="full"), lambda: companion.GRU(3, 2, seed=0),
                 lambda: companion.RNN(2, 3, seed=0, nonlinearity="relu")):
        s = cw.SequenceStepper(make(), xs=np.random.default_rng(0).uniform(-1, 1, (5, make().input_size)))
        states.append({"cell": "sequence", "state": s.static_state(), "outputs": s.traces})
    (tmp_path / "states.json").write_text(json.dumps(states))
    static = (ROOT / "src" / "companion" / "widgets" / "static").as_uri()
    script = f"""
import {{ readFileSync }} from "node:fs";
import {{ rnnStep, runSequence }} from "{static}/cells.js";
import {{ BOUNDS, checkNum, checkVec }} from "{static}/ui.js";
const cases = JSON.parse(readFileSync({json.dumps(str(tmp_path / "states.json"))}, "utf8"));
let worst = 0;
const cmp = (a, b) => {{
  if (Array.isArray(b)) {{ if (a.length !== b.length) throw new Error("length"); b.forEach((v, k) => cmp(a[k], v)); }}
  else worst = Math.max(worst, Math.abs(a - b) / Math.max(1, Math.abs(b))); }};
for (const c of cases) {{
  const s = c.state;
  if (c.cell === "rnn") {{
    for (const k of ["x_t", "h_prev", "U", "W", "b"])
      checkNum(k, s[k], k === "x_t" ? BOUNDS.x : k === "h_prev" ? BOUNDS.h : BOUNDS.w);
    checkVec("V", s.V, null, BOUNDS.w, BOUNDS.maxK); checkVec("c", s.c, s.V.length, BOUNDS.w, BOUNDS.maxK);
    const r = rnnStep([s.x_t], [s.h_prev], [[s.U]], [[s.W]], [s.b], s.V.map((v) => [v]), s.c, s.nonlinearity);
    cmp([r.a_t[0], r.h_t[0], ...r.o_t, ...r.y_hat_t],
        [c.outputs.a_t, c.outputs.h_t, ...c.outputs.o_t, ...c.outputs.y_hat_t]);
  }} else {{
    const tr = runSequence(s.kind, s.xs, s.weights, {{ h0: s.h0, C0: s.C0, peephole: s.peephole, variant: s.variant,
                                                      nonlinearity: s.nonlinearity }});
    for (const k of Object.keys(c.outputs)) cmp(tr[k], c.outputs[k]);
  }}
}}
console.log(worst);
"""
    (tmp_path / "check.mjs").write_text(script)
    r = subprocess.run([NODE, str(tmp_path / "check.mjs")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    assert float(r.stdout.strip()) <= 1e-12


# --- found by review: two inputs that still ended in a foreign traceback

def test_cells_accept_a_torch_tensor_that_requires_grad_as_the_layers_do():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    D, H = 3, 4
    U, W, b = rng.normal(size=(H, D)), rng.normal(size=(H, H)), rng.normal(size=H)
    x = torch.randn(D, dtype=torch.float64, requires_grad=True)
    st = cells.rnn_step(x, np.zeros(H), U, W, b)
    assert np.allclose(st.h_t, np.tanh(b + U @ x.detach().numpy()))


@pytest.mark.parametrize("axis", [5, -3, 1.0, True, "0"])
def test_softmax_axis_out_of_range_is_a_named_value_error(axis):
    for f in (companion.softmax, companion.log_softmax):
        with pytest.raises(ValueError, match=r"^axis: expected an integer"):
            f([[1.0, 2.0]], axis=axis)
