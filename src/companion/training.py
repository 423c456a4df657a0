"""Training the recurrent layers of torch.nn on the tasks of :mod:`companion.tasks`.

This module imports torch (``import companion`` does not): use it as
``from companion import training``.

* :data:`DEVICE` is the GPU when one is present, else the CPU.
* :func:`seed_everything` seeds Python, numpy and torch, and asks torch for
  deterministic algorithms where it has them.
* :class:`SequenceModel` is the whole model of slide 5: the tokens (one-hot) go
  through ``torch.nn.RNN``, ``LSTM`` or ``GRU``, and the output head
  o(t) = c + V h(t) reads either the last step (many to one) or every step (many to many).
* :func:`fit` is a seeded mini-batch training loop (Adam, gradient clipping) with a
  tqdm progress bar; :func:`predict`, :func:`accuracy` and :func:`generate` use the result.
* :func:`train_numpy` is the same loop for companion's numpy layers (``companion.RNN``,
  ``LSTM``, ``GRU`` and :class:`companion.OutputHead`), with the optimisers of
  :mod:`companion.optim`: gradients from the layers' own ``backward`` (BPTT), one
  :func:`forward_backward` per step. It is the loop the chapters train numpy models with.

The progress bar is tqdm's text bar written to ``sys.stdout`` (not tqdm.auto's
widget, which a static page cannot show without fetching JavaScript from elsewhere).
Set the environment variable ``TQDM_DISABLE=1`` to silence it.
"""
from __future__ import annotations

import math
import os
import random
import sys
import time
from collections.abc import Callable

import numpy as np

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")   # deterministic cuBLAS, set before CUDA starts
import torch
from torch import nn
from tqdm.std import tqdm

from .head import OutputHead
from .optim import clip_grad_norm, global_norm
from .validation import check_choice, check_positive_int

__all__ = ["DEVICE", "seed_everything", "SequenceModel", "History", "fit", "predict", "accuracy",
           "generate", "forward_backward", "train_numpy"]

#: where training runs: "cuda" when a GPU is present, else "cpu"
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")

KINDS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def seed_everything(seed=0):
    """Seed random, numpy and torch (CPU and GPU); deterministic algorithms where torch has them."""
    random.seed(seed)
    np.random.seed(seed)                         # noqa: NPY002  (the legacy global state, seeded too)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    if torch.backends.cudnn.is_available():
        torch.backends.cudnn.benchmark = False


class SequenceModel(nn.Module):
    """One-hot tokens (or float vectors) -> RNN / LSTM / GRU -> linear head.

    kind: "rnn" (tanh), "lstm" or "gru"; n_in: the vocabulary size (tokens) or the
    feature size (vectors); n_out: classes (1 for regression);
    output: "last" reads h_T (many to one), "all" reads every h_t (many to many).
    forget_bias sets the bias of the gate that keeps the old state, so that it starts
    near 1 (Gers et al. 2000): the LSTM's forget gate f_t, or torch's GRU update gate
    (torch's z_t, which weights h_{t-1}; the slides' 1 - z_t). Both are block 1 of the
    stacked torch biases (LSTM i, f, g, o; GRU r, z, n). torch starts them near 0: gate near 0.5.
    For the LSTM the input gate's bias b_i is set to -forget_bias, so i_t starts near 0 and
    the cell does not fill up with the candidates of uninformative steps (the "chrono"
    initialisation of Tallec & Ollivier 2018, with one constant instead of a range).
    A bidirectional "last" model reads the forward direction at the last step and the
    backward direction at the first step (each has then seen the whole sequence).
    ``seed`` seeds the initial weights. The recurrent layer is ``self.rnn`` (batch_first=True):
    give it to ``companion.from_torch``.
    """

    def __init__(self, kind, n_in, hidden_size, n_out, output="last", bidirectional=False,
                 inputs="tokens", forget_bias=None, seed=0):
        super().__init__()
        torch.manual_seed(seed)                      # the initial weights depend on the seed only
        if kind not in KINDS:
            raise ValueError(f"kind: expected one of {sorted(KINDS)}, got {kind!r}")
        if output not in ("last", "all"):
            raise ValueError(f"output: expected 'last' or 'all', got {output!r}")
        if inputs not in ("tokens", "vectors"):
            raise ValueError(f"inputs: expected 'tokens' or 'vectors', got {inputs!r}")
        self.kind, self.n_in, self.output, self.inputs = kind, n_in, output, inputs
        self.hidden_size = hidden_size
        self.rnn = KINDS[kind](n_in, hidden_size, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), n_out)   # V, c of slide 5
        if forget_bias is not None:
            if kind == "rnn":
                raise ValueError("forget_bias: the vanilla RNN has no gate to bias (kind='rnn')")
            H = hidden_size
            with torch.no_grad():    # b_f = b_ih[H:2H] + b_hh[H:2H] starts at forget_bias: f_t near 1
                for name, p in self.rnn.named_parameters():
                    if name.startswith("bias_ih"):
                        p[H:2 * H] = forget_bias
                        if kind == "lstm":       # and the input gate near 0 (Tallec & Ollivier 2018)
                            p[:H] = -forget_bias
                    elif name.startswith("bias_hh"):
                        p[H:2 * H] = 0.0
                        if kind == "lstm":
                            p[:H] = 0.0

    def encode(self, x):
        """The input vectors x_t: one-hot of the tokens, shape (B, T, n_in)."""
        if self.inputs == "tokens":
            return nn.functional.one_hot(x.long(), self.n_in).float()
        return x.float()

    def forward(self, x):
        h, _ = self.rnn(self.encode(x))              # (B, T, H) or (B, T, 2H)
        if self.output == "all":
            return self.head(h)                      # (B, T, n_out): o_t for every t
        H = self.hidden_size
        if self.rnn.bidirectional:
            last = torch.cat([h[:, -1, :H], h[:, 0, H:]], dim=-1)
        else:
            last = h[:, -1]                          # h_T: many to one
        return self.head(last)                       # (B, n_out)


class History(list):
    """One dict per epoch: {"epoch", "loss"}; ``seconds_per_epoch`` is the mean wall time."""
    seconds_per_epoch = float("nan")


def _tensor(a):
    return a if isinstance(a, torch.Tensor) else torch.from_numpy(np.asarray(a))


def _loss_fn(y):
    if y.dtype.is_floating_point:
        return lambda out, t: nn.functional.mse_loss(out.squeeze(-1), t)
    return lambda out, t: nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), t.reshape(-1),
                                                      ignore_index=-100)


def fit(model, x, y, epochs=10, batch_size=64, lr=1e-2, seed=0, clip=1.0, progress=True, desc=None):
    """Train ``model`` on (x, y) with Adam; returns a :class:`History` of the mean loss per epoch.

    x: (n, T) tokens or (n, T, D) vectors; y: (n,) or (n, T) integer classes (-100 is
    ignored) -> cross-entropy, or float targets -> mean squared error. Mini-batches are
    drawn in a seeded order, gradients clipped to norm ``clip``. The model moves to
    :data:`DEVICE`. A tqdm bar shows the epochs and the last loss.
    """
    seed_everything(seed)
    model.to(DEVICE)
    x, y = _tensor(x).to(DEVICE), _tensor(y).to(DEVICE)
    loss_fn = _loss_fn(y)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    n = len(x)
    history = History()
    quiet = not progress or os.environ.get("TQDM_DISABLE", "").lower() not in ("", "0", "false")
    bar = tqdm(range(epochs), desc=desc or f"{model.kind} H={model.hidden_size}", file=sys.stdout,
               disable=quiet, leave=True, ncols=80, mininterval=0.5)
    t0 = time.perf_counter()
    model.train()
    for epoch in bar:
        order = torch.randperm(n, generator=gen).to(DEVICE)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            if clip:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            total += loss.item() * len(idx)
        history.append({"epoch": epoch + 1, "loss": total / n})
        bar.set_postfix(loss=f"{total / n:.3f}", refresh=False)
    bar.close()
    history.seconds_per_epoch = (time.perf_counter() - t0) / max(epochs, 1)
    model.eval()
    return history


@torch.no_grad()
def predict(model, x):
    """The model's outputs (logits) on x, as a numpy array on the CPU."""
    model.eval()
    return model(_tensor(x).to(DEVICE)).cpu().numpy()


def accuracy(model, x, y):
    """Fraction of correct argmax predictions; targets -100 (padding) are left out."""
    pred = predict(model, x).argmax(-1)
    y = np.asarray(y)
    keep = y != -100
    return float((pred[keep] == y[keep]).mean())


@torch.no_grad()
def generate(model, first, steps):
    """One to many: from the first tokens (n,), feed each greedy prediction back as the next input.

    Returns (n, steps + 1) tokens, the first column being ``first``.
    """
    model.eval()
    seq = _tensor(np.asarray(first)).long().reshape(-1, 1).to(DEVICE)
    for _ in range(steps):
        nxt = model(seq)[:, -1].argmax(-1, keepdim=True)     # o_t of the last step -> next token
        seq = torch.cat([seq, nxt], dim=1)
    return seq.cpu().numpy()


# --------------------------------------------------------------------------- numpy layers

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
