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
* ``train_numpy`` and ``forward_backward``, the same loop for companion's numpy layers, live
  in :mod:`companion.numpy_training` (which does not import torch) and are re-exported here.

The progress bar is tqdm's text bar written to ``sys.stdout`` (not tqdm.auto's
widget, which a static page cannot show without fetching JavaScript from elsewhere).
Set the environment variable ``TQDM_DISABLE=1`` to silence it.
"""
from __future__ import annotations

import os
import random
import sys
import time

import numpy as np

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")   # deterministic cuBLAS, set before CUDA starts
import torch
from torch import nn
from tqdm.std import tqdm

__all__ = ["DEVICE", "seed_everything", "SequenceModel", "History", "fit", "predict", "accuracy",
           "generate", "forward_backward", "train_numpy"]

#: where training runs: "cuda" when a GPU is present, else "cpu"
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")

KINDS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def seed_everything(seed=0):
    """Seed random, numpy and torch (CPU and GPU); on a GPU, deterministic algorithms where torch
    has them (torch's CPU kernels used here are deterministic already, and switching the flag on
    imports torch's compiler stack: seconds of every chapter's run)."""
    random.seed(seed)
    np.random.seed(seed)                         # noqa: NPY002  (the legacy global state, seeded too)
    torch.manual_seed(seed)
    if DEVICE.type == "cuda":
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


# The numpy loops live in companion.numpy_training (no torch); re-exported here for old imports.
from .numpy_training import forward_backward, train_numpy  # noqa: E402
