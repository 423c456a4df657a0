"""Test vectors for the widgets' BPTT, optimiser, random stream and training run, written by
the package itself.

``python -m companion.widgets.bptt_vectors tests/js/bptt_vectors.json`` (or :func:`write`)
records what companion computes, and ``tests/js/bptt.test.mjs`` checks ``static/rng.js``,
``bptt.js``, ``optim.js`` and ``training.js`` against it to 1e-9:

* ``layers``: every kind and variant (RNN tanh and ReLU, LSTM, GRU torch and lecture) at two
  small sizes: inputs (with exact zeros, as one-hot inputs have), parameters, h0 (c0), dOut,
  dhT (dcT); companion's output, final state, the gradient of every weight and of the input,
  dh0 (dc0), and the total dL/dh_t of every step, computed independently: dOut_t plus the
  dh0 of the same layer run from (h_t, c_t) over the rest of the sequence;
* ``rng``: SplitMix64 draws (u64 as decimal strings, random, uniform, integers, normal in
  sequence) for seeds 0, 2**40 + 12345 and 2**63 + 5 (a BigInt on the page);
* ``heads``: :class:`companion.OutputHead` forward, softmax cross-entropy and backward;
* ``adam``: 20 steps of :class:`companion.optim.Adam` on fixed parameters and gradients,
  defaults and with weight decay; ``clip``: :func:`companion.optim.clip_grad_norm`;
* ``runs``: the first 20 steps of :class:`companion.page_training.TrainingRun` per kind.

``tests/test_page_training.py`` checks that regenerating gives the committed file.
"""
from __future__ import annotations

import json
import sys
from os import PathLike

import numpy as np

from ..head import OutputHead
from ..layers import GRU, LSTM, RNN
from ..optim import Adam, clip_grad_norm
from ..page_training import TrainingRun
from ..rng import SplitMix64

__all__ = ["generate", "write", "dumps", "TOLERANCE", "LAYER_SIZES", "RUN_CONFIG"]

TOLERANCE = 1e-9
#: (T, B, D, H) of the layer cases
LAYER_SIZES = ((3, 2, 3, 2), (4, 2, 4, 3))
VARIANTS = (("rnn", {"nonlinearity": "tanh"}), ("rnn", {"nonlinearity": "relu"}), ("lstm", {}),
            ("gru", {"variant": "torch"}), ("gru", {"variant": "lecture"}))
#: the training runs: small, so the file stays small; the bias knobs away from 0
RUN_CONFIG = {"distance": 6, "hidden": 4, "batch": 8, "n_symbols": 3, "n_noise": 2, "n_eval": 16,
              "eval_every": 5, "seed": 7, "lr": 0.05, "clip": 0.5}
RUNS = (("rnn", {"nonlinearity": "tanh"}), ("lstm", {"forget_bias": 1.0}),
        ("gru", {"variant": "lecture", "update_bias": -1.0}), ("gru", {"variant": "torch", "update_bias": 1.0}))
RNG_SEEDS = (0, 2**40 + 12345, 2**63 + 5)


def _l(a):
    return np.asarray(a, dtype=np.float64).ravel().tolist()


def _layer(kind, opt, D, H):
    return {"rnn": RNN, "lstm": LSTM, "gru": GRU}[kind](D, H, **opt)


def _layer_case(kind, opt, T, B, D, H, rng):
    layer = _layer(kind, opt, D, H)
    for p in layer.params.values():
        p[...] = rng.uniform(-0.8, 0.8, p.shape)
    x = rng.uniform(-1.5, 1.5, (T, B, D))
    x[rng.random((T, B, D)) < 0.3] = 0.0             # exact zeros: the JS skips them
    h0, dOut, dhT = rng.uniform(-1, 1, (B, H)), rng.uniform(-1, 1, (T, B, H)), rng.uniform(-1, 1, (B, H))
    lstm = kind == "lstm"
    c0, dcT = (rng.uniform(-1, 1, (B, H)), rng.uniform(-1, 1, (B, H))) if lstm else (None, None)
    state = (h0[None], c0[None]) if lstm else h0[None]
    out, s_n = layer(x, state)
    dx, ds0 = layer.backward(dOut, (dhT[None], dcT[None]) if lstm else dhT[None])
    grads = {k: _l(v) for k, v in layer.grads.items()}
    hs = [(h0, c0)] + [None] * T
    traces = layer.traces["l0"] if lstm else None
    for t in range(T):
        hs[t + 1] = (out[t], traces["C"][t] if lstm else None)
    dh = np.empty((T, B, H))
    for t in range(T):      # the total dL/dh_t: from above, plus the rest of the sequence's dh0
        if t == T - 1:
            dh[t] = dOut[t] + dhT
            continue
        sub = _layer(kind, opt, D, H)
        sub.params = {k: v.copy() for k, v in layer.params.items()}
        h, cc = hs[t + 1]
        sub(x[t + 1:], (h[None], cc[None]) if lstm else h[None])
        _, d0 = sub.backward(dOut[t + 1:], (dhT[None], dcT[None]) if lstm else dhT[None])
        dh[t] = dOut[t] + (d0[0][0] if lstm else d0[0])
    case = {"name": f"{kind} {opt} T={T} B={B} D={D} H={H}", "kind": kind, **opt,
            "T": T, "B": B, "D": D, "H": H, "params": {k: _l(v) for k, v in layer.params.items()},
            "x": _l(x), "h0": _l(h0), "dOut": _l(dOut), "dhT": _l(dhT),
            "expected": {"out": _l(out), "hT": _l(s_n[0] if lstm else s_n), "grads": grads,
                         "dx": _l(dx), "dh": _l(dh), "dh0": _l(ds0[0] if lstm else ds0)}}
    if lstm:
        case.update(c0=_l(c0), dcT=_l(dcT))
        case["expected"].update(cT=_l(s_n[1]), dc0=_l(ds0[1]))
    return case


def _rng_case(seed):
    s = SplitMix64(seed)
    return {"seed": str(seed),
            "u64": [str(s.next_u64()) for _ in range(20)],
            "random": [s.random() for _ in range(20)],
            "uniform": {"lo": -0.5, "hi": 2.0, "values": [s.uniform(-0.5, 2.0) for _ in range(20)]},
            "integers": {"lo": -3, "hi": 10, "values": [s.integers(-3, 10) for _ in range(20)]},
            "normal": [s.normal() for _ in range(20)]}


def _head_case(B, H, K, rng):
    head = OutputHead(H, K)
    for p in head.params.values():
        p[...] = rng.uniform(-2, 2, p.shape)
    h, y = rng.uniform(-1, 1, (B, H)), rng.integers(0, K, B)
    o, probs = head(h)
    L, d_o = head.loss(o[None], y[None])
    dh = head.backward(d_o[0])
    return {"name": f"head B={B} H={H} K={K}", "B": B, "H": H, "K": K, "h": _l(h), "targets": y.tolist(),
            "V": _l(head.params["V"]), "c": _l(head.params["c"]),
            "expected": {"logits": _l(o), "loss": float(L), "probs": _l(probs), "dLogits": _l(d_o),
                         "correct": int((o.argmax(-1) == y).sum()), "dV": _l(head.grads["V"]),
                         "dc": _l(head.grads["c"]), "dh": _l(dh)}}


def _adam_case(options, rng):
    shapes = {"a": (3, 4), "b": (5,)}
    params = {k: rng.uniform(-1, 1, s) for k, s in shapes.items()}
    start = {k: _l(v) for k, v in params.items()}
    opt = Adam(params, **options)
    grads, after = [], []
    for _ in range(20):
        g = {k: rng.uniform(-1, 1, s) * 10.0 ** rng.integers(-3, 2) for k, s in shapes.items()}
        opt.step(g)
        grads.append({k: _l(v) for k, v in g.items()})
        after.append({k: _l(v) for k, v in params.items()})
    js = {"lr": options.get("lr", 1e-3), "betas": list(options.get("betas", (0.9, 0.999))),
          "eps": options.get("eps", 1e-8), "weightDecay": options.get("weight_decay", 0.0)}
    return {"name": f"adam {options}", "options": js, "params": start, "grads": grads, "expected": after}


def _clip_case(max_norm, rng):
    grads = {"a": rng.uniform(-1, 1, (2, 3)), "b": rng.uniform(-1, 1, 4)}
    before = {k: _l(v) for k, v in grads.items()}
    total = clip_grad_norm(grads, max_norm)
    return {"maxNorm": max_norm, "grads": before,
            "expected": {"total": total, "grads": {k: _l(v) for k, v in grads.items()}}}


def _camel(name):
    head, *rest = name.split("_")
    return head + "".join(w.title() for w in rest)


def _run_case(kind, opt):
    cfg = {**RUN_CONFIG, "kind": kind, **opt}
    run = TrainingRun(**cfg)
    history = run.train(20)
    return {"name": f"run {kind} {opt}", "config": {_camel(k): v for k, v in cfg.items()},
            "history": {_camel(k): v for k, v in history.items()},
            "params": {k: _l(v) for k, v in run.params.items()}}


def generate(seed: int = 0) -> dict:
    """The vectors as a dict; deterministic for a seed (inputs drawn with numpy's default_rng)."""
    rng = np.random.default_rng(seed)
    layers = [_layer_case(kind, opt, *size, rng) for size in LAYER_SIZES for kind, opt in VARIANTS]
    return {"generator": f"companion.widgets.bptt_vectors.generate(seed={seed:d})", "tolerance": TOLERANCE,
            "layers": layers,
            "rng": [_rng_case(s) for s in RNG_SEEDS],
            "heads": [_head_case(3, 4, 5, rng), _head_case(4, 2, 3, rng)],
            "adam": [_adam_case({"lr": 0.01}, rng),
                     _adam_case({"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}, rng)],
            "clip": [_clip_case(0.5, rng), _clip_case(100.0, rng)],
            "runs": [_run_case(kind, opt) for kind, opt in RUNS]}


def dumps(vectors: dict) -> str:
    """The JSON text :func:`write` writes: one case per line, keys sorted, floats exact (repr)."""
    parts = []
    for key, value in vectors.items():
        if isinstance(value, list):
            body = ",\n".join(json.dumps(c, sort_keys=True, allow_nan=False) for c in value)
            parts.append(f"{json.dumps(key)}: [\n{body}\n]")
        else:
            parts.append(f"{json.dumps(key)}: {json.dumps(value)}")
    return "{" + ",\n".join(parts) + "}\n"


def write(path: str | PathLike, seed: int = 0) -> str | PathLike:
    """Write the vectors to ``path`` (the committed file is tests/js/bptt_vectors.json)."""
    text = dumps(generate(seed))
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return path


if __name__ == "__main__":
    write(sys.argv[1] if len(sys.argv) > 1 else "tests/js/bptt_vectors.json")
