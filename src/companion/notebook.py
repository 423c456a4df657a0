"""What the chapters share beyond the numerics: putting a computed value into the book's prose.

A number in a chapter's text is never typed by hand: the cell that computes it stores it with
:func:`glue`, and the markdown shows it with ``{glue:text}`name``` (myst-nb). Outside the
book's toolchain (Colab, a bare Jupyter), there is nothing to paste into, and :func:`glue` does
nothing, so the chapters run everywhere.
"""
from __future__ import annotations

from typing import Any

__all__ = ["glue"]


def glue(name: str, value: Any, display: bool = True) -> None:
    """Store ``value`` under ``name`` for the book's prose (``myst_nb.glue``).

    ``display=False`` keeps it out of the cell's visible output. Without myst-nb installed
    this does nothing: the value matters only to the built book."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name: expected a non-empty string, got {name!r}")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, value, display=display)
