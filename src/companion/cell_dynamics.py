r"""How the two states of an LSTM move from one step to the next (slide 13; chapters 6 and 11).

Slide 13 says "c changes slowly: c^t is c^{t-1} added by something; h changes faster: h^t
and h^{t-1} can be very different". The equations of slide 10 say exactly how each state
moves. The cell's step follows from :math:`C_t = f_t * C_{t-1} + i_t * \tilde C_t`:

.. math::

    C_t - C_{t-1} = (f_t - 1) * C_{t-1} + i_t * \tilde C_t ,

an erasing part and a writing part. The hidden state's step follows from
:math:`h_t = o_t * \tanh(C_t)`, adding and subtracting :math:`o_t * \tanh(C_{t-1})`:

.. math::

    h_t - h_{t-1} = \underbrace{o_t * (\tanh C_t - \tanh C_{t-1})}_{\text{cell part}}
                  + \underbrace{(o_t - o_{t-1}) * \tanh C_{t-1}}_{\text{gate part}} .

Since :math:`|\tanh a - \tanh b| \le |a - b|` (tanh's slope is at most 1) and
:math:`0 < o_t < 1`, the cell part is never larger than :math:`|C_t - C_{t-1}|`, unit by unit:
**h can move more than C only through its output gate.** :func:`h_step_parts` measures the two
parts on recorded traces (``layer.traces``), :func:`steady_drift_share` how much of the cell's
step is a constant slope (a ramp), :func:`group_separation` how far apart the cells of
different groups of sequences lie, and :func:`cell_bound` how large the cell can get.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .validation import as_real_array

__all__ = ["HStep", "cell_step", "h_step_parts", "steady_drift_share", "group_separation", "cell_bound"]


class HStep(NamedTuple):
    """The steps of both states between consecutive time steps, and the two parts of h's step.

    ``dh == cell + gate`` exactly (up to rounding), and ``|cell| <= |dC|`` element by element."""
    dC: np.ndarray      #: C_t - C_{t-1}
    dh: np.ndarray      #: h_t - h_{t-1}
    cell: np.ndarray    #: o_t * (tanh C_t - tanh C_{t-1})
    gate: np.ndarray    #: (o_t - o_{t-1}) * tanh C_{t-1}


def cell_step(f_t: ArrayLike, i_t: ArrayLike, C_tilde_t: ArrayLike, C_prev: ArrayLike) -> np.ndarray:
    r"""The cell's step :math:`C_t - C_{t-1} = (f_t - 1) * C_{t-1} + i_t * \tilde C_t` (element-wise).

    The erasing part :math:`(f_t - 1) * C_{t-1}` grows with the cell, so one step can change a
    large cell by more than 1 even though :math:`|i_t * \tilde C_t| < 1`."""
    f_t, i_t, C_tilde_t, C_prev = (as_real_array(n, v, np.float64) for n, v in
                                   (("f_t", f_t), ("i_t", i_t), ("C_tilde_t", C_tilde_t), ("C_prev", C_prev)))
    return (f_t - 1.0) * C_prev + i_t * C_tilde_t


def _time_axis(name: str, arr: np.ndarray, axis: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -arr.ndim <= axis < arr.ndim:
        raise ValueError(f"axis: expected an axis of {name} (ndim {arr.ndim}), got {axis!r}")
    if arr.shape[axis] < 2:
        raise ValueError(f"{name}: expected at least 2 time steps along axis {axis}, got shape {arr.shape}")
    return int(axis) % arr.ndim


def h_step_parts(C: ArrayLike, o: ArrayLike, axis: int = 0) -> HStep:
    r"""Split every step of :math:`h_t = o_t * \tanh(C_t)` into its cell part and its gate part.

    .. math::

        h_t - h_{t-1} = o_t * (\tanh C_t - \tanh C_{t-1}) + (o_t - o_{t-1}) * \tanh C_{t-1}

    C, o: the cell states :math:`C_t` and output gates :math:`o_t` of consecutive steps (e.g.
    ``layer.traces["l0"]["C"]`` and ``["o"]``), the same shape, time along ``axis``. Returns an
    :class:`HStep` of arrays with one step fewer along ``axis`` (the steps t = 2..T of T
    recorded steps): ``dC``, ``dh = o_t tanh C_t - o_{t-1} tanh C_{t-1}``, ``cell`` and ``gate``.
    """
    C = as_real_array("C", C, np.float64)
    o = as_real_array("o", o, np.float64)
    if C.shape != o.shape:
        raise ValueError(f"o: expected the shape of C {C.shape}, got {o.shape}")
    ax = _time_axis("C", C, axis)
    now = [slice(None)] * C.ndim
    before = [slice(None)] * C.ndim
    now[ax], before[ax] = slice(1, None), slice(None, -1)
    C_t, C_p, o_t, o_p = C[tuple(now)], C[tuple(before)], o[tuple(now)], o[tuple(before)]
    tanh_t, tanh_p = np.tanh(C_t), np.tanh(C_p)
    return HStep(dC=C_t - C_p, dh=o_t * tanh_t - o_p * tanh_p,
                 cell=o_t * (tanh_t - tanh_p), gate=(o_t - o_p) * tanh_p)


def steady_drift_share(dC: ArrayLike, axis: int = 0) -> float:
    r"""The share of the cell's steps that a constant slope explains: a ramp gives 1, noise 0.

    .. math::

        1 - \frac{\sum (\Delta C_t - \overline{\Delta C})^2}{\sum \Delta C_t^2}

    where :math:`\overline{\Delta C}` is the mean step along ``axis`` (time) of each sequence
    and unit, and the sums run over everything. dC: steps :math:`C_t - C_{t-1}` (e.g.
    ``h_step_parts(C, o).dC``), at least 2 along ``axis``, not all zero."""
    dC = as_real_array("dC", dC, np.float64)
    ax = _time_axis("dC", dC, axis)
    total = float((dC ** 2).sum())
    if total == 0.0:
        raise ValueError("dC: expected some non-zero step (all steps are 0: no share to measure)")
    slope = dC.mean(axis=ax, keepdims=True)
    return 1.0 - float(((dC - slope) ** 2).sum()) / total


def group_separation(states: ArrayLike, groups: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    r"""How far apart the states of different groups lie, against how spread each group is.

    states: (n, ..., H), one state vector per sequence (e.g. the cells :math:`C_t` of n
    sequences, with any axes such as time between); groups: (n,) integer labels, at least
    two groups. Returns ``(between, within)``, each of shape ``states.shape[1:-1]``:

    * between: the smallest Euclidean distance between the mean states of two groups,
      :math:`\min_{a \ne b} \lVert \bar s_a - \bar s_b \rVert`;
    * within: the root-mean-square distance of a state to its own group's mean,
      :math:`\sqrt{\tfrac1n \sum_k \lVert s_k - \bar s_{g(k)} \rVert^2}`.

    A ratio between / within well above 1 means that every pair of groups lies apart.
    """
    states = as_real_array("states", states, np.float64)
    groups = np.asarray(groups)
    if states.ndim < 2:
        raise ValueError(f"states: expected shape (n, ..., H), got {states.shape}")
    if groups.shape != states.shape[:1] or groups.dtype.kind not in "iub":
        raise ValueError(f"groups: expected {states.shape[0]} integer labels, got {groups.dtype} "
                         f"of shape {groups.shape}")
    labels = np.unique(groups)
    if len(labels) < 2:
        raise ValueError(f"groups: expected at least 2 different labels, got {labels.tolist()}")
    means = np.stack([states[groups == g].mean(axis=0) for g in labels])           # (G, ..., H)
    dist = np.sqrt(((means[:, None] - means[None]) ** 2).sum(axis=-1))            # (G, G, ...)
    a, b = np.triu_indices(len(labels), 1)
    between = dist[a, b].min(axis=0)
    own = means[np.searchsorted(labels, groups)]                                  # (n, ..., H)
    within = np.sqrt(((states - own) ** 2).sum(axis=-1).mean(axis=0))
    return between, within


def cell_bound(t: ArrayLike, C0: float = 0.0, f_max: float = 1.0) -> np.ndarray:
    r"""An upper bound on :math:`|C_t|` after t steps of the tanh LSTM, unit by unit.

    With :math:`|i_t * \tilde C_t| < 1` and :math:`0 < f_t \le f_{max}`,
    :math:`|C_t| \le f_t |C_{t-1}| + |i_t * \tilde C_t| < f_{max} |C_{t-1}| + 1`, so

    .. math::

        |C_t| < |C_0| + t \quad (f_{max} = 1), \qquad
        |C_t| < f_{max}^t |C_0| + \frac{1 - f_{max}^t}{1 - f_{max}}
        \;\xrightarrow{t \to \infty}\; \frac{1}{1 - f_{max}} \quad (f_{max} < 1).

    The cell can grow at most linearly (a ramp). Forget gates that all stay at or below some
    :math:`f_{max} < 1` guarantee a bounded cell (below :math:`1 / (1 - f_{max})` at every step
    when :math:`|C_0| \le 1 / (1 - f_{max})`, e.g. from :math:`C_0 = 0`); they are not needed
    for it (a cell that is hardly written to stays bounded with :math:`f_t` near 1 too).
    These bounds hold for the tanh candidate of slide 10, not for an unbounded one such as ReLU.
    t: steps (>= 0, any shape); C0: the start :math:`|C_0|`; f_max: in (0, 1].
    """
    t = as_real_array("t", t, np.float64)
    if (t < 0).any():
        raise ValueError("t: expected numbers of steps >= 0")
    C0 = abs(float(C0))
    if not np.isfinite(C0):
        raise ValueError(f"C0: expected a finite number, got {C0!r}")
    f_max = float(f_max)
    if not 0.0 < f_max <= 1.0:
        raise ValueError(f"f_max: expected a number in (0, 1], got {f_max!r}")
    if f_max == 1.0:
        return C0 + t
    return f_max ** t * C0 + (1.0 - f_max ** t) / (1.0 - f_max)
