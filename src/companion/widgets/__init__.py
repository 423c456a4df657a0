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

#: each widget class and the module of this package that defines it (imported on first use)
_WIDGETS = {"RNNCellExplorer": "explorers", "LSTMExplorer": "explorers", "GRUExplorer": "explorers",
            "SequenceStepper": "explorers", "GradientFlowExplorer": "gradient_flow",
            "TrainingRun": "training_run", "CharLMSampler": "charlm"}

__all__ = ["show", "static_html", "page", "bundle", "RNNCellExplorer", "LSTMExplorer", "GRUExplorer",
           "SequenceStepper", "GradientFlowExplorer", "TrainingRun", "CharLMSampler"]


def __getattr__(name):
    if name in _WIDGETS:
        import importlib
        return getattr(importlib.import_module(f".{_WIDGETS[name]}", __name__), name)
    raise AttributeError(f"module 'companion.widgets' has no attribute {name!r}")
