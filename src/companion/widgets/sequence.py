"""A whole sequence stepped through one cell of :mod:`companion.cells`: what the sequence stepper shows.

Run-time code of :class:`~companion.widgets.SequenceStepper` (which recomputes its traces
with :func:`run_sequence` whenever a trait changes) and the reference the test vectors
(:mod:`companion.widgets.vectors`) store for ``static/cells.js``'s ``runSequence``. It
imports numpy and :mod:`companion.cells` only (no anywidget), so the vectors can be
written without the widget classes.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from .. import cells
from ..validation import check_choice

__all__ = ["TRACE_NAMES", "run_sequence"]

#: the per-step traces of each kind, named like ``layer.traces`` (each the step's ``<name>_t``)
TRACE_NAMES = {"rnn": ("a", "h"), "lstm": ("f", "i", "C_tilde", "C", "o", "h"),
               "gru": ("z", "r", "h_tilde", "h")}


def run_sequence(kind: str, xs: ArrayLike, w: Mapping[str, ArrayLike], h0: ArrayLike,
                 C0: ArrayLike | None = None, peephole: str | None = None, variant: str = "lecture",
                 nonlinearity: str = "tanh") -> dict[str, np.ndarray]:
    r"""Step the inputs ``xs`` (T, D) through one ``kind`` cell from ``h0`` (and ``C0``, the LSTM's
    cell; zeros when None); per-step traces, each (T, H), named as in :data:`TRACE_NAMES`.

    Each step is the cell's step function, e.g. for the vanilla RNN (slide 5)
    :math:`h(t) = \tanh(b + W h(t-1) + U x(t))`, its state carried to the next step
    (h, and C for the LSTM). ``w`` holds the weights of
    :func:`companion.cells.weight_names` for ``kind`` (and ``peephole``); ``peephole``
    is the LSTM's, ``variant`` the GRU's, ``nonlinearity`` the RNN's; each is ignored
    by the other kinds. Every step's arguments are checked by the step functions.
    """
    check_choice("kind", kind, cells.CELL_KINDS)
    names = TRACE_NAMES[kind]
    tr = {n: [] for n in names}
    h = np.asarray(h0, dtype=np.float64)
    C = np.zeros_like(h) if C0 is None else np.asarray(C0, dtype=np.float64)
    for x in np.asarray(xs, dtype=np.float64):
        if kind == "rnn":
            s = cells.rnn_step(x, h, w["U"], w["W"], w["b"], nonlinearity=nonlinearity)
        elif kind == "lstm":
            s = cells.lstm_step(x, h, C, w, peephole=peephole)
            C = s.C_t
        else:
            s = cells.gru_step(x, h, w, variant=variant)
        h = s.h_t
        for n in names:
            tr[n].append(getattr(s, n + "_t"))
    return {n: np.array(v) for n, v in tr.items()}
