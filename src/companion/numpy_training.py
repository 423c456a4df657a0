"""Training companion's numpy layers: one forward and BPTT pass, and the training loop.

:func:`train_numpy` trains ``companion.RNN``, ``LSTM`` or ``GRU`` with a
:class:`companion.OutputHead` and an optimiser of :mod:`companion.optim`: the gradients come
from the layers' own ``backward`` (BPTT), one :func:`forward_backward` per step. It is the loop
the chapters train numpy models with. This module imports numpy only (torch's import costs
seconds of a chapter's run); :mod:`companion.training` re-exports both functions.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .head import OutputHead
from .optim import clip_grad_norm, global_norm
from .validation import check_choice, check_positive_int

__all__ = ["forward_backward", "train_numpy"]

OUTPUTS = ("all", "last")
LOSSES = ("cross_entropy", "mse")


def _check_model(layer, head):
    for name, obj, what in (("layer", layer, "backward"), ("head", head, "backward")):
        if not callable(obj) or not callable(getattr(obj, what, None)) \
                or not isinstance(getattr(obj, "params", None), dict):
            raise ValueError(f"{name}: expected a companion layer or head (callable, with params "
                             f"and backward), got {type(obj).__name__}")


def forward_backward(layer, head: OutputHead, x: np.ndarray, y: np.ndarray, *, output: str = "all",
                     loss: str = "cross_entropy") -> tuple[float, np.ndarray, np.ndarray]:
    r"""One forward pass and BPTT through ``layer`` and ``head``; returns ``(L, o, d_x)``.

    .. math::

        o(t) = c + V h(t), \qquad
        L = -\frac1B \sum_t \sum_b \log \hat y(t)[y(t)] \;\text{(cross-entropy)} \quad\text{or}\quad
        L = \operatorname{mean}\big((o(t) - y(t))^2\big) \;\text{(mse)}

    layer: a companion layer (``RNN``, ``LSTM``, ``GRU``, or any object with its interface:
    ``layer(x) -> (output, state)``, ``layer.backward(d_output)``, ``params``, ``grads``);
    head: a :class:`companion.OutputHead`. x: (T, B, D).
    output="all" reads every h(t) (many to many): o is (T, B, K), y is (T, B) classes or,
    for "mse", (T, B, K) targets. output="last" reads h(T) only (many to one): o is (B, K),
    y is (B,) or (B, K).
    After the call ``layer.grads`` and ``head.grads`` hold dL/dθ; d_x = dL/dx, shaped like x.
    """
    _check_model(layer, head)
    check_choice("output", output, OUTPUTS)
    check_choice("loss", loss, LOSSES)
    out, _ = layer(x)                            # (T, B, H): h(t) for every t
    h = out if output == "all" else out[-1]      # (T, B, H) or h(T): (B, H)
    o, _ = head(h)
    y = np.asarray(y)
    if loss == "cross_entropy":
        if y.shape != o.shape[:-1] or y.dtype.kind not in "iu":
            raise ValueError(f"y: expected integer classes of shape {o.shape[:-1]}, got "
                             f"{y.dtype} of shape {y.shape}")
        if output == "all":
            L, d_o = head.loss(o, y)
        else:                                    # one "time step" of the head's loss
            L, d_o = head.loss(o[None], y[None])
            d_o = d_o[0]
    else:
        if y.shape != o.shape:
            raise ValueError(f"y: expected targets of shape {o.shape} (the shape of o), got {y.shape}")
        err = o - y
        L, d_o = float(np.mean(err ** 2)), 2.0 * err / err.size
    d_h = head.backward(d_o)                     # dL/dh(t), (T, B, H) or (B, H)
    if output == "last":
        d_out = np.zeros_like(out)
        d_out[-1] = d_h                          # the gradient enters at the last step only
        d_h = d_out
    d_x, _ = layer.backward(d_h)                 # BPTT
    return float(L), o, d_x


def train_numpy(layer, head: OutputHead,
                data: tuple[np.ndarray, np.ndarray] | Callable[[], tuple[np.ndarray, np.ndarray]],
                optimizer, steps: int, *, output: str = "all",
                loss: str = "cross_entropy", clip: float | None = None) -> dict[str, np.ndarray]:
    r"""Train a companion layer and head with a :mod:`companion.optim` optimiser, ``steps`` steps.

    Each step: :func:`forward_backward` on one batch, then (with ``clip``) gradient norm
    clipping over all gradients as one vector, then ``optimizer.step``:

    .. math::

        \nabla \leftarrow \nabla \cdot \min\Big(1, \frac{\tau}{\|\nabla\| + 10^{-6}}\Big),
        \qquad \theta \leftarrow \theta - \eta\,(\text{the optimiser's update of } \nabla)

    data: a pair ``(x, y)`` used at every step (full batch), or a function of no arguments
    returning a fresh ``(x, y)`` at each call (seed its generator for a reproducible run).
    optimizer: ``companion.optim.Adam`` or ``SGD`` over ``{**layer.params, **head.params}``.
    output, loss: as in :func:`forward_backward`. clip: τ, or None for no clipping.

    Returns a dict of arrays, one entry per step: ``"loss"`` (L of the batch, before the
    step), ``"grad_norm"`` (‖∇‖ before clipping), ``"step_norm"`` (the length of the update,
    ‖θ_new − θ_old‖ over all parameters) and, for cross-entropy, ``"accuracy"`` (the
    fraction of the batch's targets whose largest o is the right class, before the step).
    """
    _check_model(layer, head)
    check_choice("output", output, OUTPUTS)
    check_choice("loss", loss, LOSSES)
    steps = check_positive_int("steps", steps)
    if clip is not None and (isinstance(clip, bool) or not isinstance(clip, (int, float))
                             or not math.isfinite(clip) or clip <= 0):
        raise ValueError(f"clip: expected None or a positive number, got {clip!r}")
    if isinstance(data, tuple) and len(data) == 2:
        batch = lambda: data                     # noqa: E731  (full batch: the same every step)
    elif callable(data):
        batch = data
    else:
        raise ValueError(f"data: expected a pair (x, y) or a function returning one, "
                         f"got {type(data).__name__}")
    params = {**layer.params, **head.params}
    if not hasattr(optimizer, "step") or getattr(optimizer, "params", None) is None \
            or set(optimizer.params) != set(params) \
            or any(optimizer.params[k] is not p for k, p in params.items()):
        raise ValueError("optimizer: expected a companion.optim optimiser over "
                         "{**layer.params, **head.params} (the same arrays)")
    record = {"loss": [], "grad_norm": [], "step_norm": []}
    if loss == "cross_entropy":
        record["accuracy"] = []
    for _ in range(steps):
        x, y = batch()
        L, o, _ = forward_backward(layer, head, x, y, output=output, loss=loss)
        grads = {**layer.grads, **head.grads}
        norm = clip_grad_norm(grads, clip) if clip else global_norm(grads)
        before = {k: p.copy() for k, p in params.items()}
        optimizer.step(grads)
        step = global_norm({k: p - before[k] for k, p in params.items()})
        record["loss"].append(L)
        record["grad_norm"].append(norm)
        record["step_norm"].append(step)
        if loss == "cross_entropy":
            record["accuracy"].append(float((o.argmax(-1) == np.asarray(y)).mean()))
    return {k: np.array(v) for k, v in record.items()}
