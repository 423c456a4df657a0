"""The machine-independence rule for stored notebook outputs (CONTRIBUTING.md, "Outputs that
mean the same on every machine").

nbval compares every stored text output with a fresh run, on whatever machine runs
`make test`. A digit that floating-point rounding decides (another BLAS kernel, another thread
count, another CPU) or that chaotic training decides then fails there, though nothing is
wrong. `make test` proves the outputs under two numerical configurations
(`test-notebooks` and `test-notebooks-alt`); this test checks the rule on the stored outputs
themselves, so that a violation is named with its cell before any kernel runs:

1. **Precision.** A number in a compared text output has at most 4 digits after the point
   (mantissa, in scientific notation): a deterministic float64 computation is then the same
   to the last printed digit on every machine.
2. **No rounding residue.** A difference between two computations of one quantity
   (companion against torch, fused against unfused, analytic against finite differences) is
   rounding noise: it is printed as the bound it meets ("below 1e-12", asserted in the cell),
   never as its digits.
3. **No training digits.** A cell that trains (calls a training loop or an optimiser step)
   either prints no decimal number or is tagged ``nbval-ignore-output`` and asserts its
   conclusion in code, with a margin that all seeds meet.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
IGNORE_TAG = "nbval-ignore-output"
MAX_DECIMALS = 4

# A decimal number: digits, a point, digits, an optional exponent (not part of a word).
NUMBER = re.compile(r"(?<![\w.])[-+]?\d*\.(\d+)(?:[eE][-+]?\d+)?(?![\w.])")
# A line that reports how far apart two computations of the same quantity are.
RESIDUE_LINE = re.compile(
    r"max\s*\||\|\s*[A-Za-z_][\w.]*\s*-\s*[A-Za-z_][\w.]*\s*\||difference|discrepanc|rel(ative)?[ _]err|error",
    re.IGNORECASE)
# A number printed in scientific notation that is not stated as a bound (< 1e-12, below 1e-12).
UNBOUNDED_SCI = re.compile(r"(?<!<\s)(?<!<)(?<!below\s)(?<![\w.])\d(?:\.\d+)?[eE]-\d+")
# Source that trains: a training helper, an optimiser, an explicit update loop.
TRAINS = re.compile(r"\btrain\w*\s*\(|\bfit\w*\s*\(|\.step\(\s*\)|\boptim\.|\bAdam\b")


def compared_text(cell):
    """The text of a code cell's outputs that nbval compares (stream and text/plain)."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif "data" in out:
            parts.append(out["data"].get("text/plain", ""))
    return "".join(parts)


def violations(nb):
    """[(code cell index, rule, offending line)] for one notebook."""
    found = []
    code = [c for c in nb.cells if c.cell_type == "code"]
    for k, cell in enumerate(code):
        if IGNORE_TAG in cell.metadata.get("tags", []):
            continue
        text = compared_text(cell)
        for line in text.splitlines():
            for m in NUMBER.finditer(line):
                if len(m.group(1)) > MAX_DECIMALS:
                    found.append((k, f"more than {MAX_DECIMALS} decimals", line.strip()))
                    break
            if RESIDUE_LINE.search(line) and UNBOUNDED_SCI.search(line):
                found.append((k, "rounding residue printed as digits (print the bound it meets)",
                              line.strip()))
        if TRAINS.search(cell.source) and re.search(r"\d\.\d", text):
            found.append((k, "a training cell prints decimals (tag it nbval-ignore-output and "
                             "assert its conclusion)", text.strip().splitlines()[0]))
    return found


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_follow_the_machine_independence_rule(path):
    nb = nbformat.read(path, as_version=4)
    bad = violations(nb)
    assert not bad, f"{path.name}:\n" + "\n".join(
        f"  code cell {k}: {rule}: {line[:120]!r}" for k, rule, line in bad)


# --- the checker itself: each rule catches what it is for, and passes what it allows

def _nb(source, output, tags=()):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=output)]
    cell.metadata["tags"] = list(tags)
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell]
    return nb


@pytest.mark.parametrize("source, output", [
    ("print(L)", "L = 3.061901\n"),                                          # 6 decimals
    ("print(err)", "max |companion - torch| over dL/dx: 8.3e-17\n"),        # the original failure
    ("print(e)", "relative error: 2.1e-11\n"),
    ("losses = train_model(m)\nprint(losses[-1])", "final loss 0.162\n"),   # training digits
    ("opt.step()\nprint(l)", "0.16\n"),
])
def test_the_rule_catches(source, output):
    assert violations(_nb(source, output))


@pytest.mark.parametrize("source, output, tags", [
    ("print(x)", "[ 0.1177 -0.0909  1.1544]\n", ()),
    ("print(err)", "max |companion - torch| over dL/dx: below 1e-12\n", ()),
    ("print(err)", "max |companion - torch|: < 1e-12\n", ()),
    ("print(g)", "RNN   6.5e-01   9.7e-02   1.7e-15\n", ()),                # a product, not a residue
    ("print(n)", "parameters: 4680\n", ()),
    ("losses = train_model(m)\nprint(losses[-1])", "final loss 0.162\n", ("nbval-ignore-output",)),
    ("acc = train_model(m)\nprint(acc)", "solved: 3 of 4 seeds\n", ()),
])
def test_the_rule_allows(source, output, tags):
    assert not violations(_nb(source, output, tags))
