r"""How the gradient flows back through time in an RNN, an LSTM and a GRU (slide 9).

The reference of the gradient-flow widget (``static/gradflow.js`` repeats it operation for
operation, proved equal by the shared vectors of :func:`write`). One sequence of ``T`` inputs
goes through one cell (``H`` units, ``D`` inputs); the loss reads the last state only,

.. math::

    L = u^\top h_T, \qquad g_t = \frac{\partial L}{\partial h_t} \quad (t = 1, \dots, T),

with ``u`` a fixed unit vector, so the gradient enters at step ``T`` alone (``g_T = u``) and
everything before is back-propagation through time: for the vanilla RNN of slide 5,
:math:`a_t = b + W h_{t-1} + U x_t,\ h_t = \tanh(a_t)`, one step back is

.. math::

    g_{t-1} = W^\top \big(g_t \odot (1 - h_t^2)\big),

(chapter 05, equation ``eq-vanish-one-step``), and for the linear RNN (no tanh,
:math:`h_t = W h_{t-1} + U x_t`) :math:`g_{t-1} = W^\top g_t`. For the LSTM (slide 10) ``g_t``
is the total :math:`\partial L / \partial h_t` with the cell state :math:`C_t` a node of its own
(the gradient along the cell, :math:`\partial L/\partial C_{t-1} = \partial L/\partial C_t * f_t + \dots`,
reaches :math:`h_{t-1}` through the gates). The GRU is the slides' form (slide 16, companion's
``variant="lecture"``): :math:`h_t = (1 - z_t) * h_{t-1} + z_t * \tilde h_t`, where
:math:`z_t = \sigma(W_z \cdot [h_{t-1}, x_t] + b_z)` weights the *new* candidate, so a negative
update bias :math:`b_z` keeps the old state and the gradient. (torch's ``nn.GRU`` uses
:math:`1 - z_t` in that place: its update bias is :math:`-b_z`.)

The knobs that decide the flow:

* RNN: the spectral radius ``rho`` of :math:`W` = ``weight_hh_l0``, built as :math:`W = \rho\, Q`
  with :math:`Q` orthogonal, so that :math:`\rho(W) = \|W\|_2 = \rho` (chapter 05), and the
  ``nonlinearity``, ``"tanh"`` or ``"linear"`` (companion.RNN has tanh and relu only: the linear
  RNN is computed here, explicitly, by the two equations above);
* LSTM: the forget-gate bias :math:`b_f` (``forget_bias``);
* GRU: the update-gate bias :math:`b_z` (``update_bias``);
* every cell: ``input_scale``, the size of the inputs :math:`x_t`.

**The weights and inputs**, all drawn from one stream ``s = companion.rng.SplitMix64(seed)``, in
this order (each array in C order, as that many scalar draws):

1. ``u``: ``s.normal(H)``, then divided by its norm (a unit vector: :math:`g_T = u`);
2. ``A``: ``s.normal(H * H)``, an (H, H) matrix; :math:`Q` is its modified Gram-Schmidt
   orthogonalisation, column by column (:func:`orthogonal`);
3. ``W_ih``: ``s.uniform(-k, k, 4 * H * D)``, k = 1/sqrt(H) (torch's initialisation), a (4H, D)
   matrix; ``weight_ih_l0`` is its first G*H rows (G = 1, 4, 3 blocks for RNN, LSTM, GRU);
4. ``W_hh``: ``s.uniform(-k, k, 4 * H * H)``, a (4H, H) matrix; the LSTM's and GRU's
   ``weight_hh_l0`` is its first G*H rows; the RNN's is :math:`\rho\, Q` instead;
5. ``z``: ``s.normal(T * D)``, the inputs :math:`x_t` = ``input_scale * z[t - 1]``.

All three cells read the same ``u``, the same inputs and the same leading weights, whatever
the kind; ``T`` comes last, so a longer sequence only adds steps. Biases are 0 except the
LSTM's forget-gate block of ``bias_ih_l0`` (= :math:`b_f`, block 1 of i, f, g, o) and the GRU's
update-gate block (= :math:`b_z`, block 1 of r, z, n); :math:`h_0 = C_0 = 0`.

**The computation.** The forward pass is companion's layer (:class:`companion.RNN`,
:class:`companion.LSTM`, :class:`companion.GRU` with ``variant="lecture"``); the gradient is
carried back step by step by companion's cells (:func:`companion.rnn_step_backward`,
:func:`companion.lstm_step_backward`, :func:`companion.gru_step_backward`) on the states the
layer recorded, as chapter 05 does, and the last step's result, :math:`\partial L / \partial h_0`,
is checked against the layer's own ``backward``.

**The decay factor per step** is the geometric mean of the per-step ratio over the sequence,

.. math::

    \phi = \left(\frac{\|g_1\|}{\|g_T\|}\right)^{1/(T-1)}
         = \exp\!\left(\frac{\log\|g_1\| - \log\|g_T\|}{T - 1}\right),

below 1 the gradient vanishes with the distance, above 1 it grows. For the linear RNN with
:math:`W = \rho\, Q`, :math:`\|g_t\| = \rho^{T-t}` exactly, so :math:`\phi = \rho`. Norms are
computed scaled by the largest entry (no underflow of the squares); a gradient that is exactly
0 at step 1 (``rho = 0``) gives :math:`\phi = 0`, never NaN.
"""
from __future__ import annotations

import json
import math
import numbers
import sys
from os import PathLike
from typing import Any, NamedTuple

import numpy as np

from . import cells
from .layers import GRU, LSTM, RNN
from .rng import SplitMix64  # the stream shared with the page's static/rng.js

__all__ = ["KINDS", "NONLINEARITIES", "BOUNDS", "DEFAULTS", "Flow", "check_settings", "setup", "make_layer",
           "orthogonal", "norm", "decay_factor", "gradient_flow", "generate", "write", "VECTOR_SETTINGS",
           "CHAOTIC_TOLERANCE"]

#: the cells
KINDS = ("rnn", "lstm", "gru")
#: the RNN's nonlinearity: tanh (slide 5) or none at all
NONLINEARITIES = ("tanh", "linear")
#: the inclusive range of every numeric setting (shared with static/gradflow.js)
BOUNDS = {"T": (2, 100), "H": (1, 16), "D": (1, 16), "seed": (0, 2 ** 53 - 1), "rho": (0.0, 2.0),
          "forget_bias": (-6.0, 6.0), "update_bias": (-6.0, 6.0), "input_scale": (0.0, 5.0)}
#: the settings when none is given (chapter 05's experiment: inputs of small scale, H as large as allowed)
DEFAULTS = {"T": 60, "H": 16, "D": 4, "seed": 0, "rho": 0.9, "nonlinearity": "tanh",
            "forget_bias": 0.0, "update_bias": 0.0, "input_scale": 0.5}
_INTS = ("T", "H", "D", "seed")


class Flow(NamedTuple):
    r"""The gradient flow of one cell. Row ``t - 1`` of ``grads`` is :math:`g_t = \partial L/\partial h_t`."""
    kind: str
    grads: np.ndarray    # (T, H), signed
    norms: np.ndarray    # (T,): ||g_t||
    units: np.ndarray    # (T, H): |g_t|, per unit (the heat map)
    decay: float         # the decay factor per step, phi


# --------------------------------------------------------------------------- settings

def check_settings(kind: str = "rnn", **settings: Any) -> dict[str, Any]:
    """``kind`` and the settings (missing ones from :data:`DEFAULTS`) checked: a ValueError names
    the argument and what was expected. Returns the full settings, numbers as int/float."""
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {', '.join(map(repr, KINDS))}, got {kind!r:.40}")
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]}: not a setting; expected one of {', '.join(DEFAULTS)}")
    s = {**DEFAULTS, **settings}
    for name, (lo, hi) in BOUNDS.items():
        v = s[name]
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            raise ValueError(f"{name}: expected a number, got {type(v).__name__} {v!r:.40}")
        if name in _INTS:
            if not isinstance(v, numbers.Integral) and not float(v).is_integer():
                raise ValueError(f"{name}: expected an integer in [{lo}, {hi}], got {v!r}")
            if not float(v) == float(v) or not lo <= v <= hi:   # NaN fails the first test
                raise ValueError(f"{name}: expected an integer in [{lo}, {hi}], got {v!r}")
            s[name] = int(v)
        else:
            v = float(v)
            if not math.isfinite(v) or not lo <= v <= hi:
                raise ValueError(f"{name}: expected a finite number in [{lo}, {hi}], got {v!r}")
            s[name] = v
    if s["nonlinearity"] not in NONLINEARITIES:
        raise ValueError(f"nonlinearity: expected 'tanh' or 'linear', got {s['nonlinearity']!r:.40}")
    return s


# --------------------------------------------------------------------------- weights and inputs

def orthogonal(A: np.ndarray) -> np.ndarray:
    """Modified Gram-Schmidt on the columns of the square matrix ``A``: column j of Q is column j
    of A less its components along the columns before it (removed one at a time, each from the
    updated vector), divided by its norm. Plain loops, sums from index 0 up: the order of
    operations that static/gradflow.js repeats, so that both get the same Q."""
    A = np.asarray(A, dtype=np.float64)
    n = A.shape[0]
    q = [[0.0] * n for _ in range(n)]            # q[j] is column j of Q
    for j in range(n):
        v = [float(A[k, j]) for k in range(n)]
        for i in range(j):
            qi = q[i]
            r = 0.0
            for k in range(n):
                r += qi[k] * v[k]
            for k in range(n):
                v[k] -= r * qi[k]
        s = 0.0
        for k in range(n):
            s += v[k] * v[k]
        nv = math.sqrt(s)
        if not nv > 0.0:   # probability 0 for normal draws; never divide by 0
            raise ValueError("A: expected a matrix of full rank")
        q[j] = [vk / nv for vk in v]
    return np.array(q).T


def setup(kind: str = "rnn", **settings: Any) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """``(params, x, u)``: layer-0 parameters in torch's names (``weight_ih_l0`` ...), the inputs
    (T, 1, D) and the unit vector ``u`` (H,), drawn from ``SplitMix64(seed)`` in the module's order."""
    s = check_settings(kind, **settings)
    T, H, D = s["T"], s["H"], s["D"]
    G = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    st = SplitMix64(s["seed"])
    u = [float(v) for v in st.normal(H)]
    n = math.sqrt(sum_sq(u))
    u = np.array([v / n for v in u])
    Q = orthogonal(np.asarray(st.normal(H * H), dtype=np.float64).reshape(H, H))
    k = 1.0 / math.sqrt(H)
    W_ih = np.asarray(st.uniform(-k, k, 4 * H * D), dtype=np.float64).reshape(4 * H, D)
    W_hh = np.asarray(st.uniform(-k, k, 4 * H * H), dtype=np.float64).reshape(4 * H, H)
    z = np.asarray(st.normal(T * D), dtype=np.float64).reshape(T, 1, D)
    x = s["input_scale"] * z
    b_ih, b_hh = np.zeros(G * H), np.zeros(G * H)
    if kind == "rnn":
        W_hh = s["rho"] * Q
    if kind == "lstm":
        b_ih[H:2 * H] = s["forget_bias"]    # block f of i, f, g, o
    if kind == "gru":
        b_ih[H:2 * H] = s["update_bias"]    # block z of r, z, n (the slides' z: weight of the new)
    params = {"weight_ih_l0": W_ih[:G * H].copy(), "weight_hh_l0": W_hh[:G * H].copy(),
              "bias_ih_l0": b_ih, "bias_hh_l0": b_hh}
    return params, x, u


def sum_sq(v) -> float:
    """Sum of squares from index 0 up (as the JavaScript does)."""
    s = 0.0
    for a in v:
        s += a * a
    return s


def norm(v: np.ndarray) -> float:
    """Euclidean norm, scaled by the largest entry so that no square underflows or overflows:
    ``m * sqrt(sum((v / m)^2))``, ``m = max |v_i|``; 0 for a zero vector."""
    m = float(np.max(np.abs(v))) if len(v) else 0.0
    if m == 0.0 or not math.isfinite(m):
        return m
    return m * math.sqrt(sum_sq(float(a) / m for a in v))


def decay_factor(norms: np.ndarray) -> float:
    r"""The decay factor per step, :math:`(\|g_1\| / \|g_T\|)^{1/(T-1)}` from the norms
    :math:`\|g_1\|, \dots, \|g_T\|`, computed in logs; 0 when :math:`g_1 = 0`."""
    n1, nT, T = float(norms[0]), float(norms[-1]), len(norms)
    if T < 2:
        raise ValueError(f"norms: expected at least 2 steps, got {T}")
    if n1 == 0.0:
        return 0.0
    return math.exp((math.log(n1) - math.log(nT)) / (T - 1))


# --------------------------------------------------------------------------- the flow

def make_layer(kind: str = "rnn", **settings: Any) -> tuple[RNN | LSTM | GRU, np.ndarray, np.ndarray]:
    """``(layer, x, u)``: companion's layer for ``kind`` (an RNN with tanh, an LSTM, the slides'
    GRU) holding :func:`setup`'s parameters, with its inputs ``x`` (T, 1, D) and ``u`` (H,).
    (The linear RNN has no companion layer: its ``layer`` is the tanh RNN with the same weights.)"""
    s = check_settings(kind, **settings)
    params, x, u = setup(kind, **s)
    H, D = s["H"], s["D"]
    layer = {"rnn": lambda: RNN(D, H, nonlinearity="tanh"), "lstm": lambda: LSTM(D, H),
             "gru": lambda: GRU(D, H, variant="lecture")}[kind]()
    for name, v in params.items():
        layer.params[name][...] = v
    return layer, x, u


def _back_steps(kind, layer, x, u):
    """g_T = u, g_{T-1}, ..., g_0 by companion's step backward on the layer's recorded states."""
    T, H = x.shape[0], len(u)
    layer(x)
    tr = layer.traces["l0"]
    w = layer.cell_weights()
    zero = np.zeros((1, H))
    g = np.empty((T + 1, H))          # row t: g_t, t = 0..T
    g[T] = u
    delta, dC = u[None, :], zero
    for t in range(T, 0, -1):         # step t: traces row t - 1
        h_prev = tr["h"][t - 2] if t > 1 else zero
        if kind == "rnn":
            step = cells.RNNStep(tr["a"][t - 1], tr["h"][t - 1], None, None)
            delta = cells.rnn_step_backward(delta, x[t - 1], h_prev, step, w["U"], w["W"])["dh_prev"]
        elif kind == "lstm":
            C_prev = tr["C"][t - 2] if t > 1 else zero
            step = cells.LSTMStep(*(tr[n][t - 1] for n in ("f", "i", "C_tilde", "C", "o", "h")))
            back = cells.lstm_step_backward(delta, dC, x[t - 1], h_prev, C_prev, step, w)
            delta, dC = back["dh_prev"], back["dC_prev"]
        else:
            # the step recomputed from the recorded h_{t-1} (GRUStep also keeps W_hh (r * h) + b_hh)
            step = cells.gru_step(x[t - 1], h_prev, w, variant="lecture")
            delta = cells.gru_step_backward(delta, x[t - 1], h_prev, step, w, variant="lecture")["dh_prev"]
        g[t - 1] = delta[0]
    # the same dL/dh_0 from the layer's own backward: the step-by-step chain is the layer's BPTT
    d_out = np.zeros((T, 1, H))
    d_out[-1, 0] = u
    _, d0 = layer.backward(d_out)
    d0 = d0[0] if kind == "lstm" else d0
    scale = max(1.0, float(np.max(np.abs(g))))
    if not np.allclose(d0[0, 0], g[0], rtol=1e-9, atol=1e-12 * scale):
        raise RuntimeError("gradient_flow: the step-by-step backward disagrees with the layer's backward")
    return g


def gradient_flow(kind: str = "rnn", **settings: Any) -> Flow:
    r"""The gradient :math:`g_t = \partial L/\partial h_t` of :math:`L = u^\top h_T` for every step
    t = 1..T of one cell, its norms, per-unit magnitudes and the decay factor per step.

    ``kind``: ``"rnn"``, ``"lstm"`` or ``"gru"``; ``settings``: any of :data:`DEFAULTS` (``T``,
    ``H``, ``D``, ``seed``, ``rho``, ``nonlinearity``, ``forget_bias``, ``update_bias``,
    ``input_scale``), within :data:`BOUNDS`; a bad one raises ValueError naming it.
    ``rho`` and ``nonlinearity`` act on the RNN, ``forget_bias`` on the LSTM, ``update_bias``
    on the GRU; the others on every cell. See the module's docstring for the construction.
    """
    s = check_settings(kind, **settings)
    layer, x, u = make_layer(kind, **s)
    if kind == "rnn" and s["nonlinearity"] == "linear":
        # h_t = W h_{t-1} + U x_t: g_{t-1} = W^T g_t (companion.RNN has no linear case)
        W = layer.params["weight_hh_l0"]
        g = np.empty((s["T"] + 1, s["H"]))
        g[s["T"]] = u
        for t in range(s["T"], 0, -1):
            g[t - 1] = g[t] @ W
    else:
        g = _back_steps(kind, layer, x, u)
    grads = g[1:]
    norms = np.array([norm(r) for r in grads])
    return Flow(kind, grads, norms, np.abs(grads), decay_factor(norms))


# --------------------------------------------------------------------------- shared vectors

#: the settings of the shared vectors: for each kind a few that cover its knobs
VECTOR_SETTINGS = (
    ("rnn", {"T": 12, "H": 3, "D": 2, "seed": 1, "rho": 0.8, "nonlinearity": "linear"}),
    ("rnn", {"T": 100, "H": 16, "D": 4, "seed": 0, "rho": 1.7, "nonlinearity": "linear"}),
    ("rnn", {"T": 30, "H": 5, "D": 3, "seed": 2, "rho": 0.0, "nonlinearity": "linear"}),
    ("rnn", {"T": 60, "H": 16, "D": 4, "seed": 0, "rho": 0.9, "input_scale": 0.5}),
    ("rnn", {"T": 100, "H": 16, "D": 4, "seed": 7, "rho": 1.5, "input_scale": 1.0}),
    ("rnn", {"T": 9, "H": 1, "D": 1, "seed": 3, "rho": 1.2, "input_scale": 5.0}),
    ("rnn", {"T": 100, "H": 16, "D": 4, "seed": 2, "rho": 1.6, "input_scale": 0.1}),
    ("rnn", {"T": 100, "H": 16, "D": 4, "seed": 2, "rho": 2.0, "input_scale": 0.1}),   # chaotic: see CHAOTIC
    ("lstm", {"T": 60, "H": 16, "D": 4, "seed": 0, "forget_bias": 0.0}),
    ("lstm", {"T": 100, "H": 16, "D": 4, "seed": 5, "forget_bias": 4.0, "input_scale": 2.0}),
    ("lstm", {"T": 20, "H": 2, "D": 3, "seed": 9, "forget_bias": -3.0, "input_scale": 0.1}),
    ("gru", {"T": 60, "H": 16, "D": 4, "seed": 0, "update_bias": 0.0}),
    ("gru", {"T": 100, "H": 16, "D": 4, "seed": 4, "update_bias": -4.0, "input_scale": 2.0}),
    ("gru", {"T": 15, "H": 4, "D": 1, "seed": 11, "update_bias": 3.0, "input_scale": 0.2}),
)


#: Conditioning. Above rho = 1.6 with small inputs the tanh RNN's forward pass is chaotic (its
#: states are not saturated enough to damp a perturbation): a change in the last bit of one
#: weight changes g_t by up to ~1e-6 relative at T = 100 (measured: 2e-8 at rho = 1.8, 3e-7 at
#: 1.9, 4e-6 at 2.0; below 1e-9 up to 1.7), so two correct implementations that round
#: differently (numpy's BLAS and the page's loops) agree there only to about 1e-5. The shared
#: vectors mark such a case ``"chaotic": true``: checked to this tolerance, relative, instead of 1e-9.
CHAOTIC_TOLERANCE = 1e-4


def _chaotic(kind, s):
    return kind == "rnn" and s["nonlinearity"] == "tanh" and s["rho"] > 1.6 and s["input_scale"] < 1.0


def generate() -> dict[str, Any]:
    """The shared vectors: for each of :data:`VECTOR_SETTINGS` the settings, the norms of all T
    steps, the signed gradients g_t at ``steps`` (every step when T * H <= 480, else the first
    and last three and every tenth: rows of H) and the decay factor."""
    cases = []
    for kind, settings in VECTOR_SETTINGS:
        s = check_settings(kind, **settings)
        f = gradient_flow(kind, **s)
        T = s["T"]
        steps = (list(range(1, T + 1)) if T * s["H"] <= 480
                 else sorted({1, 2, 3, *range(10, T, 10), T - 2, T - 1, T}))
        cases.append({"name": f"{kind} " + " ".join(f"{k}={v}" for k, v in settings.items()),
                      "kind": kind, "settings": s, "chaotic": _chaotic(kind, s),
                      "norms": f.norms.tolist(), "steps": steps,
                      "grads": [f.grads[t - 1].tolist() for t in steps], "decay": f.decay})
    return {"generator": "companion.gradient_flow.write", "tolerance": 1e-9,
            "chaotic_tolerance": CHAOTIC_TOLERANCE, "cases": cases}


def write(path: str | PathLike[str]) -> None:
    """Write :func:`generate`'s vectors as JSON to ``path`` (tests/js/gradflow_vectors.json)."""
    with open(path, "w", encoding="utf-8") as fh:
        data = generate()
        # one case per line: small, and a diff shows which case changed
        head = {k: v for k, v in data.items() if k != "cases"}
        fh.write(json.dumps(head, allow_nan=False)[:-1] + ', "cases": [\n')
        fh.write(",\n".join(json.dumps(c, allow_nan=False) for c in data["cases"]))
        fh.write("\n]}\n")


if __name__ == "__main__":  # pragma: no cover
    write(sys.argv[1] if len(sys.argv) > 1 else "tests/js/gradflow_vectors.json")
