"""Moving layers between companion and torch.nn.

torch is imported when a conversion runs (here, and in the layers' own ``to_torch``), never
at import time: ``import companion`` does not import torch.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import DTypeLike

from .layers import GRU, LSTM, RNN
from .validation import as_real_array, check_dtype

if TYPE_CHECKING:
    import torch

__all__ = ["from_torch", "to_torch"]


def from_torch(module: torch.nn.Module, dtype: DTypeLike | None = None) -> RNN | LSTM | GRU:
    """The companion layer equivalent to a ``torch.nn.RNN``, ``LSTM`` or ``GRU``.

    Every option carries over (num_layers, bias, batch_first, bidirectional,
    nonlinearity); parameters are copied (float64 unless ``dtype`` says
    otherwise). A GRU becomes ``GRU(variant="torch")``. An LSTM with
    ``proj_size > 0`` is refused: companion has no projection, and so is a
    parameter with NaN or inf (ValueError naming it). ``dropout``
    acts between layers in training mode only; companion computes what the
    module computes in ``eval()`` mode.
    """
    import torch  # here, not at the top: ``import companion`` must not import torch

    dt = check_dtype(np.float64 if dtype is None else dtype)
    kinds = {torch.nn.RNN: RNN, torch.nn.LSTM: LSTM, torch.nn.GRU: GRU}
    cls = kinds.get(type(module))
    if cls is None:
        raise ValueError("module: expected a torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU, got "
                         f"{type(module).__name__}")
    if getattr(module, "proj_size", 0):
        raise ValueError(f"module: LSTM with proj_size={module.proj_size} is not supported "
                         "(companion's LSTM has no projection); use proj_size=0")
    kw = dict(num_layers=module.num_layers, bias=module.bias, batch_first=module.batch_first,
              bidirectional=module.bidirectional, dtype=dt)
    if cls is RNN:
        kw["nonlinearity"] = module.nonlinearity
    layer = cls(module.input_size, module.hidden_size, **kw)
    with torch.no_grad():
        for name, p in module.named_parameters():
            # refused if NaN/inf in the module, or beyond dtype's range after the cast (1e39 -> float32)
            layer.params[name][...] = as_real_array(f"module.{name}", p.detach().cpu().double().numpy(), dt)
    return layer


def to_torch(layer: RNN | LSTM | GRU) -> torch.nn.RNNBase:
    """The ``torch.nn`` module equivalent to a companion layer, with its parameters copied
    (``layer.to_torch()``, which see; this function also refuses what is not a layer).

    float64 layers give float64 modules. Refused (ValueError) where torch has no
    equivalent: the peephole LSTM and the lecture GRU; and for a parameter that is
    not valid (wrong shape or dtype, NaN or inf).
    """
    if not isinstance(layer, (RNN, LSTM, GRU)):
        raise ValueError(f"layer: expected a companion RNN, LSTM or GRU, got {type(layer).__name__}")
    return layer.to_torch()
