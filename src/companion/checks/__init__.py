"""Instant feedback for the exercises: call a check on your function, read what is wrong.

Each check draws *fresh* random inputs on every call (a hard-coded answer
cannot pass), runs your function and companion's reference on them, and
reports the first output that differs: its name, the index, the expected and
the actual value, and, where your output matches a known slip (C_{t-1} used
where h_{t-1} belongs, sigmoid where tanh belongs, z and 1 - z swapped...),
a hint naming it.

A check returns a :class:`Feedback`, truthy only when everything matched, so a
grading cell can ``assert check_lstm_step(lstm_step)``. In a notebook the
feedback shows itself; ``print(feedback)`` works anywhere.

Signatures the exercises of the cell chapters ask for (names follow :mod:`companion.cells`):

* ``softmax(o) -> y_hat`` for o of shape (K,) or (B, K)
* ``rnn_step(x_t, h_prev, U, W, b) -> h_t``
* ``forget_gate(x_t, h_prev, W_xf, W_hf, b_f) -> f_t``
* ``lstm_step(x_t, h_prev, C_prev, w) -> (h_t, C_t)``, w as in :data:`companion.cells.LSTM_WEIGHTS`
* ``peephole_forget_gate(x_t, h_prev, C_prev, W_xf, W_hf, w_cf, b_f) -> f_t`` (diagonal w_cf)
* ``gru_step(x_t, h_prev, w) -> h_t`` in the slides' form, w as in :data:`companion.cells.GRU_WEIGHTS`

The checks live in one module per topic, ``companion.checks.<topic>`` (:mod:`~companion.checks.counting`,
:mod:`~companion.checks.rnn`, :mod:`~companion.checks.bptt`, :mod:`~companion.checks.rnn_types`,
:mod:`~companion.checks.bidirectional`, :mod:`~companion.checks.gradients`, :mod:`~companion.checks.lstm`,
:mod:`~companion.checks.gru`, :mod:`~companion.checks.long_range`,
:mod:`~companion.checks.applications`, :mod:`~companion.checks.trained_lstm`,
:mod:`~companion.checks.charlm`), all built on the driver
:mod:`companion.checks.core`; every check is also importable from here, and ``CHECKS``
holds them all by name.
"""
from __future__ import annotations

from . import (
    applications,
    bidirectional,
    bptt,
    charlm,
    counting,
    gradients,
    gru,
    long_range,
    lstm,
    rnn,
    rnn_types,
    trained_lstm,
)
from .core import Case, Exercise, Feedback, Wrong, compare, registry, run_check

#: the topic modules, in the order of the chapters
MODULES = (counting, rnn, bptt, rnn_types, bidirectional, gradients, lstm, gru, long_range, applications,
           trained_lstm, charlm)

#: every check of every topic module, by name (two checks of one name are refused at import)
CHECKS = registry(merge=[m.CHECKS for m in MODULES])

# Every check of every topic module is importable from here too (a notebook writes
# ``from companion.checks import check_rnn_step``): taken from the registries, so a new
# exercise needs no line in this file.
globals().update({name: ex.check for name, ex in CHECKS.items()})

__all__ = ["Feedback", "Case", "Exercise", "Wrong", "run_check", "compare", "registry", "MODULES", "CHECKS"]
__all__ += list(CHECKS)
