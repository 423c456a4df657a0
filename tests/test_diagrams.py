"""companion.diagrams: every primitive and layout draws and returns what it documents, bad
arguments are refused naming the argument, the cell diagrams hold the labels of their
equations and highlight the right path, and no test leaves a figure open."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from companion import diagrams
from companion.diagrams import BASE, DIM, HL


@pytest.fixture(autouse=True)
def no_figure_left_open():
    plt.close("all")
    yield
    assert plt.get_fignums() == [], "a test or a diagram left a figure open"


def _line_colors(ax):
    return {matplotlib.colors.to_hex(line.get_color()) for line in ax.lines}


def _texts(ax):
    return {t.get_text() for t in ax.texts}


def _all_texts(fig):
    return {t.get_text() for ax in fig.axes for t in ax.texts} | {t.get_text() for t in fig.texts}


def _new_ax():
    fig, ax = plt.subplots()
    return fig, ax


# --------------------------------------------------------------------------- primitives
def test_canvas_new_and_existing_axes():
    fig, ax = diagrams.canvas((0, 4), (-1, 2), figsize=(4, 2))
    assert isinstance(fig, Figure) and isinstance(ax, Axes)
    assert ax.get_xlim() == (0, 4) and ax.get_ylim() == (-1, 2) and not ax.axison
    plt.close(fig)
    fig, ax = _new_ax()
    assert diagrams.canvas((0, 1), (0, 1), ax=ax) == (fig, ax)
    plt.close(fig)


def test_node_box_arrow_return_their_patches():
    fig, ax = _new_ax()
    c = diagrams.node(ax, (0, 0), "$h$", role="hidden", radius=0.5)
    b = diagrams.box(ax, (2, 0), "$f_1$", role="hidden2", width=1.0, height=0.5)
    a = diagrams.arrow(ax, (0, 0), (2, 0), "$W$", trim=0.5, color=diagrams.WEIGHT_COLORS["W"])
    assert isinstance(c, Circle) and c.radius == 0.5
    assert matplotlib.colors.to_hex(c.get_facecolor()) == diagrams.ROLE_COLORS["hidden"]
    assert isinstance(b, FancyBboxPatch)
    assert matplotlib.colors.to_hex(b.get_facecolor()) == diagrams.ROLE_COLORS["hidden2"]
    assert isinstance(a, FancyArrowPatch)
    assert {"$h$", "$f_1$", "$W$"} <= _texts(ax)
    # the arrow is cut back by trim at both ends: it runs from x = 0.5 to x = 1.5
    (x0, _), (x1, _) = a._posA_posB
    assert (x0, x1) == pytest.approx((0.5, 1.5))
    plt.close(fig)


def test_cell_primitives_take_the_state_colour():
    fig, ax = _new_ax()
    line = diagrams.wire(ax, [(0, 0), (1, 0), (1, 1)], state="highlight")
    assert isinstance(line, Line2D) and matplotlib.colors.to_hex(line.get_color()) == HL
    assert matplotlib.colors.to_hex(diagrams.wire(ax, [(0, 0), (1, 0)], state="dim").get_color()) == DIM
    box = diagrams.layer_box(ax, (0, 0), "σ", "$f_t$")
    op = diagrams.pointwise_op(ax, (1, 1), "×")
    assert isinstance(box, FancyBboxPatch) and isinstance(op, Circle)
    assert {"σ", "$f_t$", "×"} <= _texts(ax)
    plt.close(fig)


@pytest.mark.parametrize("call, name", [
    (lambda ax: diagrams.canvas((1, 0), (0, 1)), "xlim"),
    (lambda ax: diagrams.canvas((0, 1), (0, 1, 2)), "ylim"),
    (lambda ax: diagrams.node("not an axes", (0, 0)), "ax"),
    (lambda ax: diagrams.node(ax, (0, "a")), "xy"),
    (lambda ax: diagrams.node(ax, (0, 0), role="weight"), "role"),
    (lambda ax: diagrams.node(ax, (0, 0), radius=0), "radius"),
    (lambda ax: diagrams.box(ax, (0, 0), width=-1), "width"),
    (lambda ax: diagrams.arrow(ax, (0, 0), (1, 0), trim=0.6), "trim"),
    (lambda ax: diagrams.arrow(ax, (0, 0), (1, 0), "$W$", label_at=1.5), "label_at"),
    (lambda ax: diagrams.wire(ax, [(0, 0)]), "points"),
    (lambda ax: diagrams.wire(ax, [(0, 0), (1, 1)], state="red"), "state"),
    (lambda ax: diagrams.layer_box(ax, (0, 0), "relu"), "op"),
    (lambda ax: diagrams.pointwise_op(ax, (0, 0), "-"), "op"),
    (lambda ax: diagrams.rnn_type_panel(ax, "t", {0}, {4}, 4), "outputs"),
    (lambda ax: diagrams.rnn_type_panel(ax, "t", {0}, {0}, 2, feedback=(1,)), "feedback"),
    (lambda ax: diagrams.rnn_type_panel(ax, "t", {0}, {0}, 0), "n"),
    (lambda ax: diagrams.rnn_type_panel(ax, "t", {0}, {1}, 2, tokens=(("input", 1, "<s>"),)), "tokens"),
    (lambda ax: diagrams.rnn_type_panel(ax, "t", {0}, {1}, 2, tokens=(("hidden", 0, "<s>"),)), "tokens"),
    (lambda ax: diagrams.rnn_type_panel(ax, "t", {0}, {1}, 2, tokens=("<s>",)), "tokens"),
    (lambda ax: diagrams.draw_lstm_cell(ax, highlight="gate"), "highlight"),
    (lambda ax: diagrams.draw_lstm_cell(ax, peephole="yes"), "peephole"),
    (lambda ax: diagrams.draw_gru_cell(ax, highlight="forget"), "highlight"),
    (lambda ax: diagrams.draw_gru_cell(None), "ax"),
    (lambda ax: diagrams.draw_rnn_cell(ax, title=3), "title"),
])
def test_primitives_refuse_bad_arguments(call, name):
    fig, ax = _new_ax()
    n_children = len(ax.get_children())
    with pytest.raises(ValueError, match=rf"^{name}: "):
        call(ax)
    assert len(ax.get_children()) == n_children       # refused before anything is drawn
    plt.close(fig)


# --------------------------------------------------------------------------- layouts
LAYOUTS = {
    "fc_vs_rnn": (lambda: diagrams.draw_fc_vs_rnn(), 2, {"$x_1$", "$x_n$", "$h$", "$U$", "$W$", "$V$"}),
    "unrolled": (lambda: diagrams.draw_unrolled_rnn(T=3), 2,
                 {"$x$", "$h$", "$o$", "$L$", "$y$", "$W$", "$U$", "$V$", "$h^{(t)}$", "$h^{(t-1)}$",
                  "$h^{(t+1)}$", "="}),
    "types": (lambda: diagrams.draw_rnn_types(), 5, {"encoder", "decoder", "input $x^{(t)}$"}),
    "deep": (lambda: diagrams.draw_deep_rnn(T=4), 1,
             {"$f_1$", "$f_2$", "$x_{1}$", "$y_{4}$", "$z_{4}$", "$h_0$", "$h_{4}$", "$g_{4}$"}),
    "bidirectional": (lambda: diagrams.draw_bidirectional_rnn(T=4), 1,
                      {"$f_1$", "$f_2$", "$h_0$", "$h_{4}$", "$g_{5}$", "$g_1$", "$[y_{1}; z_{1}]$"}),
}


@pytest.mark.parametrize("name", LAYOUTS)
def test_layouts_return_their_figure(name):
    draw, n_axes, labels = LAYOUTS[name]
    fig = draw()
    assert isinstance(fig, Figure) and len(fig.axes) == n_axes
    assert labels <= _all_texts(fig), labels - _all_texts(fig)
    plt.close(fig)


def test_rnn_types_panels():
    fig = diagrams.draw_rnn_types()
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["one to one", "one to many", "many to one", "many to many (aligned)",
                      "many to many (encoder–decoder)"]
    plt.close(fig)


@pytest.mark.parametrize("T", [1, 2, 5])
def test_unrolled_layouts_have_T_steps(T):
    fig = diagrams.draw_unrolled_rnn(T=T)
    unrolled = {t.get_text() for t in fig.axes[1].texts}
    assert sum(s.startswith("$x^{(") for s in unrolled) == T
    plt.close(fig)
    for draw in (diagrams.draw_deep_rnn, diagrams.draw_bidirectional_rnn):
        fig = draw(T=T)
        assert f"$x_{{{T}}}$" in _all_texts(fig) and f"$x_{{{T + 1}}}$" not in _all_texts(fig)
        plt.close(fig)


@pytest.mark.parametrize("draw", [diagrams.draw_unrolled_rnn, diagrams.draw_deep_rnn,
                                  diagrams.draw_bidirectional_rnn])
@pytest.mark.parametrize("T", [0, -1, 2.5, True, "3"])
def test_layouts_refuse_bad_T_without_opening_a_figure(draw, T):
    with pytest.raises(ValueError, match=r"^T: "):
        draw(T=T)


def test_fc_vs_rnn_refuses_bad_sizes():
    for kw, name in (({"n_inputs": 1}, "n_inputs"), ({"n_hidden": 0}, "n_hidden"),
                     ({"n_outputs": 1.5}, "n_outputs")):
        with pytest.raises(ValueError, match=rf"^{name}: "):
            diagrams.draw_fc_vs_rnn(**kw)


# --------------------------------------------------------------------------- cell diagrams
# the symbols of each cell's equations (slides 5, 10, 16) that its diagram must name
CELL_LABELS = {
    "rnn": {"$h_{t-1}$", "$x_t$", "$h_t$", "tanh", "$a_t = b + W h_{t-1} + U x_t$",
            r"$h_t = \tanh(a_t)$"},
    "lstm": {"$C_{t-1}$", "$C_t$", "$h_{t-1}$", "$x_t$", "$h_t$", "$f_t$", "$i_t$",
             r"$\tilde C_t$", "$o_t$", "σ", "tanh", "×", "+"},
    "gru": {"$h_{t-1}$", "$x_t$", "$h_t$", "$z_t$", "$r_t$", r"$\tilde h_t$", "$r_t * h_{t-1}$",
            "$[h_{t-1}, x_t]$", "σ", "tanh", "×", "+", "1−"},
}
DRAW_CELL = {"rnn": diagrams.draw_rnn_cell, "lstm": diagrams.draw_lstm_cell,
             "gru": diagrams.draw_gru_cell}


@pytest.mark.parametrize("kind", CELL_LABELS)
def test_cell_diagrams_hold_their_equations_labels(kind):
    fig, ax = _new_ax()
    assert DRAW_CELL[kind](ax, title=kind) is ax
    assert ax.get_title() == kind
    assert CELL_LABELS[kind] <= _texts(ax), CELL_LABELS[kind] - _texts(ax)
    assert _line_colors(ax) == {BASE}
    plt.close(fig)


def test_cell_diagrams_share_one_visual_language():
    """The same shape and colours for a layer (box) and a pointwise op (circle) in all three
    cells, and the same frame, so that they line up side by side."""
    fig, axes = plt.subplots(1, 3)
    styles = []
    for ax, draw in zip(axes, DRAW_CELL.values(), strict=True):
        draw(ax)
        boxes = {(matplotlib.colors.to_hex(p.get_facecolor()), matplotlib.colors.to_hex(p.get_edgecolor()))
                 for p in ax.patches if isinstance(p, FancyBboxPatch) and p.get_zorder() == 3}
        circles = {(matplotlib.colors.to_hex(p.get_facecolor()), matplotlib.colors.to_hex(p.get_edgecolor()))
                   for p in ax.patches if isinstance(p, Circle) and p.get_radius() > 0.1}
        styles.append((boxes, circles, ax.get_xlim(), ax.get_ylim()))
    rnn, lstm, gru = styles
    assert len(lstm[0]) == 1 and lstm[0] == gru[0] == rnn[0]        # every layer: one style
    assert len(lstm[1]) == 1 and lstm[1] == gru[1]                  # every pointwise op: one style
    assert rnn[2:] == lstm[2:] == gru[2:]
    plt.close(fig)


@pytest.mark.parametrize("highlight", [None, "cell", "forget", "input", "update", "output"])
def test_lstm_cell_highlights(highlight):
    fig, ax = _new_ax()
    diagrams.draw_lstm_cell(ax, highlight=highlight, title="t")
    colors = _line_colors(ax)
    if highlight is None:
        assert colors == {BASE}
    else:
        assert HL in colors and DIM in colors
    plt.close(fig)


def _red_texts(ax):
    return {t.get_text() for t in ax.texts if matplotlib.colors.to_hex(t.get_color()) == HL}


@pytest.mark.parametrize("highlight, red, not_red", [
    ("forget", {"$f_t$", "$C_{t-1}$", "$h_{t-1}$", "$x_t$"}, {"$i_t$", "$o_t$"}),
    ("input", {"$i_t$", r"$\tilde C_t$"}, {"$f_t$", "$o_t$"}),
    ("output", {"$o_t$", "$h_t$"}, {"$f_t$", "$i_t$"}),
])
def test_lstm_highlight_names_the_equation(highlight, red, not_red):
    fig, ax = _new_ax()
    diagrams.draw_lstm_cell(ax, highlight=highlight)
    assert red <= _red_texts(ax) and not (not_red & _red_texts(ax))
    plt.close(fig)


# which symbols each GRU equation of slide 16 reads and writes
GRU_PATHS = {
    "update": ({"$z_t$", "$h_{t-1}$", "$x_t$"}, {"$r_t$", r"$\tilde h_t$", "$h_t$"}),
    "reset": ({"$r_t$", "$h_{t-1}$", "$x_t$"}, {"$z_t$", r"$\tilde h_t$", "$h_t$"}),
    "candidate": ({r"$\tilde h_t$", "$r_t$", "$r_t * h_{t-1}$", "$h_{t-1}$", "$x_t$"}, {"$z_t$", "$h_t$"}),
    "hidden": ({"$h_t$", "$z_t$", r"$\tilde h_t$", "$h_{t-1}$"}, {"$r_t$", "$x_t$"}),
}


@pytest.mark.parametrize("highlight", GRU_PATHS)
def test_gru_highlight_names_the_equation(highlight):
    fig, ax = _new_ax()
    diagrams.draw_gru_cell(ax, highlight=highlight)
    red, not_red = GRU_PATHS[highlight]
    assert red <= _red_texts(ax), red - _red_texts(ax)
    assert not (not_red & _red_texts(ax))
    assert {HL, DIM} <= _line_colors(ax)
    plt.close(fig)


def test_gru_reset_path_passes_over_the_update_line():
    """r_t * h_{t-1} crosses z_t's line without joining it: drawn as a bridge (a gap)."""
    fig, ax = _new_ax()
    diagrams.draw_gru_cell(ax)
    bridges = [line for line in ax.lines if line.get_path_effects()]
    assert len(bridges) == 1
    plt.close(fig)


def test_peephole_lines_drawn_dashed():
    fig, ax = _new_ax()
    diagrams.draw_lstm_cell(ax, highlight="peephole", peephole=True)
    dashed = [line for line in ax.lines if line.get_linestyle() not in ("-", "solid")]
    # C_{t-1} to the corner above f_t (shared by f_t and i_t), on to f_t, on to i_t; C_t to o_t
    assert len(dashed) == 4 and all(matplotlib.colors.to_hex(d.get_color()) == HL for d in dashed)
    plt.close(fig)


# --------------------------------------------------------------------------- path extents
def _is_red(line):
    return matplotlib.colors.to_hex(line.get_color()) == HL


def _gates(ax):
    """{name: (x of the centre, bottom)} of each layer box, found by the name left of it."""
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch) and p.get_zorder() == 3]
    gates = {}
    for t in ax.texts:
        x, _ = t.get_position()
        for b in boxes:
            if t.get_ha() == "right" and b.get_x() - 0.1 == pytest.approx(x):
                gates[t.get_text()] = (b.get_x() + b.get_width() / 2, b.get_y())
    return gates


def _bus(ax):
    """y and x-extent of the bus [h_{t-1}, x_t]: the longest horizontal line below the gates,
    and every horizontal line on it (the plain one, and a red one drawn over it)."""
    bottom = min(y for _, y in _gates(ax).values())
    flat = [ln for ln in ax.lines if len(set(ln.get_ydata())) == 1 and ln.get_ydata()[0] < bottom]
    y = max(flat, key=lambda ln: max(ln.get_xdata()) - min(ln.get_xdata())).get_ydata()[0]
    return y, [ln for ln in flat if ln.get_ydata()[0] == y]


@pytest.mark.parametrize("draw, kw, last_gate", [
    (diagrams.draw_lstm_cell, {"highlight": "forget"}, "$f_t$"),
    (diagrams.draw_lstm_cell, {"highlight": "forget", "peephole": True}, "$f_t$"),
    (diagrams.draw_lstm_cell, {"highlight": "input"}, r"$\tilde C_t$"),
    (diagrams.draw_lstm_cell, {"highlight": "input", "peephole": True}, r"$\tilde C_t$"),
    (diagrams.draw_lstm_cell, {"highlight": "output"}, "$o_t$"),
    (diagrams.draw_gru_cell, {"highlight": "reset"}, "$r_t$"),
    (diagrams.draw_gru_cell, {"highlight": "update"}, "$z_t$"),
])
def test_highlighted_bus_stops_at_the_last_gate_of_its_path(draw, kw, last_gate):
    """The red part of the shared input line [h_{t-1}, x_t] runs from the inputs to the last
    gate that reads it on the highlighted path, and no further: forget stops at f_t (not o_t),
    reset at r_t (not z_t); the line itself, dimmed, still runs on to the last gate of the cell."""
    fig, (plain, ax) = plt.subplots(1, 2)
    draw(plain, peephole=True) if kw.get("peephole") else draw(plain)
    draw(ax, **kw)
    _, plain_lines = _bus(plain)
    _, lines = _bus(ax)
    start = min(min(ln.get_xdata()) for ln in plain_lines)
    end = max(max(ln.get_xdata()) for ln in plain_lines)
    red = [ln for ln in lines if _is_red(ln)]
    assert red, "the bus is not highlighted"
    assert min(min(ln.get_xdata()) for ln in red) == pytest.approx(start)
    assert max(max(ln.get_xdata()) for ln in red) == pytest.approx(_gates(ax)[last_gate][0])
    assert max(max(ln.get_xdata()) for ln in lines) == pytest.approx(end)   # dimmed, on to the end
    plt.close(fig)


@pytest.mark.parametrize("draw, kw", [(diagrams.draw_lstm_cell, {"highlight": h, "peephole": p})
                                      for h in diagrams.LSTM_HIGHLIGHTS[1:] for p in (False, True)]
                         + [(diagrams.draw_gru_cell, {"highlight": h})
                            for h in diagrams.GRU_HIGHLIGHTS[1:]])
def test_no_red_runs_on_past_its_path(draw, kw):
    """For every highlight: red on the bus ends at a red gate, and every red line that
    reaches the bus's height meets red there (no red line runs into a dimmed bus)."""
    fig, ax = _new_ax()
    draw(ax, **kw)
    y, lines = _bus(ax)
    red_gates = [x for name, (x, _) in _gates(ax).items()
                 if matplotlib.colors.to_hex(next(t for t in ax.texts if t.get_text() == name)
                                             .get_color()) == HL]
    red_bus = [(min(ln.get_xdata()), max(ln.get_xdata())) for ln in lines if _is_red(ln)]
    for _, x1 in red_bus:
        assert any(x1 == pytest.approx(g) for g in red_gates), (x1, red_gates)
    for ln in ax.lines:
        if _is_red(ln) and ln not in lines:
            for x, yy in zip(ln.get_xdata(), ln.get_ydata(), strict=True):
                if yy == pytest.approx(y):
                    assert any(x0 - 1e-9 <= x <= x1 + 1e-9 for x0, x1 in red_bus), (x, yy)
    plt.close(fig)


def test_lstm_input_peephole_reads_c_from_the_cell_line():
    """With peepholes, step 2's i_t reads C_{t-1}: the dashed line from the cell line to i_t
    and the cell line up to its tap are red, f_t's own branch is not."""
    fig, ax = _new_ax()
    diagrams.draw_lstm_cell(ax, highlight="input", peephole=True)
    dashed = [ln for ln in ax.lines if ln.get_linestyle() not in ("-", "solid")]
    red = [ln for ln in dashed if _is_red(ln)]
    assert len(red) == 2 and max(max(ln.get_ydata()) for ln in red) == pytest.approx(5.0)
    cell = [ln for ln in ax.lines if _is_red(ln) and set(ln.get_ydata()) == {5.0}]
    tap = min(min(ln.get_xdata()) for ln in red)
    assert len(cell) == 1 and max(cell[0].get_xdata()) == pytest.approx(tap)
    assert "$C_{t-1}$" in _red_texts(ax) and "$f_t$" not in _red_texts(ax)
    plt.close(fig)


def test_rnn_cell_draws():
    fig, ax = _new_ax()
    diagrams.draw_rnn_cell(ax, title="RNN")
    assert ax.get_title() == "RNN" and len(ax.lines) >= 4
    plt.close(fig)


def test_the_encoder_decoder_panel_shows_its_start_and_end_tokens():
    import matplotlib.pyplot as plt
    fig = diagrams.draw_rnn_types()
    ax = fig.axes[4]
    texts = {t.get_text(): t.get_position() for t in ax.texts}
    assert texts["<s>"] == (3, 0)          # the first decoder step reads the start token
    assert texts["</s>"] == (5, 2)         # the last one writes the end token
    assert "<s>" not in {t.get_text() for a in fig.axes[:4] for t in a.texts}
    plt.close(fig)
