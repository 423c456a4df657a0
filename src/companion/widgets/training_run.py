"""The train-it-here widget of chapter 09: the recall task trained live in the reader's browser.

:class:`TrainingRun` holds only the run's settings (synced traitlets, validated); the page
trains with ``static/training.js``, which is proved equal to :mod:`companion.page_training`
(the numpy reference of the same run) by shared test vectors. :meth:`TrainingRun.reference`
gives that numpy run for the widget's settings, so a notebook can reproduce the page's curve.

    import companion.widgets as cw
    cw.show(cw.TrainingRun(distance=40, kind="lstm", forget_bias=2.0))
"""
from __future__ import annotations

import numbers
from typing import Any

import traitlets as T

from .embed import bundle
from .explorers import _Widget

__all__ = ["TrainingRun", "LIMITS", "KINDS"]

#: [lo, hi] of each numeric setting, shared with static/trainer.js (LIMITS there)
LIMITS = dict(distance=(5, 60), hidden=(1, 16), batch=(1, 64), lr=(0.001, 0.1), seed=(0, 9999),
              forget_bias=(-5, 5), update_bias=(-5, 5), steps=(1, 5000))
#: the settings that are integers
INTS = ("distance", "hidden", "batch", "seed", "steps")
#: the cells the widget trains
KINDS = ("rnn", "lstm", "gru")


def _check(name, v):
    """``v`` as the setting ``name`` takes it, or a TraitError naming it and what was expected."""
    if name == "kind":
        if v not in KINDS:
            raise T.TraitError(f"kind: expected one of {', '.join(map(repr, KINDS))}, got {v!r:.40}")
        return v
    lo, hi = LIMITS[name]
    if name in INTS:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not lo <= v <= hi:
            raise T.TraitError(f"{name}: expected an integer in [{lo}, {hi}], got {v!r:.40}")
        return int(v)
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not lo <= v <= hi:   # NaN fails too
        raise T.TraitError(f"{name}: expected a number in [{lo}, {hi}], got {v!r:.40}")
    return float(v)


class _Setting(T.TraitType):
    """A setting, checked by :func:`_check` (None too): the error says the range, not only a type."""

    def validate(self, obj, value):
        return _check(self.name, value)


class TrainingRun(_Widget):
    r"""Train an RNN, LSTM or GRU on the recall task in the browser, live loss and gradient.

    The task (``companion.tasks.recall_task``): a symbol (one of 4) at the first step, then
    ``distance - 1`` distractors, then a query; the label is the symbol, read from $h_T$
    through $o = c + V h_T$. Settings: ``distance`` $d$ (5 to 60), ``kind`` (``"rnn"``,
    ``"lstm"``, ``"gru"``), ``hidden`` $H$ (1 to 16), ``lr`` (Adam's learning rate),
    ``seed`` (weights and data), ``forget_bias`` (the LSTM's $b_f$), ``update_bias`` (the
    GRU's update gate bias, as :mod:`companion.page_training` sets it), ``batch`` and
    ``steps`` (how many steps one press of Train runs).

    The page shows per step the loss, the accuracy on a fixed held-out batch and
    $\lVert \partial L / \partial x_0 \rVert$, the gradient that reaches the remembered
    token. The same seed gives the same curve, on the page and in :meth:`reference`.
    """
    _module = "trainer"
    _esm = bundle("trainer")
    distance = _Setting(20).tag(sync=True)
    kind = _Setting("lstm").tag(sync=True)
    hidden = _Setting(8).tag(sync=True)
    lr = _Setting(0.01).tag(sync=True)
    seed = _Setting(0).tag(sync=True)
    forget_bias = _Setting(0.0).tag(sync=True)
    update_bias = _Setting(0.0).tag(sync=True)
    batch = _Setting(32).tag(sync=True)
    steps = _Setting(300).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        unknown = sorted(set(kwargs) - set(LIMITS) - {"kind"})
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not a setting of TrainingRun; expected "
                             f"{', '.join(['kind', *LIMITS])}")
        super().__init__(**kwargs)

    def config(self) -> dict[str, Any]:
        """The settings as :class:`companion.page_training.TrainingRun` takes them."""
        return dict(kind=self.kind, distance=self.distance, hidden=self.hidden, batch=self.batch, lr=self.lr,
                    seed=self.seed, forget_bias=self.forget_bias, update_bias=self.update_bias)

    def reference(self):
        """The numpy run the page trains (:class:`companion.page_training.TrainingRun`), same settings:
        its ``step()`` gives the page's loss, accuracy and gradient, step for step."""
        from .. import page_training
        return page_training.TrainingRun(**self.config())
