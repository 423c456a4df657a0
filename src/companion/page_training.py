r"""The page's training run, in Python: the reference ``widgets/static/training.js`` is proved
equal to (same seed, same data, weights and curve; ``tests/js/bptt.test.mjs``, 20 steps to 1e-9).

The run trains companion's own layers on chapter 09's recall task: remember the symbol at
t = 0 for ``distance`` steps and name it when the query comes. Each step

.. math::

    L = -\frac1B \sum_b \log \hat y_b[y_b], \qquad \hat y_b = \mathrm{softmax}(c + V h_b(T)), \qquad
    \nabla \leftarrow \nabla \cdot \min\Big(1, \frac{\tau}{\|\nabla\| + 10^{-6}}\Big), \qquad
    \theta \leftarrow \mathrm{Adam}(\theta, \nabla)

is :func:`companion.numpy_training.forward_backward` (``output="last"``: BPTT through
``companion.RNN``/``LSTM``/``GRU`` and :class:`companion.OutputHead`), then
:func:`companion.optim.clip_grad_norm` and :class:`companion.optim.Adam` over all parameters.

Randomness: three :class:`companion.rng.SplitMix64` streams of one ``seed`` (mod 2**64):
the weights from ``SplitMix64(seed)``; the training batches from ``SplitMix64(seed + 2**62)``,
a fresh batch each step (:func:`companion.tasks.recall_batch`); the fixed evaluation batch of
``n_eval`` sequences from ``SplitMix64(seed + 2**63)``. Streams s and s + 2**62 of SplitMix64
would meet only after 2**62 draws (their offset is an odd multiple of 2**62 steps of γ).
The weights are torch's init, U(−1/√H, 1/√H), drawn in the layer's parameter order
(``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``, each in C order),
then the head's V (K, H) and c (K,) with the same bound. Then the gate knobs: the LSTM's
forget-gate block (rows H..2H) of ``bias_ih_l0`` is set to ``forget_bias`` and of ``bias_hh_l0``
to 0 (so b_f = ``forget_bias`` exactly); the GRU's update-gate block (rows H..2H) likewise
to ``update_bias`` (with ``variant="lecture"`` z_t is the slides' z, h_t = (1 − z) h_{t−1} + z h̃:
a negative bias keeps the memory; with ``"torch"`` a positive one does).

Reported per step (:meth:`TrainingRun.step`): ``loss`` (the batch's L, before the update),
``train_accuracy`` (the batch's, before the update), ``accuracy`` (on the evaluation batch
after the update, every ``eval_every`` steps, else None), ``grad_first`` = (1/B) Σ_b ‖∂ℓ_b/∂x_b(0)‖
with ℓ_b = −log ŷ_b[y_b] (= Σ_b ‖∂L/∂x_b(0)‖, since L is the mean): the gradient that reaches the
remembered token, and ``grad_norm`` (‖∇‖ before clipping).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .head import OutputHead
from .layers import GRU, LSTM, RNN
from .numpy_training import forward_backward
from .optim import Adam, clip_grad_norm, global_norm
from .rng import MASK64, SplitMix64
from .tasks import recall_batch
from .validation import check_choice, check_positive_int

__all__ = ["TrainingRun", "KINDS", "DEFAULTS", "one_hot", "stream_seeds"]

KINDS = ("rnn", "lstm", "gru")
_LAYERS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}

#: the configuration and its defaults, the same as training.js's createRun (camelCase there)
DEFAULTS = {"kind": "lstm", "distance": 20, "hidden": 8, "batch": 32, "lr": 0.01, "seed": 0,
            "clip": 1.0, "forget_bias": 0.0, "update_bias": 0.0, "variant": "lecture",
            "nonlinearity": "tanh", "n_symbols": 4, "n_noise": 4, "n_eval": 256, "eval_every": 10}


def stream_seeds(seed: int) -> tuple[int, int, int]:
    """The seeds of the weight, training-data and evaluation streams: seed + k·2**62 mod 2**64."""
    return seed, (seed + (1 << 62)) & MASK64, (seed + (2 << 62)) & MASK64


def one_hot(tokens: np.ndarray, depth: int) -> np.ndarray:
    """Token ids (B, T) -> one-hot inputs (T, B, depth), time-major as the layers read them."""
    B, T = tokens.shape
    x = np.zeros((T, B, depth))
    x[np.arange(T)[:, None], np.arange(B)[None, :], tokens.T] = 1.0
    return x


def _real(name, v, low, low_open=True):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) \
            or (v <= low if low_open else v < low):
        raise ValueError(f"{name}: expected a finite number {'>' if low_open else '>='} {low}, got {v!r}")
    return float(v)


class TrainingRun:
    """The page's training run of the recall task (see the module's docstring).

    ``TrainingRun(kind="lstm", distance=20, hidden=8, ...)`` (keywords and defaults in
    :data:`DEFAULTS`); :meth:`step` trains one step and returns its record; ``history``
    holds every record's values as lists; ``params`` the live parameter arrays.
    """

    def __init__(self, **config) -> None:
        unknown = sorted(set(config) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"config: unexpected {unknown}; expected some of {sorted(DEFAULTS)}")
        c = {**DEFAULTS, **config}
        check_choice("kind", c["kind"], KINDS)
        check_choice("variant", c["variant"], ("torch", "lecture"))
        check_choice("nonlinearity", c["nonlinearity"], ("tanh", "relu"))
        for name in ("distance", "hidden", "batch", "n_symbols", "n_noise", "n_eval", "eval_every"):
            c[name] = check_positive_int(name, c[name])
        if isinstance(c["seed"], bool) or not isinstance(c["seed"], numbers.Integral) \
                or not 0 <= c["seed"] < 1 << 53:
            raise ValueError(f"seed: expected an integer in [0, 2**53), got {c['seed']!r}")
        c["seed"] = int(c["seed"])
        c["lr"] = _real("lr", c["lr"], 0.0)
        if c["clip"] is not None and c["clip"] != 0:
            c["clip"] = _real("clip", c["clip"], 0.0)
        else:
            c["clip"] = None
        c["forget_bias"] = _real("forget_bias", c["forget_bias"], -math.inf)
        c["update_bias"] = _real("update_bias", c["update_bias"], -math.inf)
        self.config = c
        H, K = c["hidden"], c["n_symbols"]
        self.input_size = D = c["n_symbols"] + c["n_noise"] + 1
        self.T = c["distance"] + 1
        extra = {"rnn": {"nonlinearity": c["nonlinearity"]}, "gru": {"variant": c["variant"]}}
        self.layer = _LAYERS[c["kind"]](D, H, **extra.get(c["kind"], {}))
        self.head = OutputHead(H, K)
        w_seed, d_seed, e_seed = stream_seeds(c["seed"])
        wrng = SplitMix64(w_seed)
        k = 1.0 / math.sqrt(H)                      # torch's U(-1/sqrt(H), 1/sqrt(H))
        for module in (self.layer, self.head):
            for p in module.params.values():        # the layer's order, then V, c
                p[...] = wrng.uniform(-k, k, p.shape)
        knob = {"lstm": "forget_bias", "gru": "update_bias"}.get(c["kind"])
        if knob:                                    # the f (LSTM) or z (GRU) block: rows H..2H
            self.layer.params["bias_ih_l0"][H:2 * H] = c[knob]
            self.layer.params["bias_hh_l0"][H:2 * H] = 0.0
        self.params = {**self.layer.params, **self.head.params}
        self.optimizer = Adam(self.params, lr=c["lr"])
        self.data_stream = SplitMix64(d_seed)
        tokens, self.eval_y = recall_batch(SplitMix64(e_seed), c["n_eval"], c["distance"], K, c["n_noise"])
        self.eval_x = one_hot(tokens, D)
        self.steps = 0
        self.history = {k: [] for k in ("step", "loss", "accuracy", "train_accuracy", "grad_first",
                                        "grad_norm")}

    def evaluate(self) -> float:
        """Accuracy on the fixed evaluation batch: the fraction whose largest logit is the symbol."""
        out, _ = self.layer(self.eval_x)
        o, _ = self.head(out[-1])
        return float(np.mean(o.argmax(-1) == self.eval_y))

    def step(self) -> dict:
        """One training step on a fresh batch; returns ``{step, loss, accuracy, train_accuracy,
        grad_first, grad_norm}`` (accuracy None unless step % eval_every == 0)."""
        c = self.config
        tokens, y = recall_batch(self.data_stream, c["batch"], c["distance"], c["n_symbols"], c["n_noise"])
        x = one_hot(tokens, self.input_size)
        loss, o, d_x = forward_backward(self.layer, self.head, x, y, output="last")
        grads = {**self.layer.grads, **self.head.grads}
        norm = clip_grad_norm(grads, c["clip"]) if c["clip"] else global_norm(grads)
        self.optimizer.step(grads)
        self.steps += 1
        rec = {"step": self.steps, "loss": loss,
               "accuracy": self.evaluate() if self.steps % c["eval_every"] == 0 else None,
               "train_accuracy": float(np.mean(o.argmax(-1) == y)),
               "grad_first": float(np.sqrt((d_x[0] ** 2).sum(axis=-1)).sum()),
               "grad_norm": norm}
        for k, v in rec.items():
            self.history[k].append(v)
        return rec

    def train(self, steps: int) -> dict:
        """:meth:`step` ``steps`` times; returns ``history``."""
        for _ in range(check_positive_int("steps", steps)):
            self.step()
        return self.history
