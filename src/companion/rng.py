r"""SplitMix64: one small seeded random stream shared by Python and the widgets' JavaScript.

The same seed gives the same numbers here and in ``widgets/static/rng.js`` (proved by
``tests/js/bptt.test.mjs`` over vectors this module writes), so weights, task data and a whole
training curve agree between a notebook and the static page.

The algorithm (Steele, Lea & Flood 2014; Vigna's reference ``splitmix64.c``), all arithmetic
mod 2**64::

    state += 0x9E3779B97F4A7C15            # the golden-ratio increment γ
    z = state
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB
    return z ^ (z >> 31)                    # next_u64()

Derived draws, each from the next u64 values of the stream, in order:

* ``random()`` = (z >> 11) · 2⁻⁵³: the top 53 bits, a float in [0, 1) exactly representable;
* ``uniform(lo, hi)`` = lo + (hi − lo) · random();
* ``integers(lo, hi)`` = lo + min(⌊random() · (hi − lo)⌋, hi − lo − 1), an int in [lo, hi)
  (hi − lo ≤ 2⁵³; the min only matters where the product rounds up, for very wide ranges);
* ``normal()`` = √(−2 ln(1 − u₁)) · cos(2π u₂) with u₁, u₂ two random() draws (Box–Muller,
  one normal per two draws, the sine half discarded so each call stands alone; 1 − u₁ ∈ (0, 1]
  keeps the logarithm finite).

The array forms (``random(n)``, ``uniform(lo, hi, size)``, ...) draw in C order exactly what
as many scalar calls would: the i-th state is seed + i·γ, so n states are one numpy uint64
product, whose arithmetic wraps mod 2**64 as the algorithm needs.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["SplitMix64", "GAMMA", "MASK64"]

GAMMA = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
MASK64 = (1 << 64) - 1
_TWO53 = 2.0 ** -53


def _check_int(name, value, low, high):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) \
            or not low <= int(value) < high:
        raise ValueError(f"{name}: expected an integer in [{low}, {high}), got {value!r}")
    return int(value)


def _check_real(name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return float(value)


def _check_size(size):
    """``size`` as a shape tuple (an int n is (n,)), each entry an integer >= 0."""
    shape = (size,) if isinstance(size, numbers.Integral) and not isinstance(size, (bool, np.bool_)) \
        else size
    if not isinstance(shape, tuple) or not all(
            isinstance(n, numbers.Integral) and not isinstance(n, (bool, np.bool_)) and n >= 0
            for n in shape):
        raise ValueError(f"size: expected None, an integer >= 0 or a tuple of them, got {size!r}")
    return tuple(int(n) for n in shape)


def _mix(z):
    """The output function on a uint64 array (wrapping products)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
    return z ^ (z >> np.uint64(31))


class SplitMix64:
    """A SplitMix64 stream. seed: an integer in [0, 2**64) (the page passes one below 2**53,
    or a BigInt)."""

    def __init__(self, seed: int = 0) -> None:
        self.state = _check_int("seed", seed, 0, 1 << 64)

    # ---------------------------------------------------------------- raw draws
    def next_u64(self) -> int:
        """The next 64-bit output as a Python int."""
        self.state = (self.state + GAMMA) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * _M1) & MASK64
        z = ((z ^ (z >> 27)) * _M2) & MASK64
        return z ^ (z >> 31)

    def u64(self, n: int) -> np.ndarray:
        """The next n outputs as a uint64 array (what n calls of :meth:`next_u64` return)."""
        n = _check_size(n)
        count = math.prod(n)
        k = np.arange(1, count + 1, dtype=np.uint64)
        with np.errstate(over="ignore"):
            out = _mix(k * np.uint64(GAMMA) + np.uint64(self.state))
        self.state = (self.state + count * GAMMA) & MASK64
        return out.reshape(n)

    # ---------------------------------------------------------------- derived draws
    def random(self, size=None):
        """(z >> 11) · 2⁻⁵³ in [0, 1): a float, or an array of ``size`` drawn in C order."""
        if size is None:
            return (self.next_u64() >> 11) * _TWO53
        return (self.u64(size) >> np.uint64(11)).astype(np.float64) * _TWO53

    def uniform(self, lo: float = 0.0, hi: float = 1.0, size=None):
        """lo + (hi − lo) · random(); lo < hi, both finite."""
        lo, hi = _check_real("lo", lo), _check_real("hi", hi)
        if not lo < hi:
            raise ValueError(f"lo, hi: expected lo < hi, got lo={lo!r}, hi={hi!r}")
        return lo + (hi - lo) * self.random(size)

    def integers(self, lo: int, hi: int, size=None):
        """lo + ⌊random() · (hi − lo)⌋ in [lo, hi): an int, or an int64 array of ``size``."""
        lo = _check_int("lo", lo, -(1 << 53), 1 << 53)
        hi = _check_int("hi", hi, -(1 << 53), 1 << 53)
        if not lo < hi or hi - lo > 1 << 53:
            raise ValueError(f"lo, hi: expected lo < hi and hi - lo <= 2**53, got lo={lo}, hi={hi}")
        # min(..., hi - lo - 1): for a wide range the product can round up to hi - lo itself
        if size is None:
            return lo + min(math.floor(self.random() * (hi - lo)), hi - lo - 1)
        return lo + np.minimum(np.floor(self.random(size) * (hi - lo)), hi - lo - 1).astype(np.int64)

    def normal(self, size=None):
        """Box–Muller from two random() draws u₁, u₂: √(−2 ln(1 − u₁)) · cos(2π u₂).

        The scalar form computes through the same numpy functions as the array form, so
        ``normal(n)`` equals n calls of ``normal()`` bit for bit."""
        if size is None:
            return float(self.normal(1)[0])
        shape = _check_size(size)
        u = self.random(2 * math.prod(shape)).reshape(-1, 2)
        return (np.sqrt(-2.0 * np.log(1.0 - u[:, 0])) * np.cos(2.0 * np.pi * u[:, 1])).reshape(shape)

    def __repr__(self) -> str:
        return f"SplitMix64(state=0x{self.state:016X})"
