"""Argument checks shared by the layers: each failure names the argument, what was expected
and what was given, and is raised before anything is changed."""
from __future__ import annotations

import numbers

import numpy as np

DTYPES = (np.float32, np.float64)


def check_dtype(dtype):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.type not in DTYPES:
        raise ValueError(f"dtype: expected np.float32 or np.float64, got {dtype!r}")
    return dt


def check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def check_choice(name, value, choices):
    """``value`` if it is one of ``choices``; otherwise a ValueError naming ``name`` and the choices."""
    try:
        ok = value in choices
    except TypeError:          # an unhashable or odd value: not one of the choices
        ok = False
    if not ok:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}: expected True or False, got {value!r}")
    return bool(value)


def as_real_array(name, value, dtype, copy=False):
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


def check_shape(name, arr, expected, what=""):
    if arr.shape != tuple(expected):
        extra = f" ({what})" if what else ""
        raise ValueError(f"{name}: expected shape {tuple(expected)}{extra}, got {arr.shape}")
    return arr


def check_param(name, p, shape, dtype):
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
