"""Every figure primitive of the chapters: nodes, boxes, labelled arrows, a canvas, the
unrolled-graph and RNN-type layouts, and the RNN, LSTM and GRU cell diagrams.

One visual language throughout, after Olah's "Understanding LSTM Networks" figures, which the
slides borrow:

* **graphs** (unrolled networks, RNN types): a circle or rounded box per quantity, filled by
  its role (:data:`ROLE_COLORS`: input green, hidden state blue, output orange, ...); arrows
  carrying a weight are coloured by the weight (:data:`WEIGHT_COLORS`: ``U`` green, ``W``
  blue, ``V`` orange), the same in every chapter;
* **cells** (:func:`draw_rnn_cell`, :func:`draw_lstm_cell`, :func:`draw_gru_cell`): a
  neural-network layer (``σ`` or ``tanh`` with its own weights) is a yellow box
  (:func:`layer_box`), a pointwise operation (``×``, ``+``, ``1−``, ``tanh``) is a pink circle
  (:func:`pointwise_op`), the state carried along the top of a gated cell (the LSTM's ``C``,
  the GRU's ``h``) is one thick line, the inputs ``h_{t-1}`` and ``x_t`` enter at the bottom
  left, ``h_t`` leaves at the right and at the top, a gate's name stands left of its box.
  ``highlight`` draws one equation's path in red and dims the rest (slide 15's "information
  flow"); a line shared by several paths (the input bus ``[h_{t-1}, x_t]``, the state line) is
  red only as far as the last gate of the highlighted path that reads it.

The layouts create and return their own matplotlib ``Figure``; the cell diagrams
draw on a given ``Axes`` and return it. Bad arguments raise a ValueError
naming the argument, before any figure is created. matplotlib is imported when a function is
called, not with ``companion``.
"""
from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from .validation import check_bool, check_choice, check_positive_int

if TYPE_CHECKING:                 # only for the annotations: matplotlib stays optional
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Patch

__all__ = [
    "ROLE_COLORS", "WEIGHT_COLORS", "STATE_COLORS", "HL", "BASE", "DIM",
    "canvas", "node", "box", "arrow", "wire", "layer_box", "pointwise_op",
    "draw_fc_vs_rnn", "draw_unrolled_rnn", "rnn_type_panel", "draw_rnn_types",
    "draw_deep_rnn", "draw_bidirectional_rnn",
    "draw_rnn_cell", "draw_lstm_cell", "draw_gru_cell",
    "LSTM_HIGHLIGHTS", "GRU_HIGHLIGHTS",
]

HL, BASE, DIM = "#d62728", "#222222", "#c8c8c8"          # highlighted, normal, dimmed
DIM_TEXT, DIM_FILL = "#999999", "#f2f2f2"
#: fill colour of a node or box by the role of the quantity it holds
ROLE_COLORS = {"input": "#c8e6c9", "hidden": "#bbdefb", "hidden2": "#e1d5f0",
               "output": "#ffe0b2", "loss": "#f8bbd0", "target": "#e0e0e0"}
#: colour of an arrow that carries one of the slides' weights (slides 1, 3, 5)
WEIGHT_COLORS = {"U": "#2e7d32", "W": "#1565c0", "V": "#e65100"}
#: line colour of the state a function carries (deep/bidirectional RNN: h of f1, g of f2)
STATE_COLORS = {"hidden": "#1565c0", "hidden2": "#6a3d9a"}
_LAYER = ("#fde9a9", "#e0b000")             # layer box: fill, edge (Olah's yellow)
_OP = ("#f8d7e6", "#c2185b")                # pointwise op: fill, edge (Olah's pink)
_CELL = ("#eef3fb", "#8fa8cc")              # the cell's background
_STATES = ("normal", "highlight", "dim")
#: the paths :func:`draw_lstm_cell` can highlight (slide 15's steps, and slide 12's peepholes)
LSTM_HIGHLIGHTS = (None, "cell", "forget", "input", "update", "output", "peephole")
#: the paths :func:`draw_gru_cell` can highlight, one per equation of slide 16
GRU_HIGHLIGHTS = (None, "update", "reset", "candidate", "hidden")


# --------------------------------------------------------------------------- checks
def _check_ax(ax) -> None:
    from matplotlib.axes import Axes
    if not isinstance(ax, Axes):
        raise ValueError(f"ax: expected a matplotlib Axes, got {type(ax).__name__}")


def _check_xy(name: str, xy) -> tuple[float, float]:
    try:
        x, y = xy
        ok = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in (x, y))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name}: expected a point (x, y) of two numbers, got {xy!r}")
    return float(x), float(y)


def _check_positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"{name}: expected a positive number, got {value!r}")
    return float(value)


def _check_title(title) -> None:
    if title is not None and not isinstance(title, str):
        raise ValueError(f"title: expected a string or None, got {type(title).__name__}")


# --------------------------------------------------------------------------- primitives
def canvas(xlim: tuple[float, float], ylim: tuple[float, float], *,
           figsize: tuple[float, float] = (8.0, 4.0), dpi: int = 100,
           ax: Axes | None = None) -> tuple[Figure, Axes]:
    """A drawing area in data units: equal aspect, no axes; returns ``(fig, ax)``.

    With ``ax`` the limits are set on that Axes (a panel of a larger figure) and its figure is
    returned; otherwise a new figure of ``figsize`` inches at ``dpi`` is created.
    """
    for name, lim in (("xlim", xlim), ("ylim", ylim)):
        lo, hi = _check_xy(name, lim)
        if not lo < hi:
            raise ValueError(f"{name}: expected (low, high) with low < high, got {lim!r}")
    if ax is None:
        import matplotlib.pyplot as plt
        _check_xy("figsize", figsize)
        fig, ax = plt.subplots(figsize=figsize, dpi=check_positive_int("dpi", dpi))
    else:
        _check_ax(ax)
        fig = ax.figure
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def node(ax: Axes, xy: tuple[float, float], text: str = "", *, role: str = "hidden",
         radius: float = 0.42, fontsize: float = 11) -> Circle:
    """A circle for one quantity of a graph (``x``, ``h``, ``o``, ``L``, ``y``), filled by its
    ``role`` (a key of :data:`ROLE_COLORS`), with ``text`` in its centre. Returns the Circle."""
    from matplotlib.patches import Circle
    _check_ax(ax)
    xy = _check_xy("xy", xy)
    check_choice("role", role, tuple(ROLE_COLORS))
    circle = Circle(xy, _check_positive("radius", radius), facecolor=ROLE_COLORS[role],
                    edgecolor=BASE, lw=1.2, zorder=3)
    ax.add_patch(circle)
    if text:
        ax.text(*xy, text, ha="center", va="center", fontsize=fontsize, zorder=4)
    return circle


def box(ax: Axes, xy: tuple[float, float], text: str = "", *, role: str = "hidden",
        width: float = 0.9, height: float = 0.6, fontsize: float = 12) -> FancyBboxPatch:
    """A rounded box centred at ``xy`` for a function or a step of a graph (``f_1``, a hidden
    state), filled by its ``role`` (a key of :data:`ROLE_COLORS`). Returns the patch."""
    from matplotlib.patches import FancyBboxPatch
    _check_ax(ax)
    x, y = _check_xy("xy", xy)
    check_choice("role", role, tuple(ROLE_COLORS))
    w, h = _check_positive("width", width), _check_positive("height", height)
    patch = FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02",
                           facecolor=ROLE_COLORS[role], edgecolor=BASE, lw=1.2, zorder=3)
    ax.add_patch(patch)
    if text:
        ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=4)
    return patch


def arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float],
          label: str | None = None, *, color: str = BASE, trim: float = 0.0,
          lw: float = 1.3, ls: str = "-", label_at: float = 0.5,
          label_offset: tuple[float, float] = (0.0, 0.0), ha: str = "center",
          va: str = "center", fontsize: float = 11, label_color: str | None = None,
          mutation_scale: float = 12) -> FancyArrowPatch:
    """A straight arrow from ``start`` to ``end``, each end cut back by ``trim`` (the radius of
    the node it touches), with an optional ``label`` placed at the fraction ``label_at`` of
    the way, moved by ``label_offset``, in ``label_color`` (default: the arrow's colour).
    Returns the FancyArrowPatch."""
    from matplotlib.patches import FancyArrowPatch
    _check_ax(ax)
    (x0, y0), (x1, y1) = _check_xy("start", start), _check_xy("end", end)
    d = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
    if isinstance(trim, bool) or not isinstance(trim, numbers.Real) or trim < 0 or 2 * trim >= d:
        raise ValueError(f"trim: expected a number >= 0 below half the arrow's length {d:.3g}, "
                         f"got {trim!r}")
    if not 0.0 <= label_at <= 1.0:
        raise ValueError(f"label_at: expected a fraction in [0, 1], got {label_at!r}")
    ux, uy = (x1 - x0) / d, (y1 - y0) / d
    a, b = (x0 + trim * ux, y0 + trim * uy), (x1 - trim * ux, y1 - trim * uy)
    patch = FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=mutation_scale, lw=lw,
                            ls=ls, color=color, shrinkA=0, shrinkB=0, zorder=2)
    ax.add_patch(patch)
    if label:
        dx, dy = _check_xy("label_offset", label_offset)
        ax.text(a[0] + label_at * (b[0] - a[0]) + dx, a[1] + label_at * (b[1] - a[1]) + dy,
                label, ha=ha, va=va, fontsize=fontsize, color=label_color or color, zorder=4)
    return patch


def _state_color(state: str) -> str:
    return {"normal": BASE, "highlight": HL, "dim": DIM}[check_choice("state", state, _STATES)]


def wire(ax: Axes, points: Sequence[tuple[float, float]], *, state: str = "normal",
         head: bool = True, ls: str | tuple = "-", lw: float = 2.0,
         bridge: bool = False) -> Line2D:
    """A line of a cell diagram through ``points``, ending in an arrowhead if ``head``.

    ``state`` is "normal", "highlight" (red, thicker) or "dim" (grey); ``bridge`` draws a gap
    of the cell's background on both sides, for a line that passes over another without
    joining it. Returns the Line2D (its colour says the state)."""
    import matplotlib.patheffects as pe
    _check_ax(ax)
    pts = [_check_xy("points", p) for p in points]
    if len(pts) < 2:
        raise ValueError(f"points: expected at least two points, got {len(pts)}")
    color = _state_color(state)
    width = lw + (1.2 if state == "highlight" else 0.0)
    kw = {}
    if bridge:
        kw["path_effects"] = [pe.Stroke(linewidth=width + 6, foreground=_CELL[0]), pe.Normal()]
    xs, ys = zip(*pts, strict=True)
    (line,) = ax.plot(xs, ys, color=color, lw=width, ls=ls, solid_capstyle="round",
                      zorder=2 if bridge else 1, **kw)
    if head:
        ax.annotate("", xy=pts[-1], xytext=pts[-2], zorder=2 if bridge else 1,
                    arrowprops=dict(arrowstyle="-|>", color=color, lw=0, mutation_scale=16,
                                    shrinkA=0, shrinkB=0))
    return line


def layer_box(ax: Axes, xy: tuple[float, float], op: str, name: str | None = None, *,
              state: str = "normal", width: float = 1.0, height: float = 0.7) -> FancyBboxPatch:
    """A neural-network layer of a cell diagram (Olah's yellow box): ``op`` is "σ" or "tanh",
    applied to a weighted sum of the box's inputs; ``name`` (e.g. ``"$f_t$"``), the layer's
    output, is written left of the box. Returns the box."""
    from matplotlib.patches import FancyBboxPatch
    _check_ax(ax)
    x, y = _check_xy("xy", xy)
    check_choice("op", op, ("σ", "tanh"))
    color = _state_color(state)
    fill = {"normal": _LAYER[0], "highlight": "#ffd0d0", "dim": DIM_FILL}[state]
    edge = {"normal": _LAYER[1], "highlight": HL, "dim": DIM}[state]
    w, h = _check_positive("width", width), _check_positive("height", height)
    patch = FancyBboxPatch((x - w / 2, y - h / 2), w, h, zorder=3, fc=fill, ec=edge, lw=1.6,
                           boxstyle="round,pad=0.02,rounding_size=0.12")
    ax.add_patch(patch)
    text = DIM_TEXT if state == "dim" else BASE
    ax.text(x, y, op, ha="center", va="center", fontsize=12, zorder=4, color=text)
    if name:
        ax.text(x - w / 2 - 0.1, y, name, ha="right", va="center", fontsize=13, zorder=4,
                color=DIM_TEXT if state == "dim" else color)
    return patch


def pointwise_op(ax: Axes, xy: tuple[float, float], op: str, *, state: str = "normal",
                 radius: float = 0.28) -> Patch:
    """A pointwise operation of a cell diagram (Olah's pink circle): "×", "+", or "1−" and
    "tanh" (drawn as wider ellipses). Returns the patch."""
    from matplotlib.patches import Circle, Ellipse
    _check_ax(ax)
    xy = _check_xy("xy", xy)
    check_choice("op", op, ("×", "+", "1−", "tanh"))
    r = _check_positive("radius", radius)
    color = _state_color(state)
    edge = {"normal": _OP[1], "highlight": HL, "dim": DIM}[state]
    kw = dict(fc=DIM_FILL if state == "dim" else _OP[0], ec=edge,
              lw=1.6 + (1.0 if state == "highlight" else 0.0), zorder=3)
    wide = op in ("tanh", "1−")      # a word: an ellipse wide enough for it
    patch = Ellipse(xy, (4 if op == "tanh" else 3) * r, 2 * r, **kw) if wide else Circle(xy, r, **kw)
    ax.add_patch(patch)
    if state == "dim":
        text = DIM_TEXT
    else:                             # a symbol in the edge's colour, a word in black
        text = color if state == "highlight" or op in ("tanh", "1−") else edge
    ax.text(*xy, op, ha="center", va="center", fontsize=11 if op in ("tanh", "1−") else 13,
            zorder=4, color=text)
    return patch


# --------------------------------------------------------------------------- graph layouts
def draw_fc_vs_rnn(n_inputs: int = 6, n_hidden: int = 5, n_outputs: int = 2) -> Figure:
    """Slide 1's argument in two panels: a fully connected network with ``n_inputs`` inputs
    ``x_1..x_n``, ``n_hidden`` hidden units and ``n_outputs`` outputs, every line its own
    weight; and the recurrent network reading one ``x_t`` at a time with the same ``U``,
    ``W``, ``V`` at every step. Returns the figure."""
    n = check_positive_int("n_inputs", n_inputs)
    m = check_positive_int("n_hidden", n_hidden)
    k = check_positive_int("n_outputs", n_outputs)
    if n < 2:
        raise ValueError(f"n_inputs: expected at least 2 (x_1 and x_n), got {n}")
    import matplotlib.pyplot as plt
    import numpy as np
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=100)
    xs_in, xs_h = np.linspace(0, 5, n), np.linspace(0.5, 4.5, m)
    xs_o = np.linspace(1.5, 3.5, k) if k > 1 else np.array([2.5])
    names = [f"$x_{i + 1}$" for i in range(n - 1)] + ["$x_n$"]
    for a, b, y0, y1 in ((xs_in, xs_h, 0.0, 1.6), (xs_h, xs_o, 1.6, 3.0)):
        for xa in a:
            for xb in b:
                ax1.plot([xa, xb], [y0, y1], color="#9e9e9e", lw=0.7, zorder=1)
    for xi, name in zip(xs_in, names, strict=True):
        node(ax1, (xi, 0), name, role="input", radius=0.28, fontsize=10)
    for xh in xs_h:
        node(ax1, (xh, 1.6), role="hidden", radius=0.22)
    for xo in xs_o:
        node(ax1, (xo, 3.0), role="output", radius=0.22)
    ax1.set_title("fully connected: every $x_i$ to every unit,\nits own weight on each line",
                  fontsize=10)
    canvas((-0.5, 5.5), (-0.5, 3.5), ax=ax1)
    steps = np.linspace(0, 5, n)
    for j, (cx, name) in enumerate(zip(steps, names, strict=True)):
        node(ax2, (cx, 0), name, role="input", radius=0.28, fontsize=10)
        node(ax2, (cx, 1.6), "$h$", role="hidden", radius=0.28, fontsize=10)
        node(ax2, (cx, 3.0), role="output", radius=0.22)
        arrow(ax2, (cx, 0.28), (cx, 1.32), color=WEIGHT_COLORS["U"], lw=2, mutation_scale=10)
        arrow(ax2, (cx, 1.88), (cx, 2.78), color=WEIGHT_COLORS["V"], lw=2, mutation_scale=10)
        if j:
            arrow(ax2, (steps[j - 1] + 0.28, 1.6), (cx - 0.28, 1.6), color=WEIGHT_COLORS["W"],
                  lw=2, mutation_scale=10)
    for name, xy in (("U", (5.45, 0.8)), ("W", (steps[-1] - 0.5, 1.95)), ("V", (5.45, 2.35))):
        ax2.text(*xy, f"${name}$", color=WEIGHT_COLORS[name], fontsize=12, ha="left",
                 va="center")
    ax2.set_title("recurrent: one $x_t$ at a time,\nthe same $U$, $W$, $V$ at every step",
                  fontsize=10)
    canvas((-0.5, 5.9), (-0.5, 3.5), ax=ax2)
    fig.tight_layout()
    return fig


def _step_names(T: int) -> list[str]:
    """Superscripts of T unrolled steps centred on t: t-1, t, t+1 for T = 3."""
    c = (T - 1) // 2
    return [("t" if j == c else f"t{j - c:+d}") for j in range(T)]


def draw_unrolled_rnn(T: int = 3) -> Figure:
    """Slide 3: the recurrent network folded (left: one cell, the loop through ``W`` with a
    one-step delay, the black square) and unrolled over ``T`` steps (right: one copy per step,
    all with the same ``U``, ``W``, ``V``; ``o`` and the target ``y`` give the loss ``L``).
    Returns the figure."""
    T = check_positive_int("T", T)
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, Rectangle
    from matplotlib.path import Path
    R = 0.42
    width = 2.4 * T + 3.2                  # data units of the unrolled panel; the folded has 2.7
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(round(0.84 * (2.7 + width), 1), 4.4), dpi=100,
                                   gridspec_kw={"width_ratios": [2.7, width]})
    wt = dict(trim=R, ha="left", label_offset=(0.1, 0.0))

    def column(ax, cx, sup, fs):
        s = f"^{{({sup})}}" if sup else ""
        node(ax, (cx, 0), f"$x{s}$", role="input", fontsize=fs)
        node(ax, (cx, 1.6), f"$h{s}$", role="hidden", fontsize=fs)
        node(ax, (cx, 3.2), f"$o{s}$", role="output", fontsize=fs)
        node(ax, (cx, 4.6), f"$L{s}$", role="loss", fontsize=fs)
        node(ax, (cx + 1.1, 4.6), f"$y{s}$", role="target", fontsize=fs)
        arrow(ax, (cx, 0), (cx, 1.6), "$U$", color=WEIGHT_COLORS["U"], **wt)
        arrow(ax, (cx, 1.6), (cx, 3.2), "$V$", color=WEIGHT_COLORS["V"], **wt)
        arrow(ax, (cx, 3.2), (cx, 4.6), trim=R)
        arrow(ax, (cx + 1.1, 4.6), (cx, 4.6), trim=R)

    column(ax1, 0.0, "", 11)       # folded: the loop h -> h through W, delayed one step
    loop = Path([(0.36, 1.82), (1.6, 2.7), (1.6, 0.5), (0.36, 1.38)],
                [Path.MOVETO, Path.CURVE4, Path.CURVE4, Path.CURVE4])
    ax1.add_patch(FancyArrowPatch(path=loop, arrowstyle="-|>", mutation_scale=12, lw=1.3,
                                  color=WEIGHT_COLORS["W"], zorder=2))
    ax1.add_patch(Rectangle((1.21, 1.52), 0.16, 0.16, color="black", zorder=3))
    ax1.text(1.45, 1.6, "$W$", fontsize=11, color=WEIGHT_COLORS["W"], va="center")
    ax1.set_title("folded", fontsize=11)
    canvas((-0.7, 2.0), (-0.6, 5.2), ax=ax1)
    xs = [2.2 + 2.4 * j for j in range(T)]
    for cx, sup in zip(xs, _step_names(T), strict=True):
        column(ax2, cx, sup, 9)
    ends = [0.0] + xs + [xs[-1] + 2.2]
    node(ax2, (ends[0], 1.6), r"$h^{(\dots)}$", fontsize=9)
    node(ax2, (ends[-1], 1.6), r"$h^{(\dots)}$", fontsize=9)
    for a, b in zip(ends[:-1], ends[1:], strict=True):
        arrow(ax2, (a, 1.6), (b, 1.6), "$W$", color=WEIGHT_COLORS["W"], trim=R,
              label_offset=(0.0, 0.25))
    ax2.set_title("unrolled: one copy of the cell per step, the same $U$, $W$, $V$ in every copy",
                  fontsize=11)
    canvas((-0.6, ends[-1] + 0.6), (-0.6, 5.2), ax=ax2)
    fig.tight_layout()
    # the "=" between the panels, placed after the layout is fixed
    p1, p2 = ax1.get_position(), ax2.get_position()
    fig.text((p1.x1 + p2.x0) / 2, 0.45, "=", fontsize=26, ha="center", va="center")
    return fig


def rnn_type_panel(ax: Axes, title: str, inputs: Iterable[int], outputs: Iterable[int],
                   n: int, *, feedback: Iterable[int] = (),
                   labels: Iterable[tuple[str, float]] = (),
                   tokens: Iterable[tuple[str, int, str]] = ()) -> Axes:
    """One type of RNN (slide 4) on ``ax``: ``n`` hidden-state boxes chained left to right,
    an input box below each step in ``inputs``, an output box above each step in
    ``outputs``, a dashed arrow from the output of each step in ``feedback`` to the next
    step, ``labels`` ``(text, x)`` written under the panel, and ``tokens``
    ``(role, step, text)`` written in the input or output box of a step (a decoder's start
    token ``<s>`` and end token ``</s>``). Returns ``ax``."""
    _check_ax(ax)
    n = check_positive_int("n", n)
    steps = {}
    for name, value in (("inputs", inputs), ("outputs", outputs), ("feedback", feedback)):
        steps[name] = set(value)
        bad = [t for t in steps[name] if not isinstance(t, numbers.Integral) or not 0 <= t < n]
        if bad:
            raise ValueError(f"{name}: expected steps in 0..{n - 1}, got {sorted(bad, key=str)}")
    if any(t + 1 >= n for t in steps["feedback"]):
        raise ValueError(f"feedback: the last step {n - 1} has no next step to feed")
    tokens = list(tokens)
    for token in tokens:
        role, t, text = token if isinstance(token, tuple) and len(token) == 3 else (None, None, None)
        box_steps = {"input": steps["inputs"], "output": steps["outputs"]}
        if role not in box_steps or t not in box_steps[role] or not isinstance(text, str):
            raise ValueError(f"tokens: expected (role, step, text) with role 'input' or 'output' and a "
                             f"step that has that box, got {token!r}")
    kw = dict(width=0.6, height=0.44)
    for t in range(n):
        box(ax, (t, 1), role="hidden", **kw)
        if t > 0:
            arrow(ax, (t - 0.7, 1), (t - 0.3, 1), lw=1, mutation_scale=9)
        if t in steps["inputs"]:
            box(ax, (t, 0), role="input", **kw)
            arrow(ax, (t, 0.22), (t, 0.78), lw=1, mutation_scale=9)
        if t in steps["outputs"]:
            box(ax, (t, 2), role="output", **kw)
            arrow(ax, (t, 1.22), (t, 1.78), lw=1, mutation_scale=9)
    for t in steps["feedback"]:
        arrow(ax, (t + 0.3, 2), (t + 0.88, 1.24), color="#555555", lw=0.9, ls="--",
              mutation_scale=8)
    for role, t, text in tokens:
        ax.text(t, 0 if role == "input" else 2, text, ha="center", va="center", fontsize=8)
    for text, x in labels:
        ax.text(x, -0.55, text, ha="center", va="top", fontsize=9, style="italic")
    ax.set_title(title, fontsize=10)
    canvas((-0.55, n - 0.45), (-0.9, 2.35), ax=ax)
    return ax


def draw_rnn_types() -> Figure:
    """The five types of RNN of slide 4 side by side, with a legend of the roles: one to one,
    one to many, many to one, many to many (aligned), many to many (encoder–decoder).
    Returns the figure."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 5, figsize=(13, 2.9), dpi=100,
                             gridspec_kw={"width_ratios": [1.1, 4.1, 4.1, 4.1, 6.1]})
    rnn_type_panel(axes[0], "one to one", {0}, {0}, 1)
    rnn_type_panel(axes[1], "one to many", {0}, {0, 1, 2, 3}, 4, feedback=(0, 1, 2))
    rnn_type_panel(axes[2], "many to one", {0, 1, 2, 3}, {3}, 4)
    rnn_type_panel(axes[3], "many to many (aligned)", {0, 1, 2, 3}, {0, 1, 2, 3}, 4)
    # The decoder starts from the start token and stops when it writes the end token (chapter 03).
    rnn_type_panel(axes[4], "many to many (encoder–decoder)", {0, 1, 2, 3}, {3, 4, 5}, 6,
                   feedback=(3, 4), labels=(("encoder", 1), ("decoder", 4)),
                   tokens=(("input", 3, "<s>"), ("output", 5, "</s>")))
    for role, label, x0 in (("input", "input $x^{(t)}$", 0.25),
                            ("hidden", "hidden state $h^{(t)}$", 0.4),
                            ("output", r"output $\hat y^{(t)}$", 0.57)):
        fig.text(x0, 0.05, "■", color=ROLE_COLORS[role], fontsize=16, ha="right", va="center")
        fig.text(x0 + 0.005, 0.05, label, fontsize=10, va="center")
    fig.text(0.72, 0.05, "- - ▸  output fed back as the next input", fontsize=10, va="center",
             color="#555555")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def draw_deep_rnn(T: int = 4) -> Figure:
    """Slide 7 unrolled over ``T`` steps: ``f_1`` carries ``h`` along the bottom row and reads
    ``x_t``; ``f_2`` carries ``g`` along the top row and reads ``y_t``, the output of ``f_1``
    at the same step; ``z_t`` leaves upward. Returns the figure."""
    T = check_positive_int("T", T)
    fig, ax = canvas((0, 2 * T + 1.2), (0, 5.2), figsize=(2.1 * T + 0.0, 4.6))
    X = [1.6 + 2 * t for t in range(T)]
    y1, y2 = 2.0, 3.6
    for t, x in enumerate(X, start=1):
        ax.text(x, 0.45, f"$x_{{{t}}}$", ha="center", va="center", fontsize=13)
        arrow(ax, (x, 0.7), (x, y1 - 0.3))
        box(ax, (x, y1), "$f_1$", role="hidden")
        arrow(ax, (x, y1 + 0.3), (x, y2 - 0.3), f"$y_{{{t}}}$", label_offset=(0.25, 0.0),
              fontsize=10)
        box(ax, (x, y2), "$f_2$", role="hidden2")
        arrow(ax, (x, y2 + 0.3), (x, 4.75))
        ax.text(x, 4.95, f"$z_{{{t}}}$", ha="center", va="center", fontsize=13)
    for y, s, role in ((y1, "h", "hidden"), (y2, "g", "hidden2")):
        kw = dict(color=STATE_COLORS[role], label_offset=(0.0, 0.12), va="bottom", fontsize=10)
        arrow(ax, (0.15, y), (X[0] - 0.45, y), f"${s}_0$", **kw)
        for t in range(T - 1):
            arrow(ax, (X[t] + 0.45, y), (X[t + 1] - 0.45, y), f"${s}_{{{t + 1}}}$", **kw)
        arrow(ax, (X[-1] + 0.45, y), (X[-1] + 1.25, y), f"${s}_{{{T}}}$", **kw)
    fig.tight_layout()
    return fig


def draw_bidirectional_rnn(T: int = 4) -> Figure:
    """Slide 8 unrolled over ``T`` steps: ``f_1`` reads ``x`` from left to right (state ``h``,
    bottom row), ``f_2`` from right to left (state ``g``, top row, from ``g_{T+1}`` to
    ``g_1``); both read the same ``x_t`` and the output at step ``t`` is ``[y_t; z_t]``.
    Returns the figure."""
    T = check_positive_int("T", T)
    fig, ax = canvas((0, 2.4 * T + 1.0), (0, 5.3), figsize=(2.25 * T, 5))
    X = [1.5 + 2.4 * t for t in range(T)]
    y1, y2, w = 2.0, 3.3, 0.8
    c1, c2 = STATE_COLORS["hidden"], STATE_COLORS["hidden2"]
    below = dict(label_offset=(0.0, -0.12), va="top", fontsize=10)
    above = dict(label_offset=(0.0, 0.12), va="bottom", fontsize=10)
    for t, x in enumerate(X, start=1):
        ax.text(x, 0.45, f"$x_{{{t}}}$", ha="center", va="center", fontsize=13)
        box(ax, (x - 0.5, y1), "$f_1$", role="hidden", width=w)
        box(ax, (x + 0.5, y2), "$f_2$", role="hidden2", width=w)
        arrow(ax, (x - 0.1, 0.7), (x - 0.45, y1 - 0.3))
        arrow(ax, (x + 0.1, 0.7), (x + 0.5, y2 - 0.3))
        arrow(ax, (x - 0.5, y1 + 0.3), (x - 0.12, 4.5), f"$y_{{{t}}}$", label_at=0.2,
              label_offset=(-0.2, 0.0), fontsize=10)
        arrow(ax, (x + 0.5, y2 + 0.3), (x + 0.12, 4.5), f"$z_{{{t}}}$", label_at=0.35,
              label_offset=(0.28, 0.0), fontsize=10)
        ax.text(x, 4.75, f"$[y_{{{t}}}; z_{{{t}}}]$", ha="center", va="center", fontsize=12)
    arrow(ax, (0.1, y1), (X[0] - 0.5 - w / 2, y1), "$h_0$", color=c1, **above)
    arrow(ax, (X[-1] + 0.5 + w / 2 + 0.9, y2), (X[-1] + 0.5 + w / 2, y2), f"$g_{{{T + 1}}}$",
          color=c2, **below)
    for t in range(T - 1):
        arrow(ax, (X[t] - 0.5 + w / 2, y1), (X[t + 1] - 0.5 - w / 2, y1), f"$h_{{{t + 1}}}$",
              color=c1, **above)
        arrow(ax, (X[t + 1] + 0.5 - w / 2, y2), (X[t] + 0.5 + w / 2, y2), f"$g_{{{t + 2}}}$",
              color=c2, **below)
    arrow(ax, (X[-1] - 0.5 + w / 2, y1), (X[-1] + 0.6, y1), f"$h_{{{T}}}$", color=c1, **above)
    arrow(ax, (X[0] + 0.5 - w / 2, y2), (X[0] - 0.6, y2), "$g_1$", color=c2, **below)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- cell diagrams
class _Cell:
    """Draws one cell diagram: every element carries the tags of the equations it belongs
    to, and ``highlight`` decides from them whether it is normal, highlighted or dimmed."""

    # the frame shared by the three cells, so that they line up side by side
    Y_STATE, Y_BUS, Y_GATE = 5.0, 1.0, 2.6     # the carried-state line, the input bus, gates
    X_IN, X_X, X_OUT, X_END = -1.2, 1.0, 11.0, 13.2

    def __init__(self, ax, highlight, title):
        _check_ax(ax)
        _check_title(title)
        from matplotlib.patches import FancyBboxPatch
        self.ax, self.highlight, self.title = ax, highlight, title
        ax.add_patch(FancyBboxPatch((0, 0), 12, 6, boxstyle="round,pad=0.1,rounding_size=0.5",
                                    fc=_CELL[0], ec=_CELL[1], lw=1.5, zorder=0))

    def state(self, tags) -> str:
        if self.highlight is None:
            return "normal"
        if self.highlight == "peephole":       # the peephole lines in red, the rest as normal
            return "highlight" if "peephole" in tags else "normal"
        return "highlight" if self.highlight in tags else "dim"

    def wire(self, pts, tags, **kw):
        return wire(self.ax, pts, state=self.state(tags), **kw)

    def wire_upto(self, start, end, tags, stops, **kw):
        """A straight line from ``start`` to ``end`` that the paths in ``tags`` read, where a
        path in ``stops`` reads it only up to the point ``stops[path]`` (the last gate on that
        path): with that path highlighted, the whole line is drawn dimmed and the red part,
        from ``start`` to the stop, over it, so that no red runs on past the path's last gate."""
        stop = stops.get(self.highlight)
        if stop is None or self.state(tags) != "highlight":
            return self.wire([start, end], tags, **kw)
        self.wire([start, end], set(), **kw)              # no tags: dimmed, in full
        kw.pop("head", None)
        return self.wire([start, stop], tags, head=False, **kw)

    def layer(self, xy, op, name, tags):
        return layer_box(self.ax, xy, op, name, state=self.state(tags))

    def op(self, xy, sym, tags, **kw):
        return pointwise_op(self.ax, xy, sym, state=self.state(tags), **kw)

    def dot(self, xy, tags):
        from matplotlib.patches import Circle
        self.ax.add_patch(Circle(xy, 0.07, color=_state_color(self.state(tags)), zorder=2))

    def label(self, xy, text, tags, fontsize=13, **kw):
        st = self.state(tags)
        color = {"normal": BASE, "highlight": HL, "dim": DIM_TEXT}[st]
        self.ax.text(*xy, text, fontsize=fontsize, color=color, zorder=5, **kw)

    def inputs(self, tags, bus_end, stops=None):
        """h_{t-1} from the left and x_t from below, joined into the bus [h_{t-1}, x_t]; a
        path in ``stops`` reads the bus only up to the x of its last gate, ``stops[path]``."""
        yB = self.Y_BUS
        self.wire_upto((self.X_IN, yB), (bus_end, yB), tags,
                       {path: (x, yB) for path, x in (stops or {}).items()}, head=False)
        self.wire([(self.X_X, -1.2), (self.X_X, yB)], tags, head=False)
        self.label((self.X_IN - 0.1, yB - 0.55), "$h_{t-1}$", tags, ha="left")
        self.label((self.X_X + 0.2, -1.1), "$x_t$", tags, ha="left")

    def outputs(self, start, y, tags):
        """h_t leaves at the right and upward (as the output and as the next step's state)."""
        self.wire([start, (self.X_END, y)], tags)
        self.wire([(self.X_OUT, y), (self.X_OUT, 7.2)], tags)
        self.label((self.X_END, y - 0.6), "$h_t$", tags, ha="right")
        self.label((self.X_OUT + 0.15, 6.9), "$h_t$", tags, ha="left")

    def finish(self):
        ax = self.ax
        ax.set_xlim(-1.6, 13.6)
        ax.set_ylim(-1.5, 7.4)
        ax.set_aspect("equal")
        ax.axis("off")
        if self.title:
            ax.set_title(self.title, fontsize=12)
        return ax


def draw_rnn_cell(ax: Axes, title: str | None = None) -> Axes:
    """The vanilla RNN cell of slides 5 and 11(a), one ``tanh`` layer:

    a_t = b + W h_{t-1} + U x_t,    h_t = tanh(a_t).

    ``h_{t-1}`` and ``x_t`` enter at the bottom left, as in :func:`draw_lstm_cell`; ``h_t``
    leaves at the right and upward. Returns ``ax``.
    """
    c = _Cell(ax, None, title)
    all_ = {"rnn"}
    xg, yG = 6.0, c.Y_GATE
    c.inputs(all_, xg)
    c.wire([(xg, c.Y_BUS), (xg, yG - 0.35)], all_)
    c.layer((xg, yG), "tanh", None, all_)
    c.label((xg + 0.2, 1.55), "$a_t = b + W h_{t-1} + U x_t$", all_, fontsize=10, ha="left")
    c.label((xg + 0.2, 3.35), r"$h_t = \tanh(a_t)$", all_, fontsize=10, ha="left")
    c.wire([(xg, yG + 0.35), (xg, 3.1), (10.1, 3.1), (10.1, c.Y_BUS - 0.35)], all_, head=False)
    c.outputs((10.1, c.Y_BUS - 0.35), c.Y_BUS - 0.35, all_)
    return c.finish()


def draw_lstm_cell(ax: Axes, highlight: str | None = None, peephole: bool = False,
                   title: str | None = None) -> Axes:
    """One LSTM cell of slide 10 (Olah's figure), in the visual language of this module:

    f_t = σ(W_f·[h_{t-1}, x_t] + b_f),  i_t = σ(W_i·[h_{t-1}, x_t] + b_i),
    C̃_t = tanh(W_C·[h_{t-1}, x_t] + b_C),  C_t = f_t * C_{t-1} + i_t * C̃_t,
    o_t = σ(W_o·[h_{t-1}, x_t] + b_o),  h_t = o_t * tanh(C_t).

    highlight: None, or one of "cell", "forget", "input", "update", "output" (slide 15's
    steps): that path is drawn in red and the rest dimmed; "peephole" draws only the peephole
    connections in red.
    peephole: also draw slide 12's peephole connections (dashed): f_t and i_t read C_{t-1},
    o_t reads C_t.
    Returns ``ax``.
    """
    check_choice("highlight", highlight, LSTM_HIGHLIGHTS)
    peephole = check_bool("peephole", peephole)
    c = _Cell(ax, highlight, title)
    yC, yB, yG, yM = c.Y_STATE, c.Y_BUS, c.Y_GATE, 3.85
    xf, xi, xg, xo, xt = 2.6, 4.6, 6.4, 8.6, 10.1
    xp, xpo = 1.6, 7.5                       # where the peepholes tap C_{t-1} and C_t
    cell = {"cell", "update", "output"}
    # the cell state: the thick line along the top; with peepholes the input gate reads
    # C_{t-1} up to its tap; step 4 reads C_t only up to tanh(C_t)
    c_prev = {"cell", "forget", "update"} | ({"input"} if peephole else set())
    c.wire_upto((c.X_IN, yC), (xf - 0.28, yC), c_prev, {"input": (xp, yC)}, head=False, lw=3)
    c.wire([(xf + 0.28, yC), (xg - 0.28, yC)], {"cell", "update"}, head=False, lw=3)
    c.wire_upto((xg + 0.28, yC), (c.X_END, yC), cell, {"output": (xt, yC)}, lw=3)
    c.label((c.X_IN - 0.1, yC + 0.35), "$C_{t-1}$", c_prev, ha="left")
    c.label((c.X_END, yC + 0.35), "$C_t$", {"cell", "update"}, ha="right")
    # the bus [h_{t-1}, x_t], read by each step up to its last gate: f_t; i_t and C~_t; o_t
    c.inputs({"forget", "input", "output"}, xo, stops={"forget": xf, "input": xg})
    for x0, tags in ((xf, {"forget"}), (xi, {"input"}), (xg, {"input"}), (xo, {"output"})):
        c.wire([(x0, yB), (x0, yG - 0.35)], tags)
    # forget gate -> × on the cell line
    c.layer((xf, yG), "σ", "$f_t$", {"forget", "update"})
    c.wire([(xf, yG + 0.35), (xf, yC - 0.28)], {"forget", "update"})
    c.op((xf, yC), "×", {"cell", "forget", "update"})
    # input gate and candidate -> × -> + on the cell line
    c.layer((xi, yG), "σ", "$i_t$", {"input", "update"})
    c.layer((xg, yG), "tanh", r"$\tilde C_t$", {"input", "update"})
    c.wire([(xi, yG + 0.35), (xi, yM), (xg - 0.28, yM)], {"input", "update"})
    c.wire([(xg, yG + 0.35), (xg, yM - 0.28)], {"input", "update"})
    c.op((xg, yM), "×", {"input", "update"})
    c.wire([(xg, yM + 0.28), (xg, yC - 0.28)], {"update"})
    c.op((xg, yC), "+", {"cell", "update"})
    # output: tanh(C_t) (a pointwise op: no weights), o_t, ×, h_t
    c.layer((xo, yG), "σ", "$o_t$", {"output"})
    c.op((xt, yM), "tanh", {"output"})
    c.wire([(xt, yC), (xt, yM + 0.28)], {"output"})
    c.wire([(xt, yM - 0.28), (xt, yG + 0.28)], {"output"})
    c.wire([(xo + 0.5, yG), (xt - 0.28, yG)], {"output"})
    c.op((xt, yG), "×", {"output"})
    c.wire([(xt, yG - 0.28), (xt, yB - 0.35)], {"output"}, head=False)
    c.outputs((xt, yB - 0.35), yB - 0.35, {"output"})
    if peephole:   # slide 12: f and i see C_{t-1}, o sees C_t
        pk = dict(ls=(0, (3, 2)), lw=1.6)
        yp = 3.4
        # C_{t-1} down to the corner above f_t, shared by f_t and i_t, then to each of them
        c.wire([(xp, yC), (xp, yp), (xf - 0.3, yp)], {"forget", "input", "peephole"},
               head=False, **pk)
        c.wire([(xf - 0.3, yp), (xf - 0.3, yG + 0.36)], {"forget", "peephole"}, **pk)
        c.wire([(xf - 0.3, yp), (xi - 0.3, yp), (xi - 0.3, yG + 0.36)], {"input", "peephole"}, **pk)
        c.wire([(xpo, yC), (xpo, yp), (xo - 0.3, yp), (xo - 0.3, yG + 0.36)],
               {"output", "peephole"}, **pk)
        c.label((xp + 0.1, 4.3), "$C_{t-1}$", {"forget", "input", "peephole"}, fontsize=10,
                ha="left")
        c.label((xpo + 0.1, 4.3), "$C_t$", {"output", "peephole"}, fontsize=10, ha="left")
    return c.finish()


def draw_gru_cell(ax: Axes, highlight: str | None = None, title: str | None = None) -> Axes:
    """The GRU cell of slide 16, in the visual language of :func:`draw_lstm_cell`:

    z_t = σ(W_z·[h_{t-1}, x_t]),  r_t = σ(W_r·[h_{t-1}, x_t]),
    h̃_t = tanh(W·[r_t * h_{t-1}, x_t]),  h_t = (1 - z_t) * h_{t-1} + z_t * h̃_t.

    The state ``h`` runs along the top (the LSTM's cell line: the GRU has no second state);
    ``h_{t-1}`` also feeds the gates' bus ``[h_{t-1}, x_t]`` and the reset ``r_t * h_{t-1}``,
    which passes over the update gate's line to the candidate layer; ``x_t`` reaches the
    candidate on its own line. ``highlight``: None, or one of "update", "reset", "candidate",
    "hidden" (one equation each): that path in red, the rest dimmed. Returns ``ax``.
    """
    check_choice("highlight", highlight, GRU_HIGHLIGHTS)
    c = _Cell(ax, highlight, title)
    yC, yB = c.Y_STATE, 0.8
    yG, yRH, yJ, yOne = 1.9, 3.0, 3.55, 4.2       # gates, r * h, z's junction, 1 - z
    xL, xR, xZ, xN = 0.4, 2.6, 5.4, 8.6            # h_{t-1} down, reset, update, candidate
    gates, reads_h = {"update", "reset"}, {"update", "reset", "candidate"}
    # the state h along the top: × (1 - z_t), + z_t * h_tilde_t; the gates and the candidate
    # read h_{t-1} from it up to where it turns down the left side
    c.wire_upto((c.X_IN, yC), (xZ - 0.28, yC), {"hidden"} | reads_h,
                dict.fromkeys(reads_h, (xL, yC)), head=False, lw=3)
    c.wire([(xZ + 0.28, yC), (xN - 0.28, yC)], {"hidden"}, head=False, lw=3)
    c.wire([(xN + 0.28, yC), (c.X_END, yC)], {"hidden"}, lw=3)
    c.wire([(c.X_OUT, yC), (c.X_OUT, 7.2)], {"hidden"})
    c.label((c.X_IN - 0.1, yC + 0.35), "$h_{t-1}$", {"hidden"} | reads_h, ha="left")
    c.label((c.X_END, yC + 0.35), "$h_t$", {"hidden"}, ha="right")
    c.label((c.X_OUT + 0.15, 6.9), "$h_t$", {"hidden"}, ha="left")
    # h_{t-1} down the left side: to r_t * h_{t-1} and into the gates' bus
    c.dot((xL, yC), reads_h)
    c.wire([(xL, yC), (xL, yRH)], reads_h, head=False)
    c.wire([(xL, yRH), (xL, yB)], gates, head=False)
    c.dot((xL, yRH), {"candidate"})
    c.wire([(xL, yRH), (xR - 0.28, yRH)], {"candidate"})
    # the gates' bus, read by r_t up to its gate and by z_t to the end
    c.wire_upto((xL, yB), (xZ, yB), gates, {"reset": (xR, yB)}, head=False)
    c.label(((xR + xZ) / 2, yB + 0.1), "$[h_{t-1}, x_t]$", gates, fontsize=10, ha="center",
            va="bottom")
    # x_t from below: into the bus, and on its own line (from y = 0.3) to the candidate
    c.wire_upto((c.X_X, -1.2), (c.X_X, yB), reads_h, {"candidate": (c.X_X, 0.3)}, head=False)
    c.label((c.X_X + 0.2, -1.1), "$x_t$", reads_h, ha="left")
    c.dot((c.X_X, 0.3), {"candidate"})
    c.wire([(c.X_X, 0.3), (xN, 0.3), (xN, yG - 0.35)], {"candidate"})
    # reset gate r_t, and r_t * h_{t-1} to the candidate (over the update gate's line)
    c.wire([(xR, yB), (xR, yG - 0.35)], {"reset"})
    c.layer((xR, yG), "σ", "$r_t$", {"reset", "candidate"})
    c.wire([(xR, yG + 0.35), (xR, yRH - 0.28)], {"reset", "candidate"})
    c.op((xR, yRH), "×", {"candidate"})
    c.label((xR + 0.4, yRH + 0.12), "$r_t * h_{t-1}$", {"candidate"}, fontsize=10)
    # update gate z_t: 1 - z_t scales h_{t-1}, z_t scales the candidate
    c.wire([(xZ, yB), (xZ, yG - 0.35)], {"update"})
    c.layer((xZ, yG), "σ", "$z_t$", {"update", "hidden"})
    c.wire([(xZ, yG + 0.35), (xZ, yJ)], {"update", "hidden"}, head=False)
    c.dot((xZ, yJ), {"hidden"})
    c.wire([(xZ, yJ), (xZ, yOne - 0.25)], {"hidden"})
    c.op((xZ, yOne), "1−", {"hidden"}, radius=0.25)
    c.wire([(xZ, yOne + 0.25), (xZ, yC - 0.28)], {"hidden"})
    c.op((xZ, yC), "×", {"hidden"})
    c.wire([(xZ, yJ), (xN - 0.28, yJ)], {"hidden"})
    c.wire([(xR + 0.28, yRH), (xN - 0.3, yRH), (xN - 0.3, yG + 0.35)], {"candidate"},
           bridge=True)
    # the candidate h_tilde_t, z_t * h_tilde_t, and the sum on the state line
    c.layer((xN, yG), "tanh", r"$\tilde h_t$", {"candidate", "hidden"})
    c.wire([(xN, yG + 0.35), (xN, yJ - 0.28)], {"candidate", "hidden"})
    c.op((xN, yJ), "×", {"hidden"})
    c.wire([(xN, yJ + 0.28), (xN, yC - 0.28)], {"hidden"})
    c.op((xN, yC), "+", {"hidden"})
    return c.finish()
