"""CharLMSampler: chapter 12's trained character LSTM, sampled and inspected in the page.

The widget carries the model's weights in its state (float32, base64, little-endian: the
bytes of ``data/charlm/lstm.npz``), so the static page needs no file and no server: it runs
from ``file://`` too. Its JavaScript (``static/charlm.js``) samples with the rule of
:func:`companion.charlm.sample` from the same SplitMix64 stream, so the same prime,
temperature and seed give the same characters here (:meth:`CharLMSampler.sample`) and on the
page (``tests/js/charlm.test.mjs`` proves it over shared vectors). The "colour by unit k" view
colours each character of a text by tanh(C_t[k]) of the unit chosen, recomputed by the page.

    import companion.widgets as cw
    cw.show(cw.CharLMSampler(prime="The forget gate", unit=17))
"""
from __future__ import annotations

import base64
import numbers
from typing import Any

import numpy as np
import traitlets as T

from .. import charlm
from .embed import bundle
from .explorers import _Widget

__all__ = ["CharLMSampler", "weights_state", "vectors", "write_vectors", "VECTOR_CASES"]


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def weights_state(model: charlm.CharLM) -> dict[str, Any]:
    """The page's weights of an LSTM ``model``: vocabulary, H, and each array as base64 float32
    (row-major: W_ih (4H, K), W_hh (4H, H), b_ih, b_hh (4H,), V (K, H), c (K,))."""
    if model.kind != "lstm":
        raise ValueError(f"model: the page runs the LSTM; got a {model.kind}")
    p = model.layer.params
    w = {"W_ih": p["weight_ih_l0"], "W_hh": p["weight_hh_l0"], "b_ih": p["bias_ih_l0"], "b_hh": p["bias_hh_l0"],
         "V": model.V, "c": model.c}
    out = {k: _b64(v) for k, v in w.items()}
    out.update(vocab=model.vocab, H=int(model.H))
    return out


class CharLMSampler(_Widget):
    """Prime text, temperature τ, seed and length in; Generate draws the text in the page.

    ``model``: a :class:`companion.charlm.CharLM` LSTM (default: the shipped one, float32);
    ``view_text``: the text the unit view colours before anything is generated (default: the
    prime). Refused values raise ``traitlets.TraitError`` naming the trait."""

    _module = "charlm"
    _esm = bundle("charlm")
    weights = T.Dict().tag(sync=True)
    prime = T.Unicode("The ").tag(sync=True)
    temperature = T.Float(1.0).tag(sync=True)
    seed = T.Int(0).tag(sync=True)
    length = T.Int(200).tag(sync=True)
    unit = T.Int(0).tag(sync=True)
    view_text = T.Unicode("").tag(sync=True)
    #: the text the page generated last (written by the page)
    text = T.Unicode("").tag(sync=True)
    _COMPUTED = ("outputs", "traces", "text")

    def __init__(self, model: charlm.CharLM | None = None, **kwargs: Any) -> None:
        model = charlm.load("lstm") if model is None else model
        self._model = model
        kwargs.setdefault("view_text", kwargs.get("prime", "The "))
        super().__init__(weights=weights_state(model), **kwargs)

    def _chars(self, name, v, allow_empty=False):
        if not isinstance(v, str) or (not v and not allow_empty) or len(v) > 5000:
            raise T.TraitError(f"{name}: expected a text of 1 to 5000 characters, got {v!r:.40}")
        bad = next((ch for ch in v if ch not in self._model.vocab), None)
        if bad is not None:
            raise T.TraitError(f"{name}: the character {bad!r} is not in the model's vocabulary")
        return v

    @T.validate("prime")
    def _v_prime(self, proposal):
        return self._chars("prime", proposal["value"])

    @T.validate("view_text")
    def _v_view(self, proposal):
        return self._chars("view_text", proposal["value"], allow_empty=True)

    @T.validate("temperature")
    def _v_temperature(self, proposal):
        v = proposal["value"]
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0.1 <= v <= 2:
            raise T.TraitError(f"temperature: expected a number in [0.1, 2], got {v!r}")
        return float(v)

    @T.validate("seed", "length", "unit")
    def _v_ints(self, proposal):
        name, v = proposal["trait"].name, proposal["value"]
        hi = {"seed": 2 ** 31 - 1, "length": 2000, "unit": self._model.H - 1}[name]
        lo = 1 if name == "length" else 0
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not lo <= v <= hi:
            raise T.TraitError(f"{name}: expected an integer in [{lo}, {hi}], got {v!r}")
        return int(v)

    def sample(self) -> str:
        """What Generate shows after the prime: :func:`companion.charlm.sample` in float64 with
        the widget's prime, temperature, seed and length."""
        m64 = self._model.astype(np.float64)
        return charlm.sample(m64, self.prime, self.length, self.temperature, self.seed)



#: the cases the page's sampler is proved on: 3 seeds x 2 temperatures, 200 characters each
VECTOR_CASES = [{"prime": "The ", "temperature": tau, "seed": seed, "n": 200}
                for tau in (0.5, 1.0) for seed in (0, 1, 2)]


def vectors(model: charlm.CharLM | None = None, weights_path: str = "data/charlm/lstm.npz") -> dict[str, Any]:
    """The shared test vectors of ``tests/js/charlm.test.mjs``: for each case of
    :data:`VECTOR_CASES` the text :func:`companion.charlm.sample` draws (float64, from the shipped
    float32 weights), and the cells C_t of a short text at a few units. The margins (how far each
    draw's u was from a cumulative-probability boundary) are checked to be far above the last-bit
    differences between numpy and JavaScript, so the same characters must come out."""
    import hashlib
    from pathlib import Path
    model = charlm.load("lstm") if model is None else model
    m64 = model.astype(np.float64)
    cases, margins = [], []
    for case in VECTOR_CASES:
        text, margin = charlm.sample(m64, case["prime"], case["n"], case["temperature"], case["seed"],
                                     return_margin=True)
        cases.append({**case, "text": text})
        margins.append(margin)
    probe = "The cell $C_t$ (see `lstm`)."
    m64.forward(charlm.encode(probe, m64.vocab))
    C = m64.layer.traces["l0"]["C"][:, 0, :]
    units = [0, 1, m64.H // 2, m64.H - 1]
    root = Path(charlm.__file__).resolve().parents[2]
    return {"weights": weights_path,
            "weights_sha256": hashlib.sha256((root / weights_path).read_bytes()).hexdigest(),
            "cases": cases, "min_margin_exponent": int(np.floor(np.log10(min(margins)))),
            "cells": {"text": probe, "units": units, "C": np.round(C[:, units], 12).tolist()}}


def write_vectors(path: str | None = None) -> None:
    """Write :func:`vectors` to ``tests/js/charlm_vectors.json`` (after retraining the model)."""
    import json
    from pathlib import Path
    out = Path(charlm.__file__).resolve().parents[2] / "tests" / "js" / "charlm_vectors.json" if path is None \
        else Path(path)
    out.write_text(json.dumps(vectors(), indent=1) + "\n")
