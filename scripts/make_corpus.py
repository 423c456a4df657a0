"""Write data/corpus.txt: the book's own prose, the corpus of chapter 12's character-level model.

The corpus is the book's prose pages (book/intro.md, book/summary.md, book/glossary.md) followed by
the markdown cells of the chapters (notebooks/00 ... 11, in order), so that it ships with the
project and needs no download; the chapters come last so that the validation and test blocks
(the last 10 %: chapters 10 and 11) are chapter prose, with its math, code and parentheses.
It is frozen: written once and committed; chapter 12 records its
sha256, and ``python scripts/make_corpus.py --check`` says whether the sources still give it.
Chapter 12 itself is left out (the model would read about itself), and so are generated pages
(book/instructors.md, book/api.md: tables and directives, not prose).

Characters outside printable ASCII are kept (the book writes Greek letters and arrows in
prose); chapter 12 maps every character to an index in a vocabulary built from the corpus.
Blank-line runs are squeezed to one blank line; each source is separated by a blank line.

    python scripts/make_corpus.py [--check | --force]

Without ``--force`` an existing corpus that differs from what the sources give is left alone
(the shipped weights were trained on it): rewriting it means retraining (``make train-charlm``).
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "corpus.txt"
CHAPTERS = [f"{n:02d}" for n in range(12)]      # notebooks/00_* ... 11_*
PAGES = ["intro.md", "summary.md", "glossary.md"]


def markdown_of(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return "\n\n".join("".join(c["source"]).strip() for c in nb["cells"] if c["cell_type"] == "markdown")


def corpus() -> str:
    parts = [(ROOT / "book" / p).read_text(encoding="utf-8").strip() for p in PAGES]
    for n in CHAPTERS:
        (path,) = sorted((ROOT / "notebooks").glob(f"{n}_*.ipynb"))
        parts.append(markdown_of(path))
    text = "\n\n".join(parts) + "\n"
    text = text.replace("\r\n", "\n").replace("\t", "    ")
    return re.sub(r"\n{3,}", "\n\n", text)


def main(argv: list[str]) -> int:
    text = corpus()
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if argv[:1] == ["--check"]:
        stored = hashlib.sha256(OUT.read_bytes()).hexdigest()
        print(f"data/corpus.txt {stored}; the sources now give {digest}")
        return 0 if stored == digest else 1
    if OUT.exists() and OUT.read_text(encoding="utf-8") != text and argv[:1] != ["--force"]:
        print("data/corpus.txt exists and differs from what the sources give now; it is frozen "
              "(the weights were trained on it). Use --force to rewrite it, then make train-charlm.")
        return 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote data/corpus.txt: {len(text)} characters, {len(set(text))} distinct, sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
