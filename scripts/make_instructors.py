"""Write the exercise table of ``book/instructors.md`` from the checks' registry.

Every exercise of the book is an :class:`companion.checks.Exercise` in ``companion.checks.CHECKS``,
which holds its chapter, kind, points and the skill it grades; the chapter notebooks hold its
title and label (the ``{exercise}`` directive before its solution cell). This script renders both
into the part of ``book/instructors.md`` between the two markers below, so the table cannot drift
from what is graded: ``tests/test_exercises.py`` fails when the page is not what this script
writes.

    python scripts/make_instructors.py          # rewrite the table in place
    python scripts/make_instructors.py --check  # exit 1 if the page is out of date
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "instructors.md"
BEGIN = ("<!-- BEGIN EXERCISE TABLE: written by scripts/make_instructors.py from companion.checks.CHECKS; "
         "do not edit -->")
END = "<!-- END EXERCISE TABLE -->"


def exercises_in_notebooks() -> dict[str, dict]:
    """{check name: {chapter, notebook, title, label}} read from the chapters' exercise cells."""
    out = {}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        src = ["".join(c["source"]) for c in cells]
        # the chapter's title is its first markdown heading (a code cell's "# comment" is not one)
        title = next((re.match(r"# (.+)", s).group(1) for s, c in zip(src, cells, strict=True)
                      if c["cell_type"] == "markdown" and re.match(r"# ", s)), path.stem)
        label = exercise = None
        for s, cell in zip(src, cells, strict=True):
            m = re.search(r"```\{exercise\}\s*(.*)\n:label: (\S+)", s)
            if m:
                exercise, label = m.group(1).strip(), m.group(2)
            if cell["cell_type"] == "code" and cell["metadata"].get("nbgrader", {}).get("grade"):
                name = re.search(r"\b(check_\w+)\(", s).group(1)
                out[name] = {"chapter": path.name[:2], "notebook": path.stem, "chapter_title": title,
                             "title": exercise, "label": label}
    return out


def render() -> str:
    """The generated part of the page (between the markers)."""
    sys.path.insert(0, str(ROOT / "src"))
    from companion.checks import CHECKS
    from companion.checks.core import KINDS
    cells = exercises_in_notebooks()
    rows = sorted(CHECKS.values(), key=lambda ex: (ex.chapter, list(cells).index(ex.name)
                                                  if ex.name in cells else 0))
    kinds = list(KINDS)
    lines = [BEGIN, "",
             f"The book has **{len(rows)} exercises** worth **{sum(ex.points for ex in rows)} points**. "
             "The kinds:", ""]
    lines += [f"- **{k}**: {v}." for k, v in KINDS.items()]
    # A class for book/_assets/companion.css, which sets the columns' widths: printed at A4's width,
    # a long check name must not squeeze the other columns to a few letters a line.
    lines += ["", "### How many, per chapter and kind", "",
              "```{table}",
              ":class: exercise-count-table",
              "",
              "| Chapter | " + " | ".join(kinds) + " | exercises | points |",
              "|---|" + "---:|" * (len(kinds) + 2)]
    by_chapter: dict[str, list] = {}
    for ex in rows:
        by_chapter.setdefault(ex.chapter, []).append(ex)
    for ch, exs in by_chapter.items():
        count = Counter(ex.kind for ex in exs)
        nb = cells[exs[0].name]
        lines.append(f"| {{doc}}`{ch} {nb['chapter_title']} <../notebooks/{nb['notebook']}>` | "
                     + " | ".join(str(count.get(k, 0)) for k in kinds)
                     + f" | {len(exs)} | {sum(ex.points for ex in exs)} |")
    total = Counter(ex.kind for ex in rows)
    lines.append("| **all** | " + " | ".join(f"**{total.get(k, 0)}**" for k in kinds)
                 + f" | **{len(rows)}** | **{sum(ex.points for ex in rows)}** |")
    lines += ["```", "", "### Every exercise", "",
              "```{table}",
              ":class: exercise-table",
              "",
              "| Chapter | Exercise | Kind | Points | Skill it grades | Check |",
              "|---|---|---|---:|---|---|"]
    for ex in rows:
        nb = cells[ex.name]
        # the kind and points have their own columns: a title's "(recall, 2 points)" is not repeated
        title = re.sub(r"\s*\((recall|apply|transfer|experiment), \d+ points?\)$", "", nb["title"])
        title = title.replace("|", "\\|")
        skill = ex.skill.replace("|", "\\|")
        lines.append(f"| {ex.chapter} | {{ref}}`{title} <{nb['label']}>` | {ex.kind} | {ex.points} | "
                     f"{skill} | `{ex.name}` |")
    lines += ["```", "", END]
    return "\n".join(lines)


def page_with_table(text: str, table: str) -> str:
    """``text`` (the page) with the part between the markers replaced by ``table``."""
    if BEGIN not in text or END not in text:
        raise ValueError(f"{PAGE}: the markers {BEGIN!r} and {END!r} are missing")
    head, rest = text.split(BEGIN, 1)
    return head + table + rest.split(END, 1)[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if book/instructors.md is out of date")
    args = parser.parse_args(argv)
    text = PAGE.read_text()
    new = page_with_table(text, render())
    if args.check:
        if new != text:
            print(f"{PAGE} is out of date: run python scripts/make_instructors.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(new)
    print(f"wrote the exercise table of {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
