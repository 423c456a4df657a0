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
   to the last printed digit on every machine. A printed "-0." is refused too: the sign of a
   zero is decided by rounding.
2. **No rounding residue.** A difference between two computations of one quantity
   (companion against torch, fused against unfused, analytic against finite differences) is
   rounding noise: it is printed as the bound it meets ("below 1e-12", asserted in the cell),
   never as its digits.
3. **No training digits.** A cell that trains (a training helper, an optimiser step, an
   update ``p -= lr * g``) and prints anything is tagged ``nbval-ignore-output``.
4. **A tagged cell's conclusion is asserted**: in the cell itself, or in a later cell whose
   ``assert`` uses what the tagged cell computed (followed through the cells in between).
   Tagged cells whose only text is a matplotlib figure's repr are exempt (nothing printed).

The checks read the source, so they catch the usual forms, not every one: the proof is the
second nbval run under another BLAS configuration (`make test-notebooks-alt`). The widgets'
stored HTML is compared by nbval too; its embedded state (inputs and weights as drawn from a
seeded generator) is not text a reader sees, and the alternative run proves it.
"""
from __future__ import annotations

import ast
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
# Source that trains: a training helper, an optimiser, an explicit update.
TRAINS = re.compile(r"\btrain\w*\s*\(|\bfit\w*\s*\(|\.step\(\s*\)|\boptim\.|\badam\w*\s*\(|\bAdam\b"
                    r"|-=\s*lr\b|-=\s*\w*\s*\*\s*(?:grad|g\b|m\.grads)", re.IGNORECASE)
NEGATIVE_ZERO = re.compile(r"(?<![\w.])-0\.0*(?![\d])")
FIGURE_REPR = re.compile(r"<Figure size [^>]*>")
# a widget made in a cell (cw.TrainingRun(...)) trains only when the reader presses Train, on the page
WIDGET_CALL = re.compile(r"\bcw\.\w+\(")
SCRIPT = re.compile(r"<script[^>]*>.*?</script>", re.DOTALL)

def compared_text(cell):
    """The text of a code cell's outputs that nbval compares: stream, text/plain, text/html
    without its scripts (the widgets' code and embedded state), and glued values."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif "data" in out:
            parts.append(out["data"].get("text/plain", ""))
            parts.append(SCRIPT.sub("", out["data"].get("text/html", "")))
            # a value glued without display (companion.notebook.glue) is compared too
            parts.append(out["data"].get("application/papermill.record/text/plain", ""))
    return "\n".join(parts)


def _names(source, kind):
    """Names a cell stores ("store"), or names its assert statements read ("assert")."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    if kind == "store":
        return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)} | \
            {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    if kind == "load":
        return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return {m.id for a in ast.walk(tree) if isinstance(a, ast.Assert)
            for m in ast.walk(a) if isinstance(m, ast.Name)}


def conclusion_asserted(code, k):
    """Whether code cell k asserts, or a later cell asserts on what it computed."""
    if _names(code[k].source, "assert"):
        return True
    tainted = _names(code[k].source, "store")
    for cell in code[k + 1:]:
        if _names(cell.source, "assert") & tainted:
            return True
        if _names(cell.source, "load") & tainted:       # derived values carry the taint on
            tainted |= _names(cell.source, "store")
    return False

def violations(nb):
    """[(code cell index, rule, offending line)] for one notebook."""
    found = []
    code = [c for c in nb.cells if c.cell_type == "code"]
    for k, cell in enumerate(code):
        text = compared_text(cell)
        if IGNORE_TAG in cell.metadata.get("tags", []):
            if FIGURE_REPR.sub("", text).strip() and not conclusion_asserted(code, k):
                found.append((k, "tagged nbval-ignore-output but its conclusion is asserted "
                                 "nowhere (assert it here or in a later cell)",
                              text.strip().splitlines()[0]))
            continue
        for line in text.splitlines():
            for m in NUMBER.finditer(line):
                if len(m.group(1)) > MAX_DECIMALS:
                    found.append((k, f"more than {MAX_DECIMALS} decimals", line.strip()))
                    break
            if NEGATIVE_ZERO.search(line):
                found.append((k, "a printed -0. (rounding decides the sign of a zero)", line.strip()))
            if RESIDUE_LINE.search(line) and UNBOUNDED_SCI.search(line):
                found.append((k, "rounding residue printed as digits (print the bound it meets)",
                              line.strip()))
        if TRAINS.search(WIDGET_CALL.sub("", cell.source)) and FIGURE_REPR.sub("", text).strip():
            found.append((k, "a training cell prints (tag it nbval-ignore-output and "
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

def _nb(*cells):
    """A notebook of code cells given as (source, output, tags)."""
    nb = nbformat.v4.new_notebook()
    for source, output, tags in cells:
        cell = nbformat.v4.new_code_cell(source)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=output)] if output else []
        cell.metadata["tags"] = list(tags)
        nb.cells.append(cell)
    return nb


TAG = ("nbval-ignore-output",)


@pytest.mark.parametrize("cells", [
    [("print(L)", "L = 3.061901\n", ())],                                          # 6 decimals
    [("print(err)", "max |companion - torch| over dL/dx: 8.3e-17\n", ())],        # the original failure
    [("print(e)", "relative error: 2.1e-11\n", ())],
    [("print(h)", "[-0.  1.]\n", ())],                                             # a signed zero
    [("losses = train_model(m)\nprint(losses[-1])", "final loss 0.162\n", ())],   # training digits
    [("acc = train_model(m)\nprint(acc)", "solved: 3 of 4 seeds\n", ())],         # training counts too
    [("opt.step()\nprint(l)", "0.16\n", ())],
    [("w = adam_step(w, g)\nprint(w)", "[0.1]\n", ())],
    [("for k, p in params.items():\n    p -= lr * grads[k]\nprint(p)", "[0.1]\n", ())],
    [("r = run(seed)\nprint(r)", "0.694\n", TAG)],                               # tagged, never asserted
    [("r = run(seed)\nprint(r)", "0.694\n", TAG), ("q = r + 1", "", ()),
     ("assert other > 0", "", ())],
])
def test_the_rule_catches(cells):
    assert violations(_nb(*cells))


@pytest.mark.parametrize("cells", [
    [("print(x)", "[ 0.1177 -0.0909  1.1544]\n", ())],
    [("print(err)", "max |companion - torch| over dL/dx: below 1e-12\n", ())],
    [("print(err)", "max |companion - torch|: < 1e-12\n", ())],
    [("print(g)", "RNN   6.5e-01   9.7e-02   1.7e-15\n", ())],                    # a product, not a residue
    [("print(n)", "parameters: 4680\n", ())],
    [("losses = train_model(m)\nprint(losses[-1])\nassert losses[-1] < 0.5", "final loss 0.162\n", TAG)],
    [("r = run(seed)\nprint(r)", "0.694\n", TAG), ("q = r + 1", "", ()),        # asserted two cells on
     ("assert q > 1", "", ())],
    [("plt.plot(r)\nplt.show()", "<Figure size 640x480 with 1 Axes>", TAG)],
])
def test_the_rule_allows(cells):
    assert not violations(_nb(*cells))
