"""The widgets' JavaScript, bundled for anywidget and embedded for the static site.

The ES modules in ``static/`` import ``./cells.js`` (the cell math) and ``./ui.js``
(controls, bars, validation, theme). :func:`bundle` joins them into one module
for anywidget's ``_esm``; :func:`static_html` turns a widget into a
self-contained HTML snippet for a page that has no kernel and may be opened from
``file://``: the module source in a classic ``<script>`` (``type="module"``
imports are blocked there), the widget's state as JSON in a
``<script type="application/json">``, and a host that gives ``render`` a minimal
model (``get``, ``set``, ``on``, ``off``, ``save_changes``) over that state.
Nothing is fetched from anywhere.

Neither this module nor :func:`static_html` imports anywidget or IPython;
:func:`show` imports IPython when called.
"""
from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["MODULES", "bundle", "classic", "static_html", "page", "show"]

#: widget modules in static/, each exporting render({model, el}); the other files there
#: (cells.js, ui.js, ...) are libraries that a module imports
MODULES = ("rnn", "lstm", "gru", "stepper", "gradflow", "trainer", "charlm")
_IMPORT = re.compile(r'^import \{[^}]*\} from "\./([a-z_]+)\.js";\n', re.M)


def _read(name):
    return resources.files(__package__).joinpath("static", f"{name}.js").read_text(encoding="utf-8")


def _check_module(module):
    if module not in MODULES:
        raise ValueError(f"module: expected one of {', '.join(map(repr, MODULES))}, got {module!r}")


def _dependency_order(module):
    """The local files ``module`` needs, each after the files it imports, ``module`` last."""
    order, seen = [], set()

    def visit(name, path):
        if name in path:
            raise RuntimeError(f"bundle: circular import {' -> '.join((*path, name))}")
        if name in seen:
            return
        for dep in _IMPORT.findall(_read(name)):
            visit(dep, (*path, name))
        seen.add(name)
        order.append(name)

    visit(module, ())
    return order


@cache
def bundle(module: str) -> str:
    """One ES module: the library files ``module`` imports (cells.js, ui.js, ...), each once,
    after its own imports, then the widget's module; local imports removed."""
    _check_module(module)
    src = "\n".join(_IMPORT.sub("", _read(n)) for n in _dependency_order(module))
    if re.search(r"^\s*import\s", src, re.M):
        raise RuntimeError(f"bundle({module!r}): an import is left that the bundler does not resolve")
    return src


@cache
def classic(module: str) -> str:
    """The bundle as a classic-script expression evaluating to ``{render}``."""
    src = bundle(module)
    src = re.sub(r"^export default .*;\n", "", src, flags=re.M)
    src = re.sub(r"^export (function|const|let|class) ", r"\1 ", src, flags=re.M)
    if re.search(r"^export\b", src, re.M):
        raise RuntimeError(f"classic({module!r}): an export form the converter does not handle")
    if re.search(r"</script|<!--", src, re.I):
        raise RuntimeError(f"classic({module!r}): the source must not contain '</script' or '<!--'")
    return '(function () {\n"use strict";\n' + src + "\nreturn { render: render };\n})()"


def _json_for_script(state):
    """JSON that cannot end the <script> element it sits in."""
    text = json.dumps(state, sort_keys=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# The host: finds its own box through document.currentScript, defines the minimal
# model, evaluates the module once per page (registry keyed by the source's hash).
_HOST = """(function () {
  var me = document.currentScript;
  var box = me ? me.parentNode : document.querySelector(".cw-static:not([data-cw-started])");
  if (!box || box.hasAttribute("data-cw-started")) return;
  box.setAttribute("data-cw-started", "1");
  var mount = box.querySelector(".cw-mount");
  var reg = window.__companionWidgets = window.__companionWidgets || {};
  try {
    var state = JSON.parse(box.querySelector('script[type="application/json"]').textContent);
    if (!state || typeof state !== "object" || Array.isArray(state)) throw new Error("state: expected an object");
    if (!reg[KEY]) reg[KEY] = SOURCE;
    var handlers = {};
    var model = {
      get: function (k) { return Object.prototype.hasOwnProperty.call(state, k) ? state[k] : undefined; },
      set: function (k, v) {
        state[k] = v;
        (handlers["change:" + k] || []).slice().forEach(function (f) { f(); });
      },
      on: function (ev, f) { (handlers[ev] = handlers[ev] || []).push(f); },
      off: function (ev, f) {
        if (!ev) { handlers = {}; return; }
        handlers[ev] = f ? (handlers[ev] || []).filter(function (g) { return g !== f; }) : [];
      },
      save_changes: function () {},
      send: function () {}
    };
    reg[KEY].render({ model: model, el: mount });
  } catch (e) {
    mount.textContent = "This widget could not start: " + e.message;
    console.error(e);
  }
})();"""


def _state_of(widget):
    if isinstance(widget, tuple):
        return widget
    return widget._module, widget.static_state()


def static_html(widget: Any, module: str | None = None, state: dict[str, Any] | None = None) -> str:
    """A self-contained HTML snippet that shows ``widget`` on a page without a kernel.

    ``widget`` is one of this package's widgets; or pass ``module`` (one of
    :data:`MODULES`) and ``state`` (a dict of the widget's traits) instead.
    The snippet is deterministic (no random ids), so stored notebook outputs do
    not change from run to run.
    """
    if widget is not None:
        module, state = _state_of(widget)
    _check_module(module)
    if not isinstance(state, dict):
        raise ValueError(f"state: expected a dict, got {type(state).__name__}")
    src = classic(module)
    key = json.dumps(f"{module}@{hashlib.sha256(src.encode()).hexdigest()[:12]}")
    host = _HOST.replace("KEY", key).replace("SOURCE", src)
    return (f'<div class="cw-static" data-cw-module="{html.escape(module)}">'
            f'<script type="application/json">{_json_for_script(state)}</script>'
            f'<div class="cw-mount"></div>'
            f"<script>\n{host}\n</script></div>")


def page(widgets: Iterable[Any], title: str = "companion widgets", theme: str | None = None) -> str:
    """A whole standalone HTML page holding each widget's :func:`static_html`.

    ``theme="dark"`` sets ``<html data-theme="dark">`` as pydata-sphinx-theme does.
    """
    attr = f' data-theme="{html.escape(theme)}"' if theme else ""
    body = "\n".join(f"<section>{static_html(w)}</section>" for w in widgets)
    return (f'<!doctype html>\n<html lang="en"{attr}><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title>"
            '<link rel="icon" href="data:,">'
            "<style>html[data-theme=dark]{background:#121212;color:#e0e0e0}</style>"
            f"</head><body>\n{body}\n</body></html>\n")


def show(widget: Any) -> None:
    """Display ``widget``: live in Jupyter, and as static HTML in the stored output.

    One display bundle carries both: the widget view (JupyterLab, Notebook 7,
    VS Code render it live) and ``text/html`` from :func:`static_html`, which a
    static book page (myst-nb, rendering stored outputs) shows and runs without
    a kernel, provided the book prefers ``text/html`` to the widget view (see
    the widgets' README in the report: ``nb_mime_priority_overrides``).
    """
    from IPython.display import display

    bundle = widget._repr_mimebundle_() or {}
    data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
    data = {**data, "text/html": static_html(widget)}
    display(data, metadata=metadata or None, raw=True)
