"""Test vectors for the widgets' JavaScript cell math, written by the package itself.

``python -m companion.widgets.vectors tests/js/vectors.json`` (or :func:`write`)
runs :mod:`companion.cells` on seeded random inputs of several sizes, every cell
and variant (vanilla RNN with tanh and ReLU and its softmax head; LSTM without
peephole, diagonal and full; GRU in the lecture's and torch's forms) and one
short sequence per cell, and stores inputs and outputs as JSON. Node's test
runner (``node --test tests/js/``) checks ``static/cells.js`` against them, and
``tests/test_widgets.py`` checks that regenerating gives the committed file, so
the two implementations cannot drift apart unnoticed.
"""
from __future__ import annotations

import json
import sys

import numpy as np

from .. import cells

__all__ = ["generate", "write", "SIZES", "TOLERANCE"]

#: (D, H, K): input size, hidden size, number of output classes
SIZES = ((1, 1, 2), (3, 2, 3), (5, 4, 6))
#: input scales: ordinary values, and large ones that saturate tanh and sigmoid
SCALES = (1.0, 30.0)
TOLERANCE = 1e-9


def _l(a):
    return None if a is None else np.asarray(a, dtype=np.float64).tolist()


def _lstm_weights(rng, D, H, scale, peephole):
    w = {}
    for g in "ifCo":
        w[f"W_x{g}"] = rng.uniform(-1, 1, (H, D)) * scale
        w[f"W_h{g}"] = rng.uniform(-1, 1, (H, H)) * scale
        w[f"b_{g}"] = rng.uniform(-1, 1, H) * scale
    if peephole:
        shape = (H,) if peephole == "diagonal" else (H, H)
        for g in "ifo":
            w[f"w_c{g}"] = rng.uniform(-1, 1, shape) * scale
    return w


def _gru_weights(rng, D, H, scale):
    w = {}
    for g in "rz":
        w[f"W_x{g}"] = rng.uniform(-1, 1, (H, D)) * scale
        w[f"W_h{g}"] = rng.uniform(-1, 1, (H, H)) * scale
        w[f"b_{g}"] = rng.uniform(-1, 1, H) * scale
    w["W_xh"] = rng.uniform(-1, 1, (H, D)) * scale
    w["W_hh"] = rng.uniform(-1, 1, (H, H)) * scale
    w["b_xh"] = rng.uniform(-1, 1, H) * scale
    w["b_hh"] = rng.uniform(-1, 1, H) * scale
    return w


def _dl(w):
    return {k: _l(v) for k, v in sorted(w.items())}


def generate(seed=0):
    """The vectors as a dict: ``{"tolerance", "cases": [...]}``; deterministic for a seed."""
    rng = np.random.default_rng(seed)
    out = []
    for D, H, K in SIZES:
        for scale in SCALES:
            u = lambda *shape: rng.uniform(-1, 1, shape) * scale  # noqa: E731
            tag = f"D={D} H={H} K={K} scale={scale:g}"
            for nl in cells.NONLINEARITIES:
                x, h, U, W, b, V, c = u(D), u(H), u(H, D), u(H, H), u(H), u(K, H), u(K)
                s = cells.rnn_step(x, h, U, W, b, V, c, nonlinearity=nl)
                out.append({"name": f"rnn {nl} {tag}", "cell": "rnn", "nonlinearity": nl,
                            "x_t": _l(x), "h_prev": _l(h), "U": _l(U), "W": _l(W), "b": _l(b),
                            "V": _l(V), "c": _l(c), "expected": {k: _l(v) for k, v in s._asdict().items()}})
            for peephole in cells.PEEPHOLES:
                x, h, C = u(D), u(H), u(H)
                w = _lstm_weights(rng, D, H, scale, peephole)
                s = cells.lstm_step(x, h, C, w, peephole=peephole)
                out.append({"name": f"lstm peephole={peephole} {tag}", "cell": "lstm",
                            "peephole": peephole, "x_t": _l(x), "h_prev": _l(h), "C_prev": _l(C),
                            "w": _dl(w), "expected": {k: _l(v) for k, v in s._asdict().items()}})
            for variant in cells.GRU_VARIANTS:
                x, h = u(D), u(H)
                w = _gru_weights(rng, D, H, scale)
                s = cells.gru_step(x, h, w, variant=variant)
                out.append({"name": f"gru {variant} {tag}", "cell": "gru", "variant": variant,
                            "x_t": _l(x), "h_prev": _l(h), "w": _dl(w),
                            "expected": {k: _l(v) for k, v in s._asdict().items()}})
    # short sequences, stepped with the same cells: what the sequence stepper shows
    D, H, T = 2, 3, 6
    xs = rng.uniform(-1, 1, (T, D))
    h0, C0 = rng.uniform(-1, 1, H), rng.uniform(-1, 1, H)
    seqs = [("rnn", {}), ("lstm", {"peephole": None}), ("lstm", {"peephole": "diagonal"}),
            ("gru", {"variant": "lecture"}), ("gru", {"variant": "torch"})]
    for kind, opt in seqs:
        if kind == "rnn":
            w = {"U": rng.uniform(-1, 1, (H, D)), "W": rng.uniform(-1, 1, (H, H)),
                 "b": rng.uniform(-1, 1, H)}
        elif kind == "lstm":
            w = _lstm_weights(rng, D, H, 1.0, opt["peephole"])
        else:
            w = _gru_weights(rng, D, H, 1.0)
        out.append({"name": f"sequence {kind} {opt}", "cell": "sequence", "kind": kind, **opt,
                    "xs": _l(xs), "h0": _l(h0), "C0": _l(C0), "w": _dl(w),
                    "expected": {k: _l(v) for k, v in run_sequence(kind, xs, w, h0, C0, **opt).items()}})
    return {"generator": "companion.widgets.vectors.generate(seed=%d)" % seed,
            "tolerance": TOLERANCE, "cases": out}


def run_sequence(kind, xs, w, h0, C0=None, peephole=None, variant="lecture", nonlinearity="tanh"):
    """Step a whole sequence through one cell of :mod:`companion.cells`; per-step traces named
    like ``layer.traces`` (rnn a, h; lstm f, i, C_tilde, C, o, h; gru z, r, h_tilde, h)."""
    names = {"rnn": ("a", "h"), "lstm": ("f", "i", "C_tilde", "C", "o", "h"),
             "gru": ("z", "r", "h_tilde", "h")}[kind]
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


def dumps(vectors):
    """The JSON text :func:`write` writes: one case per line, keys sorted, floats exact (repr)."""
    lines = [json.dumps(c, sort_keys=True, allow_nan=False) for c in vectors["cases"]]
    head = json.dumps({k: v for k, v in vectors.items() if k != "cases"}, sort_keys=True)
    return head[:-1] + ', "cases": [\n' + ",\n".join(lines) + "\n]}\n"


def write(path, seed=0):
    """Write the vectors to ``path`` (the committed file is tests/js/vectors.json)."""
    text = dumps(generate(seed))
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return path


if __name__ == "__main__":
    write(sys.argv[1] if len(sys.argv) > 1 else "tests/js/vectors.json")
