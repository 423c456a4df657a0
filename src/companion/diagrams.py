"""Cell diagrams in the style of the slides, drawn with matplotlib on a given Axes.

The LSTM chapter draws the slides' "information flow" sequence (slide 15) by
calling :func:`draw_lstm_cell` once per step with that step's path
highlighted; the peephole chapter adds the peephole connections (slide 12).
matplotlib is imported when a function is called, not with ``companion``.
"""
from __future__ import annotations

__all__ = ["draw_lstm_cell", "draw_rnn_cell"]

HL, BASE, DIM = "#d62728", "#222222", "#c8c8c8"          # highlighted, normal, dimmed


def draw_lstm_cell(ax, highlight=None, peephole=False, title=None):
    """One LSTM cell in the style of the slides (Colah's figures).

    highlight: None, or one of "cell", "forget", "input", "update", "output":
    the path of that step is drawn in red, the rest is dimmed; "peephole" draws
    only the peephole connections in red.
    peephole: also draw the peephole connections of slide 12 (dashed).
    """
    from matplotlib.patches import Circle, Ellipse, FancyBboxPatch

    def col(tags, normal=BASE):
        if highlight is None:
            return normal
        if highlight == "peephole":          # the peephole lines in red, the rest as normal
            return HL if "peephole" in tags else normal
        return HL if highlight in tags else DIM

    def line(pts, tags, arrow=True, ls="-", lw=2.0):
        c = col(tags)
        xs, ys = zip(*pts)
        ax.plot(xs[:-1] + (xs[-1],), ys, color=c, lw=lw + (1.2 if c == HL else 0), ls=ls,
                solid_capstyle="round", zorder=1)
        if arrow:
            ax.annotate("", xy=pts[-1], xytext=pts[-2], zorder=1,
                        arrowprops=dict(arrowstyle="-|>", color=c, lw=0, mutation_scale=16,
                                        shrinkA=0, shrinkB=0))

    def gate(xy, label, name, tags):
        c = col(tags, "#f0c419")
        fill = "#ffd0d0" if c == HL else ("#f2f2f2" if c == DIM else "#fde9a9")
        ax.add_patch(FancyBboxPatch((xy[0] - 0.5, xy[1] - 0.35), 1.0, 0.7, zorder=3,
                                    boxstyle="round,pad=0.02,rounding_size=0.12", fc=fill,
                                    ec=c if c != DIM else DIM, lw=1.6))
        ax.text(*xy, label, ha="center", va="center", fontsize=12, zorder=4,
                color=BASE if c != DIM else "#999999")
        ax.text(xy[0] - 0.6, xy[1] - 0.05, name, ha="right", va="center", fontsize=12, zorder=4,
                color=HL if c == HL else ("#999999" if c == DIM else BASE))

    def node(xy, sym, tags):
        c = col(tags, "#c2185b")
        ax.add_patch(Circle(xy, 0.28, fc="#f8d7e6" if c != DIM else "#f2f2f2",
                            ec=c, lw=1.6 + (1 if c == HL else 0), zorder=3))
        ax.text(*xy, sym, ha="center", va="center", fontsize=13, zorder=4,
                color=c if c != DIM else "#999999")

    def label(xy, text, tags, fontsize=13, **kw):
        c = col(tags)
        ax.text(*xy, text, fontsize=fontsize, color=HL if c == HL else (BASE if c == BASE else "#999999"), **kw)

    ax.add_patch(FancyBboxPatch((0, 0), 12, 6, boxstyle="round,pad=0.1,rounding_size=0.5",
                                fc="#eef3fb", ec="#8fa8cc", lw=1.5, zorder=0))
    yC, yB, yG = 5.0, 1.0, 2.6        # cell line, input bus, gate row
    xf, xi, xg, xo, xt, xh, xe = 2.6, 4.6, 6.4, 8.6, 10.1, 11.0, 13.2
    # the cell state: the line along the top
    line([(-1.2, yC), (xf - 0.28, yC)], {"cell", "forget", "update"}, arrow=False)
    line([(xf + 0.28, yC), (xg - 0.28, yC)], {"cell", "update"}, arrow=False)
    line([(xg + 0.28, yC), (xe, yC)], {"cell", "update", "output"})
    label((-1.3, yC + 0.35), "$C_{t-1}$", {"cell", "forget", "update"}, ha="left")
    label((xe, yC + 0.35), "$C_t$", {"cell", "update"}, ha="right")
    # inputs: h_{t-1} from the left, x_t from below, one bus [h_{t-1}, x_t]
    bus = {"forget", "input", "output"}
    line([(-1.2, yB), (xo, yB)], bus, arrow=False)
    line([(1.0, -1.2), (1.0, yB)], bus, arrow=False)
    label((-1.3, yB - 0.55), "$h_{t-1}$", bus, ha="left")
    label((1.2, -1.1), "$x_t$", bus, ha="left")
    for x0, tags in ((xf, {"forget"}), (xi, {"input"}), (xg, {"input"}), (xo, {"output"})):
        line([(x0, yB), (x0, yG - 0.35)], tags)
    # forget gate -> x on the cell line
    gate((xf, yG), "σ", "$f_t$", {"forget", "update"})
    line([(xf, yG + 0.35), (xf, yC - 0.28)], {"forget", "update"})
    node((xf, yC), "×", {"cell", "forget", "update"})
    # input gate and candidate -> x -> + on the cell line
    yM = 3.85
    gate((xi, yG), "σ", "$i_t$", {"input", "update"})
    gate((xg, yG), "tanh", r"$\tilde C_t$", {"input", "update"})
    line([(xi, yG + 0.35), (xi, yM), (xg - 0.28, yM)], {"input", "update"})
    line([(xg, yG + 0.35), (xg, yM - 0.28)], {"input", "update"})
    node((xg, yM), "×", {"input", "update"})
    line([(xg, yM + 0.28), (xg, yC - 0.28)], {"update"})
    node((xg, yC), "+", {"cell", "update"})
    # output: tanh(C_t), o_t, x, h_t
    gate((xo, yG), "σ", "$o_t$", {"output"})
    c_out = col({"output"}, "#f0c419")
    ax.add_patch(Ellipse((xt, 3.85), 1.1, 0.6, ec=c_out, lw=1.6, zorder=3,
                         fc="#ffd0d0" if c_out == HL else ("#f2f2f2" if c_out == DIM else "#fde9a9")))
    ax.text(xt, 3.85, "tanh", ha="center", va="center", fontsize=11, zorder=4,
            color="#999999" if c_out == DIM else BASE)
    line([(xt, yC), (xt, 3.85 + 0.3)], {"output"})
    line([(xt, 3.85 - 0.3), (xt, yG + 0.28)], {"output"})
    line([(xo + 0.5, yG), (xt - 0.28, yG)], {"output"})
    node((xt, yG), "×", {"output"})
    line([(xt, yG - 0.28), (xt, yB - 0.35), (xe, yB - 0.35)], {"output"})
    line([(xh, yB - 0.35), (xh, 7.2)], {"output"})
    label((xe, yB - 0.95), "$h_t$", {"output"}, ha="right")
    label((xh + 0.15, 6.9), "$h_t$", {"output"}, ha="left")
    if peephole:   # slide 12: f and i see C_{t-1}, o sees C_t
        pk = dict(ls=(0, (3, 2)), lw=1.6)
        yp = 3.4
        line([(1.6, yC), (1.6, yp), (xf - 0.3, yp), (xf - 0.3, yG + 0.36)], {"forget", "peephole"}, **pk)
        line([(xf - 0.3, yp), (xi - 0.3, yp), (xi - 0.3, yG + 0.36)], {"input", "peephole"}, **pk)
        line([(7.5, yC), (7.5, yp), (xo - 0.3, yp), (xo - 0.3, yG + 0.36)], {"output", "peephole"}, **pk)
        label((1.7, 4.3), "$C_{t-1}$", {"forget", "input", "peephole"}, fontsize=10, ha="left")
        label((7.6, 4.3), "$C_t$", {"output", "peephole"}, fontsize=10, ha="left")
    _frame(ax, title)


def draw_rnn_cell(ax, title=None):
    """The vanilla RNN cell of slide 5: h_t = tanh(W h_{t-1} + U x_t + b)."""
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((0, 0), 12, 6, boxstyle="round,pad=0.1,rounding_size=0.5",
                                fc="#eef3fb", ec="#8fa8cc", lw=1.5, zorder=0))
    def arrow(pts):
        xs, ys = zip(*pts)
        ax.plot(xs, ys, color=BASE, lw=2, zorder=1)
        ax.annotate("", xy=pts[-1], xytext=pts[-2],
                    arrowprops=dict(arrowstyle="-|>", color=BASE, lw=0, mutation_scale=16, shrinkA=0, shrinkB=0))
    arrow([(-1.2, 1.0), (6.0, 1.0), (6.0, 2.25)])
    arrow([(1.0, -1.2), (1.0, 1.0)])
    ax.add_patch(FancyBboxPatch((5.4, 2.25), 1.2, 0.7, boxstyle="round,pad=0.02,rounding_size=0.12",
                                fc="#fde9a9", ec="#f0c419", lw=1.6, zorder=3))
    ax.text(6.0, 2.6, "tanh", ha="center", va="center", fontsize=12, zorder=4)
    arrow([(6.0, 2.95), (6.0, 4.2), (13.2, 4.2)])
    arrow([(11.0, 4.2), (11.0, 7.2)])
    ax.text(-1.3, 0.45, "$h_{t-1}$", fontsize=13)
    ax.text(1.2, -1.1, "$x_t$", fontsize=13)
    ax.text(13.2, 3.6, "$h_t$", fontsize=13, ha="right")
    ax.text(11.15, 6.9, "$h_t$", fontsize=13)
    ax.text(6.3, 1.35, "$W h_{t-1} + U x_t + b$", fontsize=10, color="#555555")
    _frame(ax, title)


def _frame(ax, title):
    """The same drawing area for every cell diagram, so figures line up side by side."""
    ax.set_xlim(-1.6, 13.6)
    ax.set_ylim(-1.5, 7.4)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=12)
