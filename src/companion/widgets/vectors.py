"""Test vectors for the widgets' JavaScript cell math, written by the package itself.

``python -m companion.widgets.vectors tests/js/vectors.json`` (or :func:`write`)
runs :mod:`companion.cells` on seeded random inputs of several sizes, every cell
and variant (vanilla RNN with tanh and ReLU and its softmax head; LSTM without
peephole, diagonal and full; GRU in the lecture's and torch's forms) and one
short sequence per cell (stepped by :func:`companion.widgets.sequence.run_sequence`,
what the sequence stepper runs), and stores inputs and outputs as JSON. The
weights are drawn with :func:`companion.cells.random_weights`, so their names and
shapes are the schema's. Node's test runner (``node --test tests/js/``) checks
``static/cells.js`` against them, and ``tests/test_widgets.py`` checks that
regenerating gives the committed file, so the two implementations cannot drift
apart unnoticed.
"""
from __future__ import annotations

import json
import sys
from os import PathLike

import numpy as np

from .. import cells
from .sequence import run_sequence

__all__ = ["generate", "write", "SIZES", "TOLERANCE"]

#: (D, H, K): input size, hidden size, number of output classes
SIZES = ((1, 1, 2), (3, 2, 3), (5, 4, 6))
#: input scales: ordinary values, and large ones that saturate tanh and sigmoid
SCALES = (1.0, 30.0)
TOLERANCE = 1e-9


def _l(a):
    return None if a is None else np.asarray(a, dtype=np.float64).tolist()


def _dl(w):
    return {k: _l(v) for k, v in sorted(w.items())}


def generate(seed: int = 0) -> dict:
    """The vectors as a dict: ``{"generator", "tolerance", "cases": [...]}``; deterministic for a seed.

    Weights are drawn with :func:`companion.cells.random_weights` (uniform, in the schema's
    order) from the one generator that also draws the inputs."""
    rng = np.random.default_rng(seed)
    out = []
    for D, H, K in SIZES:
        for scale in SCALES:
            u = lambda *shape, s=scale: rng.uniform(-1, 1, shape) * s  # noqa: E731
            tag = f"D={D} H={H} K={K} scale={scale:g}"
            for nl in cells.NONLINEARITIES:
                x, h = u(D), u(H)
                r = cells.random_weights("rnn", D, H, rng, scale=scale)
                U, W, b = r["U"], r["W"], r["b"]
                V, c = u(K, H), u(K)    # the softmax head is no cell weight: not in the schema
                s = cells.rnn_step(x, h, U, W, b, V, c, nonlinearity=nl)
                out.append({"name": f"rnn {nl} {tag}", "cell": "rnn", "nonlinearity": nl,
                            "x_t": _l(x), "h_prev": _l(h), "U": _l(U), "W": _l(W), "b": _l(b),
                            "V": _l(V), "c": _l(c), "expected": {k: _l(v) for k, v in s._asdict().items()}})
            for peephole in cells.PEEPHOLES:
                x, h, C = u(D), u(H), u(H)
                w = cells.random_weights("lstm", D, H, rng, peephole=peephole, scale=scale)
                s = cells.lstm_step(x, h, C, w, peephole=peephole)
                out.append({"name": f"lstm peephole={peephole} {tag}", "cell": "lstm",
                            "peephole": peephole, "x_t": _l(x), "h_prev": _l(h), "C_prev": _l(C),
                            "w": _dl(w), "expected": {k: _l(v) for k, v in s._asdict().items()}})
            for variant in cells.GRU_VARIANTS:
                x, h = u(D), u(H)
                w = cells.random_weights("gru", D, H, rng, scale=scale)
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
        w = cells.random_weights(kind, D, H, rng, peephole=opt.get("peephole"))
        out.append({"name": f"sequence {kind} {opt}", "cell": "sequence", "kind": kind, **opt,
                    "xs": _l(xs), "h0": _l(h0), "C0": _l(C0), "w": _dl(w),
                    "expected": {k: _l(v) for k, v in run_sequence(kind, xs, w, h0, C0, **opt).items()}})
    return {"generator": f"companion.widgets.vectors.generate(seed={seed:d})",
            "tolerance": TOLERANCE, "cases": out}


def dumps(vectors: dict) -> str:
    """The JSON text :func:`write` writes: one case per line, keys sorted, floats exact (repr)."""
    lines = [json.dumps(c, sort_keys=True, allow_nan=False) for c in vectors["cases"]]
    head = json.dumps({k: v for k, v in vectors.items() if k != "cases"}, sort_keys=True)
    return head[:-1] + ', "cases": [\n' + ",\n".join(lines) + "\n]}\n"


def write(path: str | PathLike, seed: int = 0) -> str | PathLike:
    """Write the vectors to ``path`` (the committed file is tests/js/vectors.json)."""
    text = dumps(generate(seed))
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return path


if __name__ == "__main__":
    write(sys.argv[1] if len(sys.argv) > 1 else "tests/js/vectors.json")
