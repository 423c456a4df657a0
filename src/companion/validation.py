"""Argument checks shared by the cells, the layers and the head: each failure is a ValueError
that names the argument, what was expected and what was given, raised before anything is
changed.

The ``parse_*`` functions read the sequence layers' arguments (x and the initial state, and at
backward the gradients of the output and of the final state) into the layers' internal layout,
time-major (T, B, features) with the state as (num_layers * num_directions, B, H).
"""
from __future__ import annotations

import numbers
from collections.abc import Collection
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

__all__ = ["DTYPES", "check_dtype", "check_positive_int", "check_choice", "check_bool", "as_real_array",
           "check_shape", "check_param", "parse_sequence", "parse_sequence_grad", "parse_state",
           "parse_state_grad"]

DTYPES = (np.float32, np.float64)


def check_dtype(dtype: DTypeLike) -> np.dtype:
    """``dtype`` as a numpy dtype, which must be float32 or float64."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.type not in DTYPES:
        raise ValueError(f"dtype: expected np.float32 or np.float64, got {dtype!r}")
    return dt


def check_positive_int(name: str, value: Any) -> int:
    """``value`` as an int, which must be an integer >= 1 (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def check_choice(name: str, value: Any, choices: Collection[Any]) -> Any:
    """``value`` if it is one of ``choices``; otherwise a ValueError naming ``name`` and the choices."""
    try:
        ok = value in choices
    except TypeError:          # an unhashable or odd value: not one of the choices
        ok = False
    if not ok:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a bool, which must be True or False (numpy's bools included, not 0 or 1)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}: expected True or False, got {value!r}")
    return bool(value)


def as_real_array(name: str, value: Any, dtype: DTypeLike, copy: bool = False) -> np.ndarray:
    """``value`` as a numpy array of ``dtype``; refuses non-numeric, complex, NaN and inf.

    Without ``copy`` the result may be ``value`` itself (or share its memory, e.g. a torch
    tensor's); a caller that keeps the array beyond the call passes ``copy=True``."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):   # a torch tensor: accept it
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer)
                                   or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name}: expected a real numeric array, got dtype {arr.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):   # e.g. 1e39 -> float32: inf, refused below
        arr = arr.astype(dtype, copy=copy)
    if not np.isfinite(arr).all():
        bad = "NaN" if np.isnan(arr).any() else "inf"
        raise ValueError(f"{name}: expected finite values, got {bad} (shape {arr.shape})")
    return arr


def check_shape(name: str, arr: np.ndarray, expected: tuple[int, ...], what: str = "") -> np.ndarray:
    """``arr`` if its shape is ``expected``; ``what`` says in words what the axes are."""
    if arr.shape != tuple(expected):
        extra = f" ({what})" if what else ""
        raise ValueError(f"{name}: expected shape {tuple(expected)}{extra}, got {arr.shape}")
    return arr


def check_param(name: str, p: Any, shape: tuple[int, ...], dtype: DTypeLike) -> np.ndarray:
    """A stored parameter ``params[name]``: a numpy array of ``shape`` and ``dtype``, finite.

    Shared by the layers and the head, so a parameter set or copied in by hand (or by
    ``from_torch``) is refused the same way everywhere before it is used."""
    if not isinstance(p, np.ndarray) or p.shape != shape or p.dtype != dtype:
        got = "missing" if p is None else (
            f"shape {getattr(p, 'shape', None)}, dtype {getattr(p, 'dtype', type(p))}")
        raise ValueError(f"params[{name!r}]: expected a numpy array of shape {shape} and "
                         f"dtype {dtype}, got {got}")
    if not np.isfinite(p).all():
        bad = "NaN" if np.isnan(p).any() else "inf"
        raise ValueError(f"params[{name!r}]: expected finite values, got {bad} (shape {shape})")
    return p


# --------------------------------------------------------------------------- the layers' arguments

def parse_sequence(x: ArrayLike, input_size: int, *, batch_first: bool,
                   dtype: DTypeLike) -> tuple[np.ndarray, bool]:
    """A layer's input x as a time-major (T, B, D) C-contiguous copy, and whether it was unbatched.

    x is (T, B, D), or (B, T, D) when ``batch_first``, or (T, D) for one unbatched sequence
    (returned as (T, 1, D)); D must be ``input_size`` and T, B at least 1. The copy is the
    layer's own: backward must not see later changes to the caller's x."""
    x = as_real_array("x", x, dtype)
    if x.ndim not in (2, 3):
        raise ValueError(
            f"x: expected 3 dimensions {'(B, T, D)' if batch_first else '(T, B, D)'} "
            f"or 2 dimensions (T, D) for one unbatched sequence, got shape {x.shape}")
    if x.shape[-1] != input_size:
        raise ValueError(f"x: expected feature size (last dimension) {input_size}, got shape {x.shape}")
    unbatched = x.ndim == 2
    if unbatched:
        xt = x[:, None, :]
    else:
        xt = x.transpose(1, 0, 2) if batch_first else x
    if xt.shape[0] == 0 or xt.shape[1] == 0:
        raise ValueError(f"x: expected at least one time step and one sequence, got shape {x.shape}")
    return np.array(xt, order="C"), unbatched


def parse_sequence_grad(name: str, d: ArrayLike, shape: tuple[int, int, int], *, unbatched: bool,
                        batch_first: bool, dtype: DTypeLike) -> np.ndarray:
    """A gradient with respect to a layer's output, in the caller's layout, as time-major (T, B, F).

    ``shape`` is the output's time-major (T, B, F); ``d`` must have the output's shape in the
    caller's layout: (T, B, F), (B, T, F) when ``batch_first``, (T, F) when ``unbatched``.
    The result may be a view of ``d``."""
    T, B, F = shape
    expected = (T, F) if unbatched else ((B, T, F) if batch_first else (T, B, F))
    d = check_shape(name, as_real_array(name, d, dtype), expected, "the shape of the output")
    if unbatched:
        return d[:, None, :]
    return d.transpose(1, 0, 2) if batch_first else d


def _state_shape(shape: tuple[int, int, int], unbatched: bool) -> tuple[tuple[int, ...], str]:
    """The shape a state must have in the caller's layout, and its axes in words."""
    LD, B, H = shape
    if unbatched:
        return (LD, H), "num_layers * num_directions, hidden_size"
    return (LD, B, H), "num_layers * num_directions, batch, hidden_size"


def parse_state(state: Any, shape: tuple[int, int, int], *, unbatched: bool, has_cell: bool, mode: str,
                dtype: DTypeLike) -> tuple[np.ndarray, ...]:
    """A layer's initial state as arrays of ``shape`` = (num_layers * num_directions, B, H).

    ``has_cell`` (the LSTM, ``mode`` names the layer in messages): ``state`` is a tuple
    (h_0, c_0), returned as (h_0, c_0); otherwise one array h_0, returned as (h_0,). Each is
    of ``shape``, or (num_layers * num_directions, H) when ``unbatched``. None: zeros. The
    arrays may be (views of) the caller's: the layer copies them before a step writes."""
    LD, B, H = shape
    expected, what = _state_shape(shape, unbatched)
    if has_cell:
        if state is None:
            h0 = c0 = np.zeros((LD, B, H), dtype)
            return h0, c0
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            got = (f"an array of shape {np.shape(state)}" if hasattr(state, "shape")
                   else f"a {type(state).__name__}" + (f" of length {len(state)}"
                                                       if isinstance(state, (tuple, list)) else ""))
            raise ValueError(f"state: expected a tuple (h_0, c_0) of shape {expected} each "
                             f"for the {mode}, got {got}")
        return tuple(check_shape(name, as_real_array(name, s, dtype), expected, what).reshape(LD, B, H)
                     for name, s in (("state[0] (h_0)", state[0]), ("state[1] (c_0)", state[1])))
    if state is None:
        return (np.zeros((LD, B, H), dtype),)
    if isinstance(state, (tuple, list)):
        raise ValueError(f"state: expected one array h_0 for the {mode}, got a {type(state).__name__}")
    return (check_shape("state (h_0)", as_real_array("state (h_0)", state, dtype),
                        expected, what).reshape(LD, B, H),)


def parse_state_grad(d_state: Any, shape: tuple[int, int, int], *, unbatched: bool, has_cell: bool,
                     mode: str, dtype: DTypeLike) -> tuple[np.ndarray, ...]:
    """The gradient with respect to a layer's final state, as arrays of ``shape``.

    Like :func:`parse_state`: (d_h_n, d_c_n) when ``has_cell``, else one array d_h_n, each
    shaped like the returned state; None: zeros."""
    LD, B, H = shape
    expected, _ = _state_shape(shape, unbatched)
    n_states = 2 if has_cell else 1
    if d_state is None:
        return tuple(np.zeros((LD, B, H), dtype) for _ in range(n_states))
    if has_cell and (not isinstance(d_state, (tuple, list)) or len(d_state) != 2):
        raise ValueError(f"d_state: expected a tuple (d_h_n, d_c_n) of shape {expected} each "
                         f"for the {mode}, got {type(d_state).__name__}"
                         + (f" of shape {np.shape(d_state)}" if hasattr(d_state, "shape") else ""))
    if not has_cell and isinstance(d_state, (tuple, list)):
        raise ValueError(f"d_state: expected one array d_h_n for the {mode}")
    parts = d_state if has_cell else (d_state,)
    return tuple(check_shape(f"d_state[{k}]" if has_cell else "d_state", as_real_array("d_state", p, dtype),
                             expected, "the shape of the returned state").reshape(LD, B, H)
                 for k, p in enumerate(parts))
