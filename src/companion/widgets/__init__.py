"""Interactive gate-value widgets: live in Jupyter (anywidget), interactive on the static site.

Each widget is one ES module in ``static/`` exporting anywidget's ``render({model, el})``;
its cell math is ``static/cells.js``, proved equal to :mod:`companion.cells` by shared test
vectors (:mod:`companion.widgets.vectors`, ``node --test tests/js/``).

In a chapter, one line shows a widget live in Jupyter and, in the stored output, as
self-contained HTML that the static book page runs without a kernel::

    import companion.widgets as cw
    cw.show(cw.LSTMExplorer(preset="remember"))

The widget classes (:class:`RNNCellExplorer`, :class:`LSTMExplorer`,
:class:`GRUExplorer`, :class:`SequenceStepper`) import anywidget, on first use only;
``import companion`` never imports this subpackage.
"""
from .embed import bundle, page, show, static_html

__all__ = ["show", "static_html", "page", "bundle",
           "RNNCellExplorer", "LSTMExplorer", "GRUExplorer", "SequenceStepper"]
#: the widget classes, imported from explorers on first use
_WIDGETS = tuple(__all__[4:])


def __getattr__(name):
    if name in _WIDGETS:
        from . import explorers
        return getattr(explorers, name)
    raise AttributeError(f"module 'companion.widgets' has no attribute {name!r}")
