"""companion.diagrams: every highlight draws, the highlighted path is red, the rest dimmed."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from companion.diagrams import BASE, DIM, HL, draw_lstm_cell, draw_rnn_cell  # noqa: E402


def _line_colors(ax):
    return {matplotlib.colors.to_hex(line.get_color()) for line in ax.lines}


@pytest.mark.parametrize("highlight", [None, "cell", "forget", "input", "update", "output"])
def test_lstm_cell_highlights(highlight):
    fig, ax = plt.subplots()
    draw_lstm_cell(ax, highlight=highlight, title="t")
    colors = _line_colors(ax)
    if highlight is None:
        assert colors == {BASE}
    else:
        assert HL in colors and DIM in colors
    plt.close(fig)


def test_peephole_lines_drawn_dashed():
    fig, ax = plt.subplots()
    draw_lstm_cell(ax, highlight="peephole", peephole=True)
    dashed = [line for line in ax.lines if line.get_linestyle() not in ("-", "solid")]
    assert len(dashed) == 3 and all(matplotlib.colors.to_hex(d.get_color()) == HL for d in dashed)
    plt.close(fig)


def test_rnn_cell_draws():
    fig, ax = plt.subplots()
    draw_rnn_cell(ax, title="RNN")
    assert ax.get_title() == "RNN" and len(ax.lines) >= 4
    plt.close(fig)
