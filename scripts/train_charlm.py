"""Train chapter 12's character-level language models (``make train-charlm``).

A one-layer LSTM and a one-layer GRU (torch.nn) read the book's own text, data/corpus.txt,
one character at a time (one-hot x_t, D = the vocabulary size K) and predict the next one
through the slides' output head o_t = c + V h_t, y_hat_t = softmax(o_t). The loss is the mean
cross-entropy per character (nats).

Training, the textbook recipe (d2l 9.5, Karpathy's char-rnn):

* the training block is cut into B contiguous streams, read in windows of T characters
  (truncated BPTT): the hidden state is carried from one window to the next (the model keeps
  reading the same text) but detached, so gradients flow back at most T steps;
* Adam, the gradient norm clipped to ``--clip`` (exploding gradients, chapter 05), a
  learning rate decayed linearly to 10 % over the run;
* seeded (``torch.manual_seed``), the GPU where there is one (``--device auto``);
* every ``--eval-every`` steps the validation loss (the whole validation block read once,
  state carried) goes into the log; tqdm shows progress.

The blocks are contiguous: train = the first 90 % of the corpus, validation the next 5 %,
test the last 5 % (companion.charlm.split_corpus, which chapter 12 uses too).

Writes ``<out>/<kind>.npz`` (float32: torch's four LSTM/GRU parameters, the head's V and c, the
vocabulary as code points) and ``<out>/train_log.json``. A test runs it for a few steps on a
tiny slice (``--limit-chars 4000 --steps 3``).

    python scripts/train_charlm.py [--steps 2000] [--hidden 128] [--out data/charlm]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from companion.charlm import encode, split_corpus, vocabulary  # noqa: E402


class CharModel(torch.nn.Module):
    """One-hot x_t -> one recurrent layer -> o_t = c + V h_t."""

    def __init__(self, kind: str, K: int, H: int):
        super().__init__()
        cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
        self.kind, self.K = kind, K
        self.rnn = cls(K, H)
        self.head = torch.nn.Linear(H, K)

    def forward(self, idx, state=None):
        x = torch.nn.functional.one_hot(idx, self.K).to(self.head.weight.dtype)   # (T, B, K)
        h, state = self.rnn(x, state)
        return self.head(h), state


def detach(state):
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def streams(ids: np.ndarray, B: int) -> torch.Tensor:
    """(L, B): the block cut into B contiguous streams of L characters (the tail dropped)."""
    L = len(ids) // B
    return torch.as_tensor(ids[:L * B].reshape(B, L).T.copy(), dtype=torch.long)


@torch.no_grad()
def evaluate(model, ids: np.ndarray, device) -> float:
    """Mean cross-entropy (nats/char) over a block read once as one stream, state carried."""
    model.eval()
    x = torch.as_tensor(ids[:-1], dtype=torch.long, device=device)[:, None]
    y = torch.as_tensor(ids[1:], dtype=torch.long, device=device)
    o, _ = model(x)
    model.train()
    return float(torch.nn.functional.cross_entropy(o[:, 0], y))


def train(kind, train_ids, val_ids, K, args, device):
    torch.manual_seed(args.seed)
    model = CharModel(kind, K, args.hidden).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 - 0.9 * s / max(1, args.steps))
    data = streams(train_ids, args.batch).to(device)
    L, T = data.shape[0], args.seq
    windows = (L - 1) // T
    log, state, t0, pos = [], None, time.perf_counter(), 0
    bar = tqdm(range(1, args.steps + 1), desc=kind, mininterval=2.0, disable=args.quiet)
    for step in bar:
        if pos >= windows:          # back to the start of the streams: the state starts afresh
            pos, state = 0, None
        x, y = data[pos * T:(pos + 1) * T], data[pos * T + 1:(pos + 1) * T + 1]
        pos += 1
        o, state = model(x, state)
        state = detach(state)       # truncated BPTT: carry the state, not its gradient
        loss = torch.nn.functional.cross_entropy(o.reshape(-1, K), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip))
        opt.step()
        sched.step()
        if step % args.eval_every == 0 or step == args.steps:
            val = evaluate(model, val_ids, device)
            log.append({"step": step, "train_loss": round(loss.item(), 4), "val_loss": round(val, 4),
                        "grad_norm": round(norm, 3), "seconds": round(time.perf_counter() - t0, 1)})
            bar.set_postfix(train=f"{loss.item():.3f}", val=f"{val:.3f}")
    return model, log, time.perf_counter() - t0


def save(model, vocab: str, path: Path) -> None:
    p = {n: v.detach().cpu().float().numpy() for n, v in model.rnn.named_parameters()}
    p["V"] = model.head.weight.detach().cpu().float().numpy()
    p["c"] = model.head.bias.detach().cpu().float().numpy()
    p["vocab"] = np.array([ord(ch) for ch in vocab], dtype=np.int32)
    np.savez(path, **p)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=str(ROOT / "data" / "corpus.txt"))
    ap.add_argument("--out", default=str(ROOT / "data" / "charlm"))
    ap.add_argument("--models", default="lstm,gru")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=100, help="truncated-BPTT window T")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--limit-chars", type=int, default=0, help="train on the first N characters only (tests)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    raw = Path(args.corpus).read_bytes()
    text = raw.decode("utf-8")
    vocab = vocabulary(text)
    if args.limit_chars:
        text = text[:args.limit_chars]
    train_text, val_text, _ = split_corpus(text)
    train_ids, val_ids = encode(train_text, vocab), encode(val_text, vocab)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record = {"corpus_sha256": hashlib.sha256(raw).hexdigest(), "corpus_chars": len(text),
              "train_chars": len(train_text), "val_chars": len(val_text), "vocab_size": len(vocab),
              "config": {k: v for k, v in vars(args).items() if k not in ("corpus", "out", "quiet")},
              "device": str(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
              "machine": platform.machine(), "models": {}}
    for kind in args.models.split(","):
        model, log, seconds = train(kind, train_ids, val_ids, len(vocab), args, device)
        save(model, vocab, out / f"{kind}.npz")
        record["models"][kind] = {"seconds": round(seconds, 1), "log": log,
                                  "final_val_loss": log[-1]["val_loss"],
                                  "parameters": sum(p.numel() for p in model.parameters()),
                                  "npz_bytes": (out / f"{kind}.npz").stat().st_size}
        print(f"{kind}: {seconds:.0f} s, val loss {log[-1]['val_loss']:.3f} nats/char, "
              f"{record['models'][kind]['npz_bytes']} bytes", flush=True)
    (out / "train_log.json").write_text(json.dumps(record, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
