"""What the chapters share beyond the numerics: putting a computed value into the book's prose.

A number in a chapter's text is never typed by hand: the cell that computes it stores it with
:func:`glue`, and the markdown shows it with ``{glue:text}`name``` (myst-nb). :func:`glue` writes
exactly the output ``myst_nb.glue`` writes (a display output with ``scrapbook`` metadata) but
without importing myst-nb, whose import costs seconds of every chapter's run. Outside a Jupyter
kernel (a plain ``python`` run) there is no output to write, and it does nothing.
"""
from __future__ import annotations

from typing import Any

__all__ = ["glue", "GLUE_PREFIX"]

# myst_nb.ext.glue.GLUE_PREFIX: a value stored without being shown has its mime types prefixed,
# so that no front end displays it (tests/test_notebook_helpers.py checks the two agree).
GLUE_PREFIX = "application/papermill.record/"


def glue(name: str, value: Any, display: bool = True) -> None:
    """Store ``value`` under ``name`` for the book's prose (what ``myst_nb.glue`` stores).

    ``display=False`` keeps it out of the cell's visible output. Two differences from
    ``myst_nb.glue``, both so that ``{glue:text}`` shows what a reader expects: a numpy scalar
    is stored as the Python number it holds (its repr ``np.float64(0.5)`` would defeat a format
    spec such as ``:.2f``), and a string is stored as itself, without the quotes of its repr."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name: expected a non-empty string, got {name!r}")
    if not isinstance(display, bool):
        raise ValueError(f"display: expected True or False, got {display!r}")
    try:
        from IPython import get_ipython
        from IPython.core.formatters import format_display_data
        from IPython.display import display as ipy_display
    except ImportError:
        return
    if get_ipython() is None:
        return
    if hasattr(value, "item") and getattr(value, "shape", None) == ():   # a numpy scalar or 0-d array
        value = value.item()
    if isinstance(value, str):
        bundle, metadata = {"text/plain": value}, {}
    else:
        bundle, metadata = format_display_data(value)
    prefix = "" if display else GLUE_PREFIX
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    ipy_display({prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)
