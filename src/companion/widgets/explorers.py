"""The widgets as anywidget classes: state synced with the browser, outputs computed by companion.

Every widget's inputs and weights are traitlets synced with its JavaScript view;
when they change, Python recomputes the outputs with :mod:`companion.cells`
(``outputs``/``traces``, read-only), so a notebook reads companion's values,
not the browser's. Values are validated as they arrive, from Python or from the
page: numbers only, finite, within :data:`BOUNDS`, sizes bounded, and consistent
with the other traits (the K entries of ``V`` and ``c``; the stepper's shapes and
indices); anything else raises ``traitlets.TraitError`` naming the trait and what
was expected, and leaves the widget as it was. The outputs therefore always
equal companion's values for the current traits.

Traits that must change together (a new number of classes K: ``V`` and ``c``; a
longer sequence and the step shown) are set at once with every widget's ``update``
method, ``widget.update(V=[...], c=[...])``: validated together, all change or, on a
TraitError, none. ``hold_trait_notifications()`` and ``set_state`` (what the page
sends) behave the same; the computed outputs cannot be set from outside.

Weights may come from a companion layer or a torch module (through
:func:`companion.from_torch`): the one-unit explorers take a layer with
``input_size == hidden_size == 1``; the sequence stepper takes layer 0,
direction 0 of any layer up to 16 inputs and 8 units.
"""
from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import anywidget
import numpy as np
import traitlets as T
from numpy.typing import ArrayLike

from .. import cells
from .embed import bundle
from .sequence import run_sequence

if TYPE_CHECKING:   # for the annotations only: importing torch or the layers here would be slow
    import torch

    from .. import layers

__all__ = ["RNNCellExplorer", "LSTMExplorer", "GRUExplorer", "SequenceStepper", "BOUNDS"]

#: bounds shared with static/ui.js (BOUNDS there): ``|x_t| <= x``, ``|h| <= h``, ``|C| <= C``,
#: explorer weights <= w, stepper weights <= seqW, at most maxT steps, maxD inputs,
#: maxH units, maxK output classes
BOUNDS = dict(x=5, h=1, C=5, w=10, seqW=100, maxT=100, maxD=16, maxH=8, maxK=10)

# The explorers' weight names are the schema's (companion.cells), in its order: the order of a
# synced dict does not matter to the page, which lays the sliders out by gate itself (static/*.js).
#: the LSTM explorer's weights: an LSTM's, then the (one-unit, so diagonal) peepholes w_cf, w_ci, w_co
LSTM_NAMES = cells.weight_names("lstm", "diagonal")
#: the GRU explorer's weights
GRU_NAMES = cells.weight_names("gru")

_LSTM_ZERO = dict.fromkeys(LSTM_NAMES, 0.0)
#: the LSTM explorer's presets: inputs and weights that make the cell do one thing
LSTM_PRESETS = {
    "remember": dict(x_t=1.0, h_prev=0.0, C_prev=2.0,
                     weights={**_LSTM_ZERO, "b_f": 6.0, "b_i": -6.0, "W_xC": 2.0, "b_o": -6.0}),
    "forget": dict(x_t=1.0, h_prev=0.0, C_prev=2.0,
                   weights={**_LSTM_ZERO, "b_f": -6.0, "b_i": -6.0, "W_xC": 2.0, "b_o": 0.0}),
    "write": dict(x_t=1.0, h_prev=0.0, C_prev=-1.0,
                  weights={**_LSTM_ZERO, "b_f": -6.0, "b_i": 6.0, "W_xC": 3.0, "b_o": -6.0}),
    "read": dict(x_t=1.0, h_prev=0.0, C_prev=2.0,
                 weights={**_LSTM_ZERO, "b_f": 6.0, "b_i": -6.0, "W_xC": 2.0, "b_o": 6.0}),
}


# --------------------------------------------------------------------------- validation

def _number(name, v, bound):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise T.TraitError(f"{name}: expected a number, got {type(v).__name__} {v!r:.40}")
    v = float(v)
    if not math.isfinite(v) or abs(v) > bound:
        raise T.TraitError(f"{name}: expected a finite number in [-{bound}, {bound}], got {v!r}")
    return v


def _vector(name, v, bound, n=None, max_n=BOUNDS["maxH"]):
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if not isinstance(v, (list, tuple)) or not 1 <= len(v) <= max_n or (n is not None and len(v) != n):
        want = f"{n}" if n is not None else f"1 to {max_n}"
        raise T.TraitError(f"{name}: expected a list of {want} numbers, got {v!r:.60}")
    return [_number(f"{name}[{k}]", x, bound) for k, x in enumerate(v)]


def _matrix(name, m, bound, rows=None, cols=None, max_rows=BOUNDS["maxH"], max_cols=BOUNDS["maxD"]):
    if isinstance(m, np.ndarray):
        m = m.tolist()
    if not isinstance(m, (list, tuple)) or not 1 <= len(m) <= max_rows or (rows is not None and len(m) != rows):
        raise T.TraitError(f"{name}: expected {rows if rows is not None else f'1 to {max_rows}'} rows, got {m!r:.60}")
    out = [_vector(f"{name}[{k}]", r, bound, cols, max_cols) for k, r in enumerate(m)]
    if len({len(r) for r in out}) != 1:
        raise T.TraitError(f"{name}: rows of different lengths")
    return out


def _scalar_weights(name, w, names, bound=BOUNDS["w"], optional=()):
    if not isinstance(w, dict):
        raise T.TraitError(f"{name}: expected a dict of {', '.join(names)}, got {type(w).__name__}")
    unknown = set(w) - set(names)
    missing = set(names) - set(w) - set(optional)
    if unknown or missing:
        raise T.TraitError(f"{name}: unknown keys {sorted(map(str, unknown))}, missing keys {sorted(missing)}")
    return {k: _number(f"{name}.{k}", w.get(k, 0.0), bound) for k in names}


def _companion_layer(layer):
    """``layer`` as a companion layer: one already, or a torch module through from_torch."""
    from .. import layers
    if not isinstance(layer, (layers.RNN, layers.LSTM, layers.GRU)):
        from ..interop import from_torch
        layer = from_torch(layer)
    return layer


def _one_unit(layer, kind):
    """The companion layer for ``layer`` (a companion layer or a torch module), checked to be a
    ``kind`` (a class name of :mod:`companion.layers`) with one input and one unit."""
    from .. import layers
    layer = _companion_layer(layer)
    if not isinstance(layer, getattr(layers, kind)):
        raise ValueError(f"layer: expected a {kind} (companion or torch), got {type(layer).__name__}")
    if layer.input_size != 1 or layer.hidden_size != 1:
        raise ValueError("layer: the one-unit explorers show a layer with input_size = hidden_size = 1, got "
                         f"input_size={layer.input_size}, hidden_size={layer.hidden_size}; "
                         "use SequenceStepper for larger layers")
    return layer


def _scalars(w):
    return {k: float(np.asarray(v).reshape(-1)[0]) for k, v in w.items()}


def _unit_arrays(weights, peephole=None):
    """One-unit weights (numbers) as the arrays a step function takes, shaped by the schema
    (D = H = 1: (1, 1) for W_x*, W_h*, U, W; (1,) for biases and diagonal peepholes)."""
    return {k: np.full(cells.weight_shape(k, 1, 1, peephole), float(v)) for k, v in weights.items()}


class Number(T.Float):
    """A float trait that also refuses booleans (True is an int to Python, not a number here)."""

    def validate(self, obj, value):
        if isinstance(value, (bool, np.bool_)):
            self.error(obj, value)
        return super().validate(obj, value)


class _Abort(T.TraitError):
    """Carries another exception through traitlets' rollback (which only catches TraitError)."""


class _Widget(anywidget.AnyWidget):
    _module = None

    #: computed by Python for the live view; the static page recomputes them in JavaScript
    _COMPUTED = ("outputs", "traces")

    def update(self, **values: Any) -> None:
        """Set several traits at once, validated against each other: all change, or none.

        The way to change sizes that must agree, e.g. the number of classes of the
        RNN explorer's head: ``w.update(V=[1.0, -1.0], c=[0.0, 0.5])``. A refused value
        raises ``traitlets.TraitError`` and leaves every trait as it was; the page gets
        one message with all the changes.
        """
        for k in values:
            if not self.has_trait(k) or k.startswith("_") or self.traits()[k].read_only:
                raise T.TraitError(f"{k}: not an input of {type(self).__name__}")
        with self.hold_sync(), self.hold_trait_notifications():
            for k, v in values.items():
                setattr(self, k, v)

    @contextlib.contextmanager
    def hold_trait_notifications(self) -> Iterator[None]:
        """traitlets' context, but rolled back on *any* exception, not only a TraitError.

        Within it every trait is validated against the others once all have been set;
        traitlets undoes every change when one is refused. An exception of another kind
        (an error in the caller's block, a KeyboardInterrupt) would otherwise leave the
        half-made changes in place and fire the notifications for them.
        """
        if self._cross_validation_lock:
            yield
            return
        try:
            with super().hold_trait_notifications():
                try:
                    yield
                except T.TraitError:
                    raise
                except BaseException as e:
                    raise _Abort(str(e)) from e
        except _Abort as a:
            raise a.__cause__ from None

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """What the page sends; the computed (read-only) traits are refused, not overwritten."""
        bad = [k for k in sync_data if self.has_trait(k) and self.traits()[k].read_only]
        if bad:
            raise T.TraitError(f"{', '.join(bad)}: read-only, computed by Python from the inputs; "
                               "got a value from the front-end")
        super().set_state(sync_data)

    def static_state(self) -> dict[str, Any]:
        """This widget's own synced inputs (not anywidget's or ipywidgets' keys), JSON-able.

        The computed ``outputs``/``traces`` are left out: the page computes them, so the
        stored HTML depends only on the inputs and weights (no last-bit differences of
        exp/tanh between machines in a stored notebook output) and stays small.
        """
        # anywidget's add_traits makes type(self) a generated subclass: find ours in the MRO
        cls = next(c for c in type(self).__mro__ if "_module" in vars(c))
        synced = self.class_traits(sync=True)
        own = [k for k in cls.class_own_traits()
               if k in synced and not k.startswith("_") and k not in self._COMPUTED]
        return self.get_state(key=own)


class _OneUnit(_Widget):
    """What the one-unit explorers share: ``x_t`` and ``h_prev`` checked alike, and a
    constructor that takes a companion layer or torch module of one input and one unit.

    The initial state is, from weakest to strongest: the class's defaults (the LSTM's: a
    preset), the layer's values (:meth:`_layer_state`), the keyword arguments.
    """
    #: the class name in :mod:`companion.layers` of the layer a constructor's ``layer`` must be
    _LAYER = ""

    def __init__(self, layer=None, **kwargs):
        self._start({}, layer, kwargs)

    def _start(self, state, layer, kwargs):
        if layer is not None:
            layer = _one_unit(layer, self._LAYER)
            state = {**state, **self._layer_state(layer, _scalars(layer.cell_weights(0, 0)))}
        super().__init__(**{**state, **kwargs})
        self._compute()

    def _layer_state(self, layer, w):
        """The traits for the one-unit ``layer`` whose weights (numbers, by the schema's names) are ``w``."""
        raise NotImplementedError

    @T.validate("x_t")
    def _v_x(self, p):
        return _number("x_t", p["value"], BOUNDS["x"])

    @T.validate("h_prev")
    def _v_h(self, p):
        return _number("h_prev", p["value"], BOUNDS["h"])


# --------------------------------------------------------------------------- RNN

class RNNCellExplorer(_OneUnit):
    r"""The vanilla RNN cell of slide 5 with one hidden unit and K outputs.

    a_t = b + W h_{t-1} + U x_t;  h_t = tanh(a_t);  o_t = c + V h_t;  y_hat_t = softmax(o_t).
    ``outputs`` holds a_t, h_t (numbers), o_t, y_hat_t (lists), computed by
    :func:`companion.cells.rnn_step`.

    ``V`` and ``c`` hold one number per class and must have the same length K
    (1 to 10): a ``V`` or ``c`` of another length than the other is refused. To
    change K, set both at once: ``w.update(V=[2.0, -1.0], c=[0.0, 0.5])``.
    """
    _module = "rnn"
    _esm = bundle("rnn")
    _LAYER = "RNN"
    x_t = Number(1.0).tag(sync=True)
    h_prev = Number(0.0).tag(sync=True)
    U = Number(1.5).tag(sync=True)
    W = Number(0.5).tag(sync=True)
    b = Number(0.0).tag(sync=True)
    V = T.List([2.0, -1.0, 0.0]).tag(sync=True)
    c = T.List([0.0, 0.0, 0.5]).tag(sync=True)
    nonlinearity = T.Unicode("tanh").tag(sync=True)
    outputs = T.Dict(read_only=True).tag(sync=True)

    def __init__(self, layer: layers.RNN | torch.nn.RNN | None = None, **kwargs: Any) -> None:
        super().__init__(layer, **kwargs)

    def _layer_state(self, layer, w):
        # the traits U, W, b are the schema's names of the RNN's weights
        return {**w, "nonlinearity": layer.nonlinearity}

    @T.validate(*cells.RNN_WEIGHTS)
    def _v_w(self, p):
        return _number(p["trait"].name, p["value"], BOUNDS["w"])

    @T.validate("V", "c")
    def _v_head(self, p):
        # V and c are one number per class: checked against the other's current value
        # (within update()/hold_trait_notifications, against its final value)
        name = p["trait"].name
        other = "c" if name == "V" else "V"
        v = _vector(name, p["value"], BOUNDS["w"], max_n=BOUNDS["maxK"])
        K = len(getattr(self, other))
        if len(v) != K:
            raise T.TraitError(f"{name}: expected a list of {K} numbers (one per class, as {other} has), "
                               f"got {len(v)}; to change the number of classes set both at once: "
                               "widget.update(V=[...], c=[...])")
        return v

    @T.validate("nonlinearity")
    def _v_nl(self, p):
        if p["value"] not in cells.NONLINEARITIES:
            raise T.TraitError(f"nonlinearity: expected 'tanh' or 'relu', got {p['value']!r:.40}")
        return p["value"]

    @T.observe("x_t", "h_prev", "U", "W", "b", "V", "c", "nonlinearity")
    def _compute(self, change=None):
        s = self.step()
        self.set_trait("outputs", {"a_t": float(s.a_t[0]), "h_t": float(s.h_t[0]),
                                   "o_t": s.o_t.tolist(), "y_hat_t": s.y_hat_t.tolist()})

    def step(self) -> cells.RNNStep:
        """The companion :class:`~companion.cells.RNNStep` for the current state."""
        V = np.array(self.V)[:, None]
        return cells.rnn_step(np.array([self.x_t]), np.array([self.h_prev]), np.array([[self.U]]),
                              np.array([[self.W]]), np.array([self.b]), V, np.array(self.c),
                              nonlinearity=self.nonlinearity)


# --------------------------------------------------------------------------- LSTM

class LSTMExplorer(_OneUnit):
    r"""The LSTM of slides 10-12 with one unit: f_t, i_t, C_tilde_t, C_t, o_t, h_t.

    ``weights`` maps W_x*, W_h*, b_* (gates f, i, C, o) and the peephole
    weights w_cf, w_ci, w_co to numbers; ``peephole`` switches the diagonal
    peepholes on. ``preset`` (``"remember"``, ``"forget"``, ``"write"``,
    ``"read"``) sets inputs and weights to make the cell do that. ``outputs``
    holds companion's :func:`~companion.cells.lstm_step` values.
    """
    _module = "lstm"
    _esm = bundle("lstm")
    _LAYER = "LSTM"
    x_t = Number(1.0).tag(sync=True)
    h_prev = Number(0.0).tag(sync=True)
    C_prev = Number(2.0).tag(sync=True)
    weights = T.Dict().tag(sync=True)
    peephole = T.Bool(False).tag(sync=True)
    presets = T.Dict(read_only=True).tag(sync=True)
    outputs = T.Dict(read_only=True).tag(sync=True)

    def __init__(self, layer: layers.LSTM | torch.nn.LSTM | None = None, preset: str | None = "remember",
                 **kwargs: Any) -> None:
        if preset is not None and preset not in LSTM_PRESETS:
            raise ValueError(f"preset: expected one of {', '.join(map(repr, LSTM_PRESETS))} or None, got {preset!r}")
        base = {"weights": dict(LSTM_PRESETS["remember"]["weights"])}
        if preset is not None:
            base = {k: (dict(v) if isinstance(v, dict) else v) for k, v in LSTM_PRESETS[preset].items()}
        self._start(base, layer, kwargs)
        self.set_trait("presets", LSTM_PRESETS)

    def _layer_state(self, layer, w):
        # with one unit, "full" is "diagonal"; a layer without peepholes gets zero w_c*
        return {"weights": {**_LSTM_ZERO, **w}, "peephole": bool(layer.peephole)}

    def apply_preset(self, name: str) -> None:
        """Set inputs and weights to the preset ``name``."""
        if name not in LSTM_PRESETS:
            raise ValueError(f"name: expected one of {', '.join(map(repr, LSTM_PRESETS))}, got {name!r}")
        p = LSTM_PRESETS[name]
        self.update(x_t=p["x_t"], h_prev=p["h_prev"], C_prev=p["C_prev"], weights=dict(p["weights"]))

    @T.validate("C_prev")
    def _v_C(self, p):
        return _number("C_prev", p["value"], BOUNDS["C"])

    @T.validate("weights")
    def _v_w(self, p):
        return _scalar_weights("weights", p["value"], LSTM_NAMES, optional=cells.PEEPHOLE_WEIGHTS)

    @T.observe("x_t", "h_prev", "C_prev", "weights", "peephole")
    def _compute(self, change=None):
        if not self.weights:
            return
        s = self.step()
        self.set_trait("outputs", {k: float(v[0]) for k, v in s._asdict().items()})

    def step(self) -> cells.LSTMStep:
        """The companion :class:`~companion.cells.LSTMStep` for the current state."""
        peephole = "diagonal" if self.peephole else None
        w = _unit_arrays({k: v for k, v in self.weights.items() if k in cells.weight_names("lstm", peephole)},
                         peephole)
        return cells.lstm_step(np.array([self.x_t]), np.array([self.h_prev]), np.array([self.C_prev]),
                               w, peephole=peephole)


# --------------------------------------------------------------------------- GRU

_GRU_DEFAULT = {"W_xz": 1.0, "W_hz": 0.5, "b_z": 0.0, "W_xr": 1.0, "W_hr": -1.0, "b_r": 0.5,
                "W_xh": 2.0, "W_hh": 1.0, "b_xh": 0.0, "b_hh": 0.5}


#: the update gate's weights and bias (W_xz, W_hz, b_z): what the other GRU form negates
_GRU_Z = tuple(n for n in GRU_NAMES if n.endswith("z"))


def map_gru_variant(weights: Mapping[str, float]) -> dict[str, float]:
    """The same one-unit GRU in the other form: z's weights and bias negated (1 - σ(a) = σ(-a))."""
    return {k: (-v if k in _GRU_Z else v) for k, v in weights.items()}


class GRUExplorer(_OneUnit):
    r"""The GRU of slide 16 with one unit, in the slides' form or torch.nn.GRU's.

    ``variant`` picks the form the weights are in; ``outputs`` holds z_t, r_t,
    h_tilde_t, h_t of :func:`companion.cells.gru_step`, and ``h_t_other``: h_t
    of the other form with z's weights negated (equal where the reset's place
    does not matter: with one unit, where (1 - r_t) * b_hh = 0).
    :meth:`switch_variant` changes the form and maps the weights, as the
    widget's switch does.
    """
    _module = "gru"
    _esm = bundle("gru")
    _LAYER = "GRU"
    x_t = Number(1.0).tag(sync=True)
    h_prev = Number(0.5).tag(sync=True)
    weights = T.Dict(dict(_GRU_DEFAULT)).tag(sync=True)
    variant = T.Unicode("lecture").tag(sync=True)
    outputs = T.Dict(read_only=True).tag(sync=True)

    def __init__(self, layer: layers.GRU | torch.nn.GRU | None = None, **kwargs: Any) -> None:
        super().__init__(layer, **kwargs)

    def _layer_state(self, layer, w):
        return {"weights": w, "variant": layer.variant}

    def switch_variant(self) -> None:
        """Show the same cell in the other form (variant flipped, z's weights negated)."""
        self.update(weights=map_gru_variant(self.weights),
                    variant="torch" if self.variant == "lecture" else "lecture")

    @T.validate("weights")
    def _v_w(self, p):
        return _scalar_weights("weights", p["value"], GRU_NAMES)

    @T.validate("variant")
    def _v_variant(self, p):
        if p["value"] not in cells.GRU_VARIANTS:
            raise T.TraitError(f"variant: expected 'lecture' or 'torch', got {p['value']!r:.40}")
        return p["value"]

    @T.observe("x_t", "h_prev", "weights", "variant")
    def _compute(self, change=None):
        s = self.step()
        other = "torch" if self.variant == "lecture" else "lecture"
        o = self.step(map_gru_variant(self.weights), other)
        self.set_trait("outputs", {**{k: float(v[0]) for k, v in s._asdict().items() if k != "hh_t"},
                                   "h_t_other": float(o.h_t[0])})

    def step(self, weights: Mapping[str, float] | None = None, variant: str | None = None) -> cells.GRUStep:
        """The companion :class:`~companion.cells.GRUStep` for the current state (or for
        ``weights`` and ``variant`` in place of the widget's)."""
        w = _unit_arrays(weights or self.weights)
        return cells.gru_step(np.array([self.x_t]), np.array([self.h_prev]), w,
                              variant=variant or self.variant)


# --------------------------------------------------------------------------- sequence stepper

def _default_lstm():
    """A one-unit LSTM whose cell changes slowly (f_t = σ(4) ≈ 0.98, i_t = σ(-2) ≈ 0.12)
    while its output gate follows the input (o_t = σ(6 x_t)): the slide's "C slow, h fast"."""
    w = {k: np.zeros(shape).tolist() for k, shape in cells.weight_shapes("lstm", 1, 1).items()}
    w.update({"b_f": [4.0], "b_i": [-2.0], "W_xC": [[3.0]], "W_xo": [[6.0]]})
    return w


def _default_xs(T=24, D=1, seed=0):
    """A slow positive drift plus noise, T steps of D features."""
    rng = np.random.default_rng(seed)
    t = np.arange(T)[:, None]
    xs = 0.3 + 0.3 * np.sin(t / 4.0 + np.arange(D)) + rng.uniform(-0.7, 0.7, (T, D))
    return np.round(xs, 3).tolist()


class SequenceStepper(_Widget):
    r"""A short input sequence through an RNN, LSTM or GRU, step by step, with traces.

    ``kind`` is ``"rnn"``, ``"lstm"`` or ``"gru"``; ``xs`` the inputs (T, D);
    ``h0``/``C0`` the initial state (H,); ``weights`` the cell's weights under
    the names of :mod:`companion.cells` (lists); ``t`` the step shown (1..T).
    ``traces`` holds companion's per-step values (names as ``layer.traces``:
    rnn a, h; lstm f, i, C_tilde, C, o, h; gru z, r, h_tilde, h), each (T, H).

    ``SequenceStepper(layer, xs=...)`` takes layer 0, direction 0 of a
    companion layer or torch module (``companion.from_torch``).
    """
    _module = "stepper"
    _esm = bundle("stepper")
    kind = T.Unicode("lstm").tag(sync=True)
    variant = T.Unicode("lecture").tag(sync=True)
    peephole = T.Unicode(None, allow_none=True).tag(sync=True)
    nonlinearity = T.Unicode("tanh").tag(sync=True)
    xs = T.List().tag(sync=True)
    h0 = T.List([0.0]).tag(sync=True)
    C0 = T.List([0.0]).tag(sync=True)
    weights = T.Dict().tag(sync=True)
    t = T.Int(1).tag(sync=True)
    unit = T.Int(0).tag(sync=True)
    feature = T.Int(0).tag(sync=True)
    traces = T.Dict(read_only=True).tag(sync=True)

    def __init__(self, layer: layers.RNN | layers.LSTM | layers.GRU | torch.nn.RNNBase | None = None,
                 xs: ArrayLike | None = None, **kwargs: Any) -> None:
        base = {"kind": "lstm", "weights": _default_lstm(), "h0": [0.0], "C0": [1.5]}
        if layer is not None:
            from .. import layers
            layer = _companion_layer(layer)
            kind = {layers.RNN: "rnn", layers.LSTM: "lstm", layers.GRU: "gru"}[type(layer)]
            H = layer.hidden_size
            base = {"kind": kind, "h0": [0.0] * H, "C0": [0.0] * H,
                    "weights": {k: np.asarray(v, dtype=np.float64).tolist()
                                for k, v in layer.cell_weights(0, 0).items()}}
            if kind == "rnn":
                base["nonlinearity"] = layer.nonlinearity
            elif kind == "lstm":
                base["peephole"] = layer.peephole
            else:
                base["variant"] = layer.variant
            D = layer.input_size
        else:
            D = 1
        base["xs"] = _default_xs(D=D) if xs is None else np.asarray(xs, dtype=np.float64).tolist()
        base["t"] = len(base["xs"])
        base.update(kwargs)
        super().__init__(**base)
        self._compute()

    # every trait is checked alone, then against the others (sizes, shapes, indices);
    # within hold_trait_notifications (as when the browser sends several keys at
    # once, or in __init__) traitlets runs these validators once all have arrived,
    # and a failure rolls every one of them back.
    def _single(self, name, v):
        if name in ("kind", "variant", "peephole", "nonlinearity"):
            choices = {"kind": cells.CELL_KINDS, "variant": cells.GRU_VARIANTS,
                       "peephole": cells.PEEPHOLES, "nonlinearity": cells.NONLINEARITIES}[name]
            if v not in choices:
                raise T.TraitError(f"{name}: expected one of {', '.join(map(repr, choices))}, got {v!r:.40}")
            return v
        if name == "xs":
            return _matrix("xs", v, BOUNDS["x"], max_rows=BOUNDS["maxT"], max_cols=BOUNDS["maxD"])
        if name == "h0":
            return _vector("h0", v, BOUNDS["h"])
        if name == "C0":
            return _vector("C0", v, BOUNDS["C"])
        if name == "weights":
            if not isinstance(v, dict) or not v or len(v) > 16:
                raise T.TraitError(f"weights: expected a dict of 1 to 16 lists, got {v!r:.60}")
            out = {}
            for k, a in v.items():
                if not isinstance(k, str):
                    raise T.TraitError(f"weights: keys must be strings, got {k!r:.40}")
                a = a.tolist() if isinstance(a, np.ndarray) else a
                is_matrix = isinstance(a, (list, tuple)) and a and isinstance(a[0], (list, tuple))
                out[k] = (_matrix(f"weights.{k}", a, BOUNDS["seqW"]) if is_matrix
                          else _vector(f"weights.{k}", a, BOUNDS["seqW"]))
            return out
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
            raise T.TraitError(f"{name}: expected a non-negative integer, got {v!r:.40}")
        return int(v)

    @T.validate("kind", "variant", "peephole", "nonlinearity", "xs", "h0", "C0", "weights",
                "t", "unit", "feature")
    def _validate(self, p):
        name = p["trait"].name
        v = self._single(name, p["value"])
        self._cross_check(**{name: v})
        return v

    def _cross_check(self, **new):
        g = lambda n: new.get(n, getattr(self, n))  # noqa: E731
        xs, h0, weights = g("xs"), g("h0"), g("weights")
        if not xs or not weights:
            return
        T_, D, H = len(xs), len(xs[0]), len(h0)
        if len(g("C0")) != H:
            raise T.TraitError(f"C0: expected {H} numbers (as h0), got {len(g('C0'))}")
        # the peephole trait matters to the LSTM only (run_sequence ignores it for the others)
        want = cells.weight_shapes(g("kind"), D, H, g("peephole") if g("kind") == "lstm" else None)
        got = {k: np.shape(v) for k, v in weights.items()}
        if got != want:
            raise T.TraitError(f"weights: for kind={g('kind')!r}, peephole={g('peephole')!r}, "
                               f"H={H}, D={D} expected shapes {want}, got {got}")
        for name, hi in (("t", T_), ("unit", H - 1), ("feature", D - 1)):
            lo = 1 if name == "t" else 0
            if not lo <= g(name) <= hi:
                raise T.TraitError(f"{name}: expected an integer in [{lo}, {hi}], got {g(name)}")

    @T.observe("kind", "variant", "peephole", "nonlinearity", "xs", "h0", "C0", "weights", "t", "unit", "feature")
    def _compute(self, change=None):
        if not self.xs or not self.weights:
            return
        w = {k: np.array(v) for k, v in self.weights.items()}
        tr = run_sequence(self.kind, self.xs, w, self.h0, self.C0, peephole=self.peephole,
                          variant=self.variant, nonlinearity=self.nonlinearity)
        self.set_trait("traces", {k: v.tolist() for k, v in tr.items()})
