"""The gradient-flow widget: ||dL/dh_t|| against t for an RNN, an LSTM and a GRU (slide 9).

Its traits are the settings of :func:`companion.gradient_flow.gradient_flow` plus ``kind``
(``"rnn"``, ``"lstm"``, ``"gru"`` or ``"all"``: the three side by side); each is validated as it
arrives, from Python or from the page (a ``traitlets.TraitError`` naming it, the widget
unchanged). ``outputs`` (read-only) holds, per cell shown, companion's decay factor per step
and the norms ||g_t||, recomputed on every change; the page computes the same numbers in
JavaScript (``static/gradflow.js``, proved equal by ``tests/js/gradflow.test.mjs``)::

    import companion.widgets as cw
    cw.show(cw.GradientFlowExplorer(kind="rnn", rho=0.9))
"""
from __future__ import annotations

from typing import Any

import anywidget
import traitlets as tl

from .. import gradient_flow as gf
from .embed import bundle
from .explorers import Number

__all__ = ["GradientFlowExplorer"]

#: what ``kind`` may be: one cell, or all three side by side
KIND_CHOICES = (*gf.KINDS, "all")


class GradientFlowExplorer(anywidget.AnyWidget):
    r"""The gradient :math:`g_t = \partial L / \partial h_t` of :math:`L = u^\top h_T` flowing back
    through T steps of an RNN (:math:`W = \rho Q`, tanh or linear), an LSTM (forget bias
    :math:`b_f`) or a GRU in the slides' form (update bias :math:`b_z`, where :math:`z_t` weights
    the new candidate), or all three; see :mod:`companion.gradient_flow`.

    ``outputs``: ``{kind: {"decay": phi, "norms": [||g_1||, ..., ||g_T||]}}`` for each cell
    shown; :meth:`flows` gives companion's full :class:`~companion.gradient_flow.Flow` objects.
    ``update(**settings)`` sets several traits at once (all or none).
    """
    _module = "gradflow"
    _esm = bundle("gradflow")
    kind = tl.Unicode("rnn").tag(sync=True)
    T = tl.Int(gf.DEFAULTS["T"]).tag(sync=True)      # the sequence length (the slides' T)
    H = tl.Int(gf.DEFAULTS["H"]).tag(sync=True)
    D = tl.Int(gf.DEFAULTS["D"]).tag(sync=True)
    seed = tl.Int(gf.DEFAULTS["seed"]).tag(sync=True)
    rho = Number(gf.DEFAULTS["rho"]).tag(sync=True)
    nonlinearity = tl.Unicode(gf.DEFAULTS["nonlinearity"]).tag(sync=True)
    forget_bias = Number(gf.DEFAULTS["forget_bias"]).tag(sync=True)
    update_bias = Number(gf.DEFAULTS["update_bias"]).tag(sync=True)
    input_scale = Number(gf.DEFAULTS["input_scale"]).tag(sync=True)
    outputs = tl.Dict(read_only=True).tag(sync=True)

    #: the synced inputs, in the order the page lays them out
    INPUTS = ("kind", *gf.DEFAULTS)

    def __init__(self, **kwargs: Any) -> None:
        unknown = set(kwargs) - set(self.INPUTS)
        if unknown:
            raise ValueError(f"{sorted(unknown)[0]}: not a setting; expected one of {', '.join(self.INPUTS)}")
        super().__init__(**kwargs)
        self._compute()

    # Every trait alone (bools refused by Number and tl.Int's own checks first); the bounds and
    # choices are gradient_flow.check_settings's, its ValueError turned into a TraitError.
    @tl.validate("kind", *gf.DEFAULTS)
    def _validate(self, p):
        name, v = p["trait"].name, p["value"]
        if name == "kind":
            if v not in KIND_CHOICES:
                raise tl.TraitError(f"kind: expected one of {', '.join(map(repr, KIND_CHOICES))}, got {v!r:.40}")
            return v
        try:
            return gf.check_settings("rnn", **{name: v})[name]
        except ValueError as e:
            raise tl.TraitError(str(e)) from None

    def settings(self) -> dict[str, Any]:
        """The settings of :func:`companion.gradient_flow.gradient_flow` (all but ``kind``)."""
        return {k: getattr(self, k) for k in gf.DEFAULTS}

    def flows(self) -> dict[str, gf.Flow]:
        """companion's :class:`~companion.gradient_flow.Flow` for each cell shown."""
        kinds = gf.KINDS if self.kind == "all" else (self.kind,)
        return {k: gf.gradient_flow(k, **self.settings()) for k in kinds}

    @tl.observe(*INPUTS)
    def _compute(self, change=None):
        self.set_trait("outputs", {k: {"decay": f.decay, "norms": f.norms.tolist()}
                                   for k, f in self.flows().items()})

    def update(self, **values: Any) -> None:
        """Set several traits at once: all are validated, then all change, or none does."""
        for k in values:
            if k not in self.INPUTS:
                raise tl.TraitError(f"{k}: not an input of GradientFlowExplorer; "
                                    f"expected one of {', '.join(self.INPUTS)}")
        with self.hold_sync(), self.hold_trait_notifications():
            for k, v in values.items():
                setattr(self, k, v)

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """What the page sends; the computed ``outputs`` are refused, not overwritten."""
        if "outputs" in sync_data:
            raise tl.TraitError("outputs: read-only, computed by Python from the inputs; "
                                "got a value from the front-end")
        super().set_state(sync_data)

    def static_state(self) -> dict[str, Any]:
        """The synced inputs (JSON-able), without ``outputs``: the page computes those."""
        return self.get_state(key=list(self.INPUTS))
