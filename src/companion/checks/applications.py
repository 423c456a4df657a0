"""Checks for the exercises of "Applications" (chapter 10: sequence classification and tagging).

Signatures the exercises ask for (numpy in, numpy out; no torch needed):

* ``last_step(output) -> h_T``: output (B, T, H) batch-first, returns (B, H)
* ``bidirectional_summary(output, H) -> (B, 2H)``: forward half at the last step, backward half at the first
* ``masked_accuracy(logits, tags) -> float``: logits (B, T, K), tags (B, T), tag -100 is padding

Each check draws fresh random inputs on every call, compares with companion and names the
likely slip (see :mod:`companion.checks.core`).
"""
from __future__ import annotations

import numpy as np

from .core import Answer, Exercise, Feedback, Wrong, grading_check, make_rng, registry, run_check, single, size

__all__ = ["check_last_step", "check_bidirectional_summary", "check_masked_accuracy", "CHECKS"]


def _scalar(r, case):
    return {"value": np.asarray(float(r))}


# --------------------------------------------------------------------------- applications

def _seq_case(rng, two_dirs=False):
    B, T, H = size(rng, 2, 5), size(rng, 3, 7), size(rng, 2, 5)
    return rng.normal(0, 1, (B, T, 2 * H if two_dirs else H)), H


@grading_check
def check_last_step(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``last_step(output)``: the many-to-one head reads h_T, output[:, -1] for (B, T, H)."""
    rng = make_rng(seed)
    cases = [(_seq_case(rng)[0],) for _ in range(4)]
    ref = lambda o: {"h_T": o[:, -1]}
    slips = [("you took the first step: h_1 has seen only x_1, the last step h_T has seen the whole sequence",
              lambda o: {"h_T": o[:, 0]}),
             ("you averaged over time: the many-to-one head of slide 4 reads the last step",
              lambda o: {"h_T": o.mean(1)}),
             ("the output is batch-first (B, T, H): output[-1] is the last *sequence*, use output[:, -1]",
              lambda o: {"h_T": o[-1]} if o.shape[0] == o.shape[1] else None)]
    return run_check("many-to-one head", fn, cases, single("h_T"), ref, slips)


@grading_check
def check_bidirectional_summary(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``bidirectional_summary(output, H)``: [forward h at t = T, backward h at t = 1]."""
    rng = make_rng(seed)
    cases = [_seq_case(rng, two_dirs=True) for _ in range(4)]
    ref = lambda o, H: {"summary": np.concatenate([o[:, -1, :H], o[:, 0, H:]], -1)}
    slips = [("you took both halves at the last step: there the backward direction has seen only x_T",
              lambda o, H: {"summary": o[:, -1]}),
             ("the halves are swapped: the first H features are the forward direction, the last H the backward",
              lambda o, H: {"summary": np.concatenate([o[:, 0, H:], o[:, -1, :H]], -1)}),
             ("you took both halves at the first step: there the forward direction has seen only x_1",
              lambda o, H: {"summary": o[:, 0]})]
    return run_check("bidirectional summary", fn, cases, single("summary"), ref, slips)


def _masked_case(rng):
    B, T, K = size(rng, 3, 6), size(rng, 4, 8), 3
    logits = rng.normal(0, 2, (B, T, K))
    tags = rng.integers(0, K, (B, T))
    right = rng.random((B, T)) < 0.5
    tags[right] = logits.argmax(-1)[right]
    lengths = rng.integers(1, T + 1, B)
    lengths[0] = T - 1 if T > 1 else T       # at least one sequence padded, of a length unlike the others
    lengths[1] = 1
    for b in range(B):
        tags[b, lengths[b]:] = -100
    return (logits, tags)


@grading_check
def check_masked_accuracy(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``masked_accuracy(logits, tags)``: right tags / real (non -100) tokens, over all tokens."""
    rng = make_rng(seed)
    cases = [_masked_case(rng) for _ in range(4)]

    def ref(lo, tg):
        keep = tg != -100
        return {"value": np.asarray((lo.argmax(-1)[keep] == tg[keep]).mean())}

    def per_sequence(lo, tg):
        keep = tg != -100
        hit = (lo.argmax(-1) == tg) & keep
        return {"value": np.asarray((hit.sum(1) / keep.sum(1)).mean())}

    slips = [("the padding is counted: leave out the tokens whose tag is -100",
              lambda lo, tg: {"value": np.asarray((lo.argmax(-1) == tg).mean())}),
             ("you averaged per sentence, then over sentences: count right tokens over all real tokens",
              per_sequence)]
    return run_check("masked tagging accuracy", fn, cases, _scalar, ref, slips)


# --------------------------------------------------------------------------- what a test needs
# Written as a student would, with numpy only: not with the references or the slips above.


def _masked_accuracy(lo, tg):
    keep = tg != -100
    return float((lo.argmax(-1)[keep] == tg[keep]).mean())


#: the checks of this module: each with a correct answer and hand-written wrong ones
CHECKS = registry(
    Exercise(check_last_step, lambda o: o[:, -1], (Wrong(lambda o: o[:, 0], "first step"),)),
    Exercise(check_bidirectional_summary, lambda o, H: np.concatenate([o[:, -1, :H], o[:, 0, H:]], -1),
             (Wrong(lambda o, H: o[:, -1], "both halves at the last step"),)),
    Exercise(check_masked_accuracy, _masked_accuracy,
             (Wrong(lambda lo, tg: float((lo.argmax(-1) == tg).mean()), "padding is counted"),)),
)
