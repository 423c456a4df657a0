"""One time step of each recurrent cell, in the slides' notation, forward and backward.

These are the readable cells: one line per equation, every intermediate the
slides name returned by name, and a backward that mirrors the forward line by
line. Inputs may be one example, ``x_t`` of shape (D,), or a batch, (B, D).
Weights act on the right of a row vector (``x_t @ U.T``) so both work alike.

The sequence layers in :mod:`companion.layers` compute the same cells fused
(all gates in one product) for speed; ``tests/test_cells.py`` proves the two
agree, and :meth:`companion.layers.LSTM.cell_weights` maps a layer's stacked
torch-style parameters to the per-gate names used here.

Backward functions take the gradient of the loss with respect to the step's
outputs and the step's saved forward values, and return the gradients of the
step's inputs and of every weight, named ``d<name>``.

Every argument is checked before anything is computed, as the layers check
theirs: a real numeric array (integers or floats; not bool, complex, object or
text), finite (no NaN, no inf), of the shape its symbol says: x_t (D,) or
(B, D); h_prev, C_prev and the gradients dh_t, dC_t (H,) or (B, H), all one
example or all a batch of the same B; W_x* and U (H, D); W_h* and W (H, H);
biases (H,); V (K, H) and c (K,); peephole weights (H,) for
``peephole="diagonal"``, (H, H) for ``"full"``. A weight dict holds exactly the
names the cell uses. The sizes D, H, B, K are those most arguments agree on
(ties go to the earlier argument), so the error names the odd one out::

    ValueError: b_f: expected shape (4,) = (H,), got (4, 1); H = 4 as in h_prev

Arrays keep their dtype (a float32 step stays float32); lists are read with
``np.asarray``.
"""
from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Mapping
from operator import attrgetter
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .activations import relu, sigmoid, softmax
from .validation import check_choice, check_dtype, check_positive_int

__all__ = [
    "RNNStep", "rnn_step", "rnn_step_backward",
    "LSTMStep", "lstm_step", "lstm_step_backward",
    "GRUStep", "gru_step", "gru_step_backward",
    "CELL_KINDS", "RNN_WEIGHTS", "LSTM_WEIGHTS", "GRU_WEIGHTS", "PEEPHOLE_WEIGHTS",
    "NONLINEARITIES", "PEEPHOLES", "GRU_VARIANTS",
    "weight_names", "weight_shape", "weight_shapes", "random_weights",
]

NONLINEARITIES = ("tanh", "relu")
PEEPHOLES = (None, "diagonal", "full")
GRU_VARIANTS = ("torch", "lecture")

#: names of an LSTM step's weights (W_x* act on x_t, W_h* on h_{t-1}).
LSTM_WEIGHTS = ("W_xi", "W_hi", "b_i", "W_xf", "W_hf", "b_f",
                "W_xC", "W_hC", "b_C", "W_xo", "W_ho", "b_o")
#: names of a GRU step's weights (the candidate keeps two biases, as torch's form needs both).
GRU_WEIGHTS = ("W_xr", "W_hr", "b_r", "W_xz", "W_hz", "b_z", "W_xh", "W_hh", "b_xh", "b_hh")
_PEEP_WEIGHTS = ("w_cf", "w_ci", "w_co")


# --------------------------------------------------------------------------- the weight schema
#
# The one place that says which weights each cell has, in which order, of which shape. Every
# other place (the layers' cell_weights, the widgets, the test vectors, the exercise checks,
# the tests) derives names and shapes from here, so a new cell kind or peephole form is
# added once.

#: the cell kinds of this package
CELL_KINDS = ("rnn", "lstm", "gru")
#: names of a vanilla RNN step's weights: h(t) = tanh(b + W h(t-1) + U x(t)) (slide 5)
RNN_WEIGHTS = ("U", "W", "b")
#: names of the peephole weights of slide 14 (w_c* act on C_{t-1} or, for o_t, on C_t)
PEEPHOLE_WEIGHTS = _PEEP_WEIGHTS


def weight_names(kind: str, peephole: str | None = None) -> tuple[str, ...]:
    """The names of a ``kind`` cell's weights in the schema's order (the order in which
    :func:`random_weights` draws them): :data:`RNN_WEIGHTS`, :data:`LSTM_WEIGHTS` (then
    :data:`PEEPHOLE_WEIGHTS` when ``peephole`` is ``"diagonal"`` or ``"full"``) or
    :data:`GRU_WEIGHTS`."""
    check_choice("kind", kind, CELL_KINDS)
    check_choice("peephole", peephole, PEEPHOLES if kind == "lstm" else (None,))
    if kind == "rnn":
        return RNN_WEIGHTS
    if kind == "gru":
        return GRU_WEIGHTS
    return LSTM_WEIGHTS + (_PEEP_WEIGHTS if peephole else ())


def weight_shape(name: str, D: int, H: int, peephole: str | None = None) -> tuple[int, ...]:
    """The shape of the weight ``name``: (H, D) for what acts on x_t (U, W_x*), (H, H) for what
    acts on h_{t-1} (W, W_h*), (H,) for a bias; a peephole weight w_c* is (H,) for
    ``peephole="diagonal"`` and (H, H) for ``"full"``."""
    if name in _PEEP_WEIGHTS:
        check_choice("peephole", peephole, ("diagonal", "full"))
        return (H,) if peephole == "diagonal" else (H, H)
    if name == "U" or name.startswith("W_x"):
        return (H, D)
    if name == "W" or name.startswith("W_h"):
        return (H, H)
    if name == "b" or name.startswith("b_"):
        return (H,)
    raise ValueError(f"name: expected a weight name of {', '.join(CELL_KINDS)} cells, got {name!r}")


def weight_shapes(kind: str, D: int, H: int, peephole: str | None = None) -> dict[str, tuple[int, ...]]:
    """``{name: shape}`` for every weight of a ``kind`` cell with input size D and hidden size H,
    in the schema's order (see :func:`weight_names` and :func:`weight_shape`)."""
    D, H = check_positive_int("D", D), check_positive_int("H", H)
    return {n: weight_shape(n, D, H, peephole) for n in weight_names(kind, peephole)}


def random_weights(kind: str, D: int, H: int, rng=None, *, peephole: str | None = None,
                   scale: float = 1.0, bias_scale: float | None = None,
                   distribution: str = "uniform", dtype=np.float64) -> dict[str, np.ndarray]:
    """Seeded random weights of a ``kind`` cell, drawn in the schema's order.

    ``rng`` is a ``numpy.random.Generator`` (its stream is consumed) or a seed (an int, or None
    for fresh entropy). ``distribution="uniform"`` draws from U(-scale, scale), ``"normal"``
    from N(0, scale^2); biases use ``bias_scale`` (default: ``scale``). The same seed and
    arguments give the same weights everywhere: the test vectors, the checks and the tests
    draw with this one function."""
    shapes = weight_shapes(kind, D, H, peephole)
    check_choice("distribution", distribution, ("uniform", "normal"))
    for name, v in (("scale", scale), ("bias_scale", scale if bias_scale is None else bias_scale)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{name}: expected a finite number >= 0, got {v!r}")
    bias_scale = scale if bias_scale is None else bias_scale
    dtype = check_dtype(dtype)
    if not isinstance(rng, np.random.Generator):
        if rng is not None and (isinstance(rng, bool) or not isinstance(rng, numbers.Integral)):
            raise ValueError(f"rng: expected a numpy Generator, an int seed or None, got {rng!r}")
        rng = np.random.default_rng(rng)
    w = {}
    for name, shape in shapes.items():
        s = bias_scale if len(shape) == 1 and name not in _PEEP_WEIGHTS else scale
        w[name] = (rng.uniform(-s, s, shape) if distribution == "uniform"
                   else rng.normal(0.0, s, shape)).astype(dtype, copy=False)
    return w


# --------------------------------------------------------------------------- argument checks
#
# One checker for every step function. A _Spec lists a function's array arguments with the
# shape of each in size symbols; a leading "B" marks a per-example array, which is either one
# example (the B left out) or a batch. The fast path reads D, H, K from the first argument
# that has each and B from the first argument, compares all shapes and dtypes at once and
# tests NaN/inf in one call: microseconds, as the step functions run inside loops. Only when
# something is wrong does the slow path (_diagnose) work out which argument is the odd one
# out (sizes by majority), to name it. The layers, which check their input once per
# sequence, can call the unchecked _rnn_step, _lstm_step and _gru_step.

_SMALL = 4096    # up to this many numbers in all, one NaN/inf test over their concatenation


class _Spec:
    def __init__(self, args):
        self.names = tuple(a[0] for a in args)
        self.pats = tuple(a[1] for a in args)
        self.notes = tuple(a[2] if len(a) > 2 else "" for a in args)
        distinct = list(dict.fromkeys(self.pats))
        self.kind = tuple(distinct.index(p) for p in self.pats)
        self.forms = tuple((p, p[1:] if p[0] == "B" else p) for p in distinct)   # (batch, one example)
        first = {}
        for i, p in enumerate(self.pats):
            for k, s in enumerate(p):
                if s != "B" and s not in first:
                    first[s] = (i, k - len(p))          # the axis counted from the end
        self.symbols = tuple(first)
        self.first = tuple(first.values())
        self.shapes = {}                                 # sizes -> expected shape of each pattern
        assert self.pats[0][0] == "B"

    def expected(self, key):
        """(shape of each argument, their total size) for ``key`` = (B, or -1 for one example,
        then the sizes of ``symbols``)."""
        got = self.shapes.get(key)
        if got is None:
            size = dict(zip(self.symbols, key[1:], strict=True), B=key[0])
            forms = [tuple(size[s] for s in (f[0] if key[0] >= 0 else f[1])) for f in self.forms]
            shapes = [forms[k] for k in self.kind]
            got = (shapes, sum(math.prod(s) for s in shapes))
            if len(self.shapes) > 256:
                self.shapes.clear()
            self.shapes[key] = got
        return got


_shape, _dtype = attrgetter("shape"), attrgetter("dtype")


def _as_array(v):
    """An argument as a numpy array; a torch tensor (even one that requires grad) is detached,
    as the layers do, rather than failing inside np.asarray with torch's error."""
    if type(v) is np.ndarray:
        return v
    if hasattr(v, "detach") and hasattr(v, "numpy"):
        v = v.detach().cpu().numpy()
    return np.asarray(v)


def _check(spec, values):
    """``values`` (in ``spec``'s order) as arrays, or a ValueError naming the bad argument."""
    try:
        arrs = [_as_array(v) for v in values]
        x = arrs[0]
        key = (x.shape[0] if x.ndim == 2 else -1, *[arrs[i].shape[ax] for i, ax in spec.first])
        if 0 not in key:
            shapes, n = spec.expected(key)
            if (list(map(_shape, arrs)) == shapes
                    and all(d.kind in "fiu" for d in set(map(_dtype, arrs)))):
                if n <= _SMALL:   # one NaN/inf test for all: a concatenation costs less than many calls
                    if np.count_nonzero(np.isfinite(np.concatenate([a.ravel() for a in arrs]))) == n:
                        return arrs
                elif all(np.isfinite(a).all() for a in arrs if a.dtype.kind == "f"):
                    return arrs
    except (ValueError, TypeError, IndexError):
        pass
    _diagnose(spec, values)
    raise AssertionError("unreachable: _diagnose found nothing wrong")   # pragma: no cover


def _majority(values):
    """The most common value; a tie goes to the one seen first."""
    counts = Counter(values)
    best = max(counts.values())
    return next(v for v in values if counts[v] == best)


def _fmt(t):
    return "(" + ", ".join(map(str, t)) + ("," if len(t) == 1 else "") + ")"


def _diagnose(spec, values):
    """Raise the ValueError for the first bad argument: dtype, then shape, then NaN/inf."""
    names = spec.names
    arrs = []
    for name, v in zip(names, values, strict=True):
        try:
            a = _as_array(v)
        except (ValueError, TypeError, RuntimeError):
            raise ValueError(f"{name}: expected a real numeric array, got a {type(v).__name__} "
                             "that numpy cannot read as one (ragged?)") from None
        if a.dtype.kind not in "fiu":
            raise ValueError(f"{name}: expected a real numeric array, got dtype {a.dtype}"
                             + (" (None)" if v is None else ""))
        arrs.append(a)
    # one example or a batch: what most per-example arguments are
    per = [i for i, p in enumerate(spec.pats) if p[0] == "B"]
    votes = [arrs[i].ndim == len(spec.pats[i]) for i in per
             if arrs[i].ndim in (len(spec.pats[i]) - 1, len(spec.pats[i]))]
    batched = _majority(votes) if votes else False
    pats = [p if batched or p[0] != "B" else p[1:] for p in spec.pats]
    # each size: what most arguments with the right number of dimensions say
    said = {}
    for name, a, p in zip(names, arrs, pats, strict=True):
        if a.ndim == len(p):
            for s, n in zip(p, a.shape, strict=True):
                said.setdefault(s, []).append((n, name))
    size = {s: _majority([n for n, _ in v]) for s, v in said.items()}

    def source(s, exclude):
        return next((nm for n, nm in said.get(s, ()) if n == size[s] and nm != exclude), None)

    for name, a, p, note in zip(names, arrs, pats, spec.notes, strict=True):
        want = tuple(size.get(s, s) for s in p)
        if a.shape == want:
            continue
        why = []
        if spec.pats[names.index(name)][0] == "B" and a.ndim == len(p) + (-1 if batched else 1):
            others = [names[i] for i in per if arrs[i].ndim == len(pats[i]) and names[i] != name][:2]
            if others:   # only the batch axis is wrong
                why.append(f"{' and '.join(others)} {'are' if len(others) > 1 else 'is'} "
                           f"{'a batch' if batched else 'one example'}")
        else:
            for k, s in enumerate(p):
                if s in size and (a.ndim != len(p) or a.shape[k] != size[s]):
                    src = source(s, name)
                    if src is not None:
                        why.append(f"{s} = {size[s]} as in {src}")
        raise ValueError(f"{name}: expected shape {_fmt(want)} = {_fmt(p)}{note}, got {a.shape}"
                         + ("; " + ", ".join(dict.fromkeys(why)) if why else ""))
    for s, n in size.items():
        if n == 0:
            name, a = next((nm, a) for nm, a, p in zip(names, arrs, pats, strict=True) if s in p)
            raise ValueError(f"{name}: expected {s} >= 1, got shape {a.shape}")
    for name, a in zip(names, arrs, strict=True):
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise ValueError(f"{name}: expected finite values, got {'NaN' if np.isnan(a).any() else 'inf'} "
                             f"(shape {a.shape})")


def _weights(w, names, cell, peephole=None):
    """The arrays of the weight dict ``w`` in the order of ``names``; a missing or an unknown
    key is refused (a misspelt name would otherwise be ignored)."""
    try:
        if len(w) == len(names):
            return [w[k] for k in names]
    except (TypeError, KeyError):
        pass
    if not isinstance(w, Mapping):
        raise ValueError(f"w: expected a dict of the {cell} weights {', '.join(names)}, got {type(w).__name__}")
    missing = [k for k in names if k not in w]
    unknown = [k for k in w if k not in names]
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing))
    if unknown:
        parts.append("unexpected " + ", ".join(map(repr, unknown)))
    hint = ""
    if cell == "LSTM" and peephole is None and set(unknown) & set(_PEEP_WEIGHTS):
        hint = "; peephole weights need peephole='diagonal' or 'full'"
    elif cell == "LSTM" and peephole and set(missing) & set(_PEEP_WEIGHTS):
        hint = f"; peephole={peephole!r} needs w_cf, w_ci, w_co"
    raise ValueError(f"w: expected the {cell} weights {', '.join(names)}; {'; '.join(parts)}{hint}")


def _step_fields(step, cls, fn):
    if isinstance(step, tuple) and len(step) == len(cls._fields):
        return tuple(step)
    raise ValueError(f"step: expected the {cls.__name__} that {fn} returned ({', '.join(cls._fields)}), "
                     f"got {type(step).__name__}" + (f" of length {len(step)}" if isinstance(step, tuple) else ""))


_X, _HB = ("B", "D"), ("B", "H")


def _weight_specs(kind, peephole=None):
    """The schema's weights as argument specs, shapes in size symbols (("H", "D"), ...)."""
    return [(n, weight_shape(n, "D", "H", peephole), f" for peephole={peephole!r}" if n in _PEEP_WEIGHTS else "")
            for n in weight_names(kind, peephole)]


_RNN = [("x_t", _X), ("h_prev", _HB)] + _weight_specs("rnn")
_SPECS = {
    ("rnn", 0): _Spec(_RNN),
    ("rnn", 1): _Spec(_RNN + [("V", ("K", "H"))]),
    ("rnn", 2): _Spec(_RNN + [("V", ("K", "H")), ("c", ("K",))]),
    ("rnn_back", None): _Spec([("dh_t", _HB), ("x_t", _X), ("h_prev", _HB), ("step.a_t", _HB),
                               ("step.h_t", _HB), ("U", ("H", "D")), ("W", ("H", "H"))]),
    ("gru", None): _Spec([("x_t", _X), ("h_prev", _HB)] + _weight_specs("gru")),
    ("gru_back", None): _Spec([("dh_t", _HB), ("x_t", _X), ("h_prev", _HB)]
                              + [(f"step.{f}", _HB) for f in ("z_t", "r_t", "h_tilde_t", "h_t", "hh_t")]
                              + _weight_specs("gru")),
}
for _p in PEEPHOLES:
    _w = _weight_specs("lstm", _p)
    _SPECS["lstm", _p] = _Spec([("x_t", _X), ("h_prev", _HB), ("C_prev", _HB)] + _w)
    _SPECS["lstm_back", _p] = _Spec(
        [("dh_t", _HB), ("dC_t", _HB), ("x_t", _X), ("h_prev", _HB), ("C_prev", _HB)]
        + [(f"step.{f}", _HB) for f in ("f_t", "i_t", "C_tilde_t", "C_t", "o_t", "h_t")] + _w)
_LSTM_NAMES = {p: weight_names("lstm", p) for p in PEEPHOLES}


def _peep(w, c, peephole):
    """The peephole term: w * c for a diagonal (H,) weight, W c for a full (H, H) one."""
    return w * c if peephole == "diagonal" else c @ w.T


def _peep_back(w, d_pre, c, peephole):
    """Gradients of the peephole term w.r.t. its weight and its cell input."""
    if peephole == "diagonal":
        return (d_pre * c).reshape(-1, w.shape[0]).sum(axis=0), d_pre * w
    return d_pre.reshape(-1, w.shape[0]).T @ c.reshape(-1, w.shape[0]), d_pre @ w


def _outer(d, v):
    """sum over the batch of d^T v; works for one example (1-d) and for a batch (2-d)."""
    return np.outer(d, v) if d.ndim == 1 else d.T @ v


def _bsum(d):
    return d if d.ndim == 1 else d.sum(axis=0)


# --------------------------------------------------------------------------- vanilla RNN

class RNNStep(NamedTuple):
    """Everything slide 5 names for one step: a(t), h(t), o(t), y_hat(t) (o, y_hat None without a head)."""
    a_t: np.ndarray
    h_t: np.ndarray
    o_t: np.ndarray | None
    y_hat_t: np.ndarray | None


def rnn_step(x_t: ArrayLike, h_prev: ArrayLike, U: ArrayLike, W: ArrayLike, b: ArrayLike,
             V: ArrayLike | None = None, c: ArrayLike | None = None, nonlinearity: str = "tanh") -> RNNStep:
    r"""One step of the vanilla RNN (slide 5).

    .. math::

        a(t) &= b + W h(t-1) + U x(t) \\
        h(t) &= \tanh(a(t)) \\
        o(t) &= c + V h(t) \\
        \hat y(t) &= \mathrm{softmax}(o(t))

    These are equations :eq:`eq-rnn-preactivation`, :eq:`eq-rnn-state`,
    :eq:`eq-rnn-output` and :eq:`eq-rnn-softmax` of chapter 02.

    In the slide's second notation, h_t = f(W_hh h_{t-1} + W_xh x_t + b_h) and
    o_t = softmax(W_ho h_t + b_o): W = W_hh, U = W_xh, b = b_h, V = W_ho, c = b_o.
    torch.nn.RNN calls them weight_hh, weight_ih and bias_ih + bias_hh.

    Shapes: x_t (D,) or (B, D); h_prev (H,) or (B, H); U (H, D); W (H, H);
    b (H,); V (K, H); c (K,). Pass ``V=None`` for the recurrence alone
    (``c`` needs ``V``). ``nonlinearity="relu"`` replaces tanh by ReLU
    (torch's option). Every argument is checked (see the module's docstring).
    """
    check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
    if V is None:
        if c is not None:
            raise ValueError("c: the output bias needs the output weights V (o(t) = c + V h(t)); got V=None")
        x_t, h_prev, U, W, b = _check(_SPECS["rnn", 0], (x_t, h_prev, U, W, b))
    elif c is None:
        x_t, h_prev, U, W, b, V = _check(_SPECS["rnn", 1], (x_t, h_prev, U, W, b, V))
    else:
        x_t, h_prev, U, W, b, V, c = _check(_SPECS["rnn", 2], (x_t, h_prev, U, W, b, V, c))
    return _rnn_step(x_t, h_prev, U, W, b, V, c, nonlinearity)


def _rnn_step(x_t, h_prev, U, W, b, V=None, c=None, nonlinearity="tanh"):
    """:func:`rnn_step` without the argument checks, for callers that checked them once."""
    a_t = b + h_prev @ W.T + x_t @ U.T
    h_t = np.tanh(a_t) if nonlinearity == "tanh" else relu(a_t)
    if V is None:
        return RNNStep(a_t, h_t, None, None)
    o_t = h_t @ V.T if c is None else c + h_t @ V.T
    y_hat_t = softmax(o_t)
    return RNNStep(a_t, h_t, o_t, y_hat_t)


def rnn_step_backward(dh_t: ArrayLike, x_t: ArrayLike, h_prev: ArrayLike, step: RNNStep, U: ArrayLike,
                      W: ArrayLike, nonlinearity: str = "tanh") -> dict[str, np.ndarray]:
    r"""Backward of :func:`rnn_step`'s recurrence, given dL/dh(t).

    .. math::

        \partial L/\partial a(t) &= \partial L/\partial h(t) \odot (1 - h(t)^2)
            \quad(\text{tanh; for ReLU: } \odot [a(t) > 0]) \\
        \partial L/\partial W &= \textstyle\sum \partial L/\partial a(t)\, h(t-1)^\top,\quad
        \partial L/\partial U = \textstyle\sum \partial L/\partial a(t)\, x(t)^\top,\quad
        \partial L/\partial b = \textstyle\sum \partial L/\partial a(t) \\
        \partial L/\partial h(t-1) &= W^\top \partial L/\partial a(t),\quad
        \partial L/\partial x(t) = U^\top \partial L/\partial a(t)

    The output head's gradient enters through ``dh_t`` (see :mod:`companion.head`).
    ``step`` is the :class:`RNNStep` of the forward (its a_t and h_t are used).
    Returns a dict with dx_t, dh_prev, dU, dW, db.
    """
    check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
    a_t, h_t = _step_fields(step, RNNStep, "rnn_step")[:2]
    dh_t, x_t, h_prev, a_t, h_t, U, W = _check(_SPECS["rnn_back", None], (dh_t, x_t, h_prev, a_t, h_t, U, W))
    if nonlinearity == "tanh":
        da = dh_t * (1.0 - h_t ** 2)
    else:
        da = dh_t * (a_t > 0)
    return {"dx_t": da @ U, "dh_prev": da @ W,
            "dU": _outer(da, x_t), "dW": _outer(da, h_prev), "db": _bsum(da)}


# --------------------------------------------------------------------------- LSTM

class LSTMStep(NamedTuple):
    """Everything slide 10 names for one step (C_tilde_t is torch's g)."""
    f_t: np.ndarray
    i_t: np.ndarray
    C_tilde_t: np.ndarray
    C_t: np.ndarray
    o_t: np.ndarray
    h_t: np.ndarray


def lstm_step(x_t: ArrayLike, h_prev: ArrayLike, C_prev: ArrayLike, w: Mapping[str, ArrayLike],
              peephole: str | None = None) -> LSTMStep:
    r"""One step of the LSTM (slide 10), optionally with peepholes (slide 12).

    .. math::

        f_t &= \sigma(W_f \cdot [h_{t-1}, x_t] + b_f) \\
        i_t &= \sigma(W_i \cdot [h_{t-1}, x_t] + b_i) \\
        \tilde C_t &= \tanh(W_C \cdot [h_{t-1}, x_t] + b_C) \\
        C_t &= f_t * C_{t-1} + i_t * \tilde C_t \\
        o_t &= \sigma(W_o \cdot [h_{t-1}, x_t] + b_o) \\
        h_t &= o_t * \tanh(C_t)

    These are equations :eq:`eq-lstm-forget`, :eq:`eq-lstm-input`,
    :eq:`eq-lstm-candidate`, :eq:`eq-lstm-cell`, :eq:`eq-lstm-output-gate` and
    :eq:`eq-lstm-hidden` of chapter 06; the peephole forms are :eq:`eq-peephole-forget`,
    :eq:`eq-peephole-input` and :eq:`eq-peephole-output` of chapter 07.

    W_f · [h_{t-1}, x_t] is written here as W_hf h_{t-1} + W_xf x_t: the same
    matrix cut into the columns that meet h and those that meet x. ``w`` maps
    the names in :data:`LSTM_WEIGHTS` to arrays (W_x*: (H, D), W_h*: (H, H),
    b_*: (H,)).

    Peephole (slide 12): the gates also see the cell,
    f_t = σ(W_f · [C_{t-1}, h_{t-1}, x_t] + b_f), i_t likewise, and
    o_t = σ(W_o · [C_t, h_{t-1}, x_t] + b_o). ``peephole="full"`` takes the
    C-columns literally as full (H, H) matrices w_cf, w_ci, w_co;
    ``peephole="diagonal"`` uses one weight per unit (shape (H,)), the form of
    Gers & Schmidhuber (2000) and Graves (2013): unit j's gate sees only unit
    j's cell. The form of w_c* must match ``peephole`` (an (H, H) weight is
    refused for "diagonal", not multiplied), and ``w`` holds w_c* exactly when
    ``peephole`` is set. Every argument is checked (see the module's docstring).
    """
    check_choice("peephole", peephole, PEEPHOLES)
    names = _LSTM_NAMES[peephole]
    x_t, h_prev, C_prev, *ws = _check(_SPECS["lstm", peephole],
                                      (x_t, h_prev, C_prev, *_weights(w, names, "LSTM", peephole)))
    return _lstm_step(x_t, h_prev, C_prev, dict(zip(names, ws, strict=True)), peephole)


def _lstm_step(x_t, h_prev, C_prev, w, peephole=None):
    """:func:`lstm_step` without the argument checks, for callers that checked them once."""
    f_pre = h_prev @ w["W_hf"].T + x_t @ w["W_xf"].T + w["b_f"]
    i_pre = h_prev @ w["W_hi"].T + x_t @ w["W_xi"].T + w["b_i"]
    if peephole:
        f_pre = f_pre + _peep(w["w_cf"], C_prev, peephole)
        i_pre = i_pre + _peep(w["w_ci"], C_prev, peephole)
    f_t = sigmoid(f_pre)
    i_t = sigmoid(i_pre)
    C_tilde_t = np.tanh(h_prev @ w["W_hC"].T + x_t @ w["W_xC"].T + w["b_C"])
    C_t = f_t * C_prev + i_t * C_tilde_t
    o_pre = h_prev @ w["W_ho"].T + x_t @ w["W_xo"].T + w["b_o"]
    if peephole:
        o_pre = o_pre + _peep(w["w_co"], C_t, peephole)   # o sees the *new* cell C_t
    o_t = sigmoid(o_pre)
    h_t = o_t * np.tanh(C_t)
    return LSTMStep(f_t, i_t, C_tilde_t, C_t, o_t, h_t)


def lstm_step_backward(dh_t: ArrayLike, dC_t: ArrayLike, x_t: ArrayLike, h_prev: ArrayLike, C_prev: ArrayLike,
                       step: LSTMStep, w: Mapping[str, ArrayLike],
                       peephole: str | None = None) -> dict[str, np.ndarray]:
    r"""Backward of :func:`lstm_step`, mirroring it from the last line up.

    .. math::

        \partial o_t &= \partial h_t * \tanh(C_t) \\
        \partial C_t &\mathrel{+}= \partial h_t * o_t * (1 - \tanh^2 C_t)
            \;[+\; \text{peephole } w_{co}\text{ term}] \\
        \partial f_t &= \partial C_t * C_{t-1},\quad
        \partial i_t = \partial C_t * \tilde C_t,\quad
        \partial \tilde C_t = \partial C_t * i_t \\
        \partial C_{t-1} &= \partial C_t * f_t \;[+\; \text{peephole terms}]

    and through the activations σ' = σ(1 - σ), tanh' = 1 - tanh². The line
    ∂C_{t-1} = ∂C_t * f_t is why the LSTM's gradient survives: along the cell
    it is only multiplied by the forget gate. ``dC_t`` is the gradient arriving
    from step t+1; ``step`` the :class:`LSTMStep` of the forward. Returns a
    dict with dx_t, dh_prev, dC_prev and d<name> for every weight.
    """
    check_choice("peephole", peephole, PEEPHOLES)
    names = _LSTM_NAMES[peephole]
    fields = _step_fields(step, LSTMStep, "lstm_step")
    dh_t, dC_t, x_t, h_prev, C_prev, f_t, i_t, C_tilde_t, C_t, o_t, _, *ws = _check(
        _SPECS["lstm_back", peephole],
        (dh_t, dC_t, x_t, h_prev, C_prev, *fields, *_weights(w, names, "LSTM", peephole)))
    w = dict(zip(names, ws, strict=True))
    tanh_C = np.tanh(C_t)
    do = dh_t * tanh_C
    dC = dC_t + dh_t * o_t * (1.0 - tanh_C ** 2)
    do_pre = do * o_t * (1.0 - o_t)
    g = {}
    if peephole:
        g["dw_co"], dC_peep = _peep_back(w["w_co"], do_pre, C_t, peephole)
        dC = dC + dC_peep
    df_pre = dC * C_prev * f_t * (1.0 - f_t)
    di_pre = dC * C_tilde_t * i_t * (1.0 - i_t)
    dC_tilde_pre = dC * i_t * (1.0 - C_tilde_t ** 2)
    dC_prev = dC * f_t
    if peephole:
        g["dw_cf"], dC_f = _peep_back(w["w_cf"], df_pre, C_prev, peephole)
        g["dw_ci"], dC_i = _peep_back(w["w_ci"], di_pre, C_prev, peephole)
        dC_prev = dC_prev + dC_f + dC_i
    dx = np.zeros_like(x_t, dtype=np.result_type(x_t, dh_t))
    dh = np.zeros_like(h_prev, dtype=np.result_type(h_prev, dh_t))
    for gate, d_pre in (("f", df_pre), ("i", di_pre), ("C", dC_tilde_pre), ("o", do_pre)):
        g[f"dW_x{gate}"] = _outer(d_pre, x_t)
        g[f"dW_h{gate}"] = _outer(d_pre, h_prev)
        g[f"db_{gate}"] = _bsum(d_pre)
        dx = dx + d_pre @ w[f"W_x{gate}"]
        dh = dh + d_pre @ w[f"W_h{gate}"]
    return {"dx_t": dx, "dh_prev": dh, "dC_prev": dC_prev, **g}


# --------------------------------------------------------------------------- GRU

class GRUStep(NamedTuple):
    """Everything slide 16 names for one step. ``hh_t`` is W_hh h + b_hh (torch form) or
    W_hh (r * h) + b_hh (lecture form), kept because backward needs it."""
    z_t: np.ndarray
    r_t: np.ndarray
    h_tilde_t: np.ndarray
    h_t: np.ndarray
    hh_t: np.ndarray


def gru_step(x_t: ArrayLike, h_prev: ArrayLike, w: Mapping[str, ArrayLike], variant: str = "lecture") -> GRUStep:
    r"""One step of the GRU, in the slides' form (default) or in torch.nn.GRU's.

    ``variant="lecture"`` is slide 16 exactly:

    .. math::

        z_t &= \sigma(W_z \cdot [h_{t-1}, x_t]) \\
        r_t &= \sigma(W_r \cdot [h_{t-1}, x_t]) \\
        \tilde h_t &= \tanh(W \cdot [r_t * h_{t-1}, x_t]) \\
        h_t &= (1 - z_t) * h_{t-1} + z_t * \tilde h_t

    (equations :eq:`eq-gru-reset`, :eq:`eq-gru-update`, :eq:`eq-gru-candidate` and
    :eq:`eq-gru-hidden` of chapter 08) with biases:
    h_tilde_t = tanh(W_xh x_t + b_xh + W_hh (r_t * h_{t-1}) + b_hh).
    Here z_t weights the *new* candidate: z_t = 1 writes, z_t = 0 keeps.

    ``variant="torch"`` is ``torch.nn.GRU``:

    .. math::

        \tilde h_t &= \tanh(W_{xh} x_t + b_{xh} + r_t * (W_{hh} h_{t-1} + b_{hh})) \\
        h_t &= (1 - z_t) * \tilde h_t + z_t * h_{t-1}

    (equations :eq:`eq-gru-torch-candidate` and :eq:`eq-gru-torch-hidden` of chapter 08).
    Two differences: torch's z_t weights the *old* state (its z is the slides'
    1 - z; since 1 - σ(a) = σ(-a), negating z's weights and biases maps one to
    the other exactly), and torch applies the reset *after* the hidden-state
    product (r * (W h + b) instead of W (r * h) + b), which no weight mapping
    undoes: the two agree only where r_t = 1.

    Cho et al. (2014), eqs. 5-8, write h_t = z * h_{t-1} + (1 - z) * h_tilde
    with h_tilde = tanh(W x + U (r * h_{t-1})): torch's role of z, the
    lecture's place of r.

    ``w`` maps the names in :data:`GRU_WEIGHTS` to arrays (W_x*: (H, D),
    W_h*: (H, H), b_*: (H,)); in torch's names W_xr = W_ir, W_hr = W_hr,
    b_r = b_ir + b_hr, and so on, W_xh = W_in, W_hh = W_hn, b_xh = b_in,
    b_hh = b_hn. Every argument is checked (see the module's docstring).
    """
    check_choice("variant", variant, GRU_VARIANTS)
    x_t, h_prev, *ws = _check(_SPECS["gru", None], (x_t, h_prev, *_weights(w, GRU_WEIGHTS, "GRU")))
    return _gru_step(x_t, h_prev, dict(zip(GRU_WEIGHTS, ws, strict=True)), variant)


def _gru_step(x_t, h_prev, w, variant="lecture"):
    """:func:`gru_step` without the argument checks, for callers that checked them once."""
    z_t = sigmoid(h_prev @ w["W_hz"].T + x_t @ w["W_xz"].T + w["b_z"])
    r_t = sigmoid(h_prev @ w["W_hr"].T + x_t @ w["W_xr"].T + w["b_r"])
    if variant == "lecture":
        hh_t = (r_t * h_prev) @ w["W_hh"].T + w["b_hh"]
        h_tilde_t = np.tanh(x_t @ w["W_xh"].T + w["b_xh"] + hh_t)
        h_t = (1.0 - z_t) * h_prev + z_t * h_tilde_t
    else:
        hh_t = h_prev @ w["W_hh"].T + w["b_hh"]
        h_tilde_t = np.tanh(x_t @ w["W_xh"].T + w["b_xh"] + r_t * hh_t)
        h_t = (1.0 - z_t) * h_tilde_t + z_t * h_prev
    return GRUStep(z_t, r_t, h_tilde_t, h_t, hh_t)


def gru_step_backward(dh_t: ArrayLike, x_t: ArrayLike, h_prev: ArrayLike, step: GRUStep,
                      w: Mapping[str, ArrayLike], variant: str = "lecture") -> dict[str, np.ndarray]:
    r"""Backward of :func:`gru_step`, mirroring it from the last line up.

    Lecture form: ∂z_t = ∂h_t * (h_tilde_t - h_{t-1}), ∂h_tilde_t = ∂h_t * z_t,
    and ∂h_{t-1} collects ∂h_t * (1 - z_t), the path through r_t * h_{t-1},
    and the gates' products. The term ∂h_t * (1 - z_t) is the GRU's
    counterpart of the LSTM's ∂C_t * f_t: with z_t near 0 the gradient flows
    back unchanged. ``step`` is the :class:`GRUStep` of the forward. Returns a dict
    with dx_t, dh_prev and d<name> for every weight.
    """
    check_choice("variant", variant, GRU_VARIANTS)
    fields = _step_fields(step, GRUStep, "gru_step")
    dh_t, x_t, h_prev, z_t, r_t, h_tilde_t, h_t, hh_t, *ws = _check(
        _SPECS["gru_back", None], (dh_t, x_t, h_prev, *fields, *_weights(w, GRU_WEIGHTS, "GRU")))
    w = dict(zip(GRU_WEIGHTS, ws, strict=True))
    g = {}
    if variant == "lecture":
        dz = dh_t * (h_tilde_t - h_prev)
        dh = dh_t * (1.0 - z_t)
        dn_pre = dh_t * z_t * (1.0 - h_tilde_t ** 2)
        rh = r_t * h_prev
        g["dW_hh"], g["db_hh"] = _outer(dn_pre, rh), _bsum(dn_pre)
        drh = dn_pre @ w["W_hh"]
        dr = drh * h_prev
        dh = dh + drh * r_t
    else:
        dz = dh_t * (h_prev - h_tilde_t)
        dh = dh_t * z_t
        dn_pre = dh_t * (1.0 - z_t) * (1.0 - h_tilde_t ** 2)
        dhh = dn_pre * r_t
        g["dW_hh"], g["db_hh"] = _outer(dhh, h_prev), _bsum(dhh)
        dh = dh + dhh @ w["W_hh"]
        dr = dn_pre * hh_t
    g["dW_xh"], g["db_xh"] = _outer(dn_pre, x_t), _bsum(dn_pre)
    dx = dn_pre @ w["W_xh"]
    for gate, d_pre in (("z", dz * z_t * (1.0 - z_t)), ("r", dr * r_t * (1.0 - r_t))):
        g[f"dW_x{gate}"] = _outer(d_pre, x_t)
        g[f"dW_h{gate}"] = _outer(d_pre, h_prev)
        g[f"db_{gate}"] = _bsum(d_pre)
        dx = dx + d_pre @ w[f"W_x{gate}"]
        dh = dh + d_pre @ w[f"W_h{gate}"]
    return {"dx_t": dx, "dh_prev": dh, **g}
