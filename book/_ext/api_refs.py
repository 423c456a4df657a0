"""Make the API reference resolve the names the chapters and docstrings use.

1. ``companion.RNN``, ``companion.OutputHead.loss``, ``companion.rnn_step_backward``: the
   package re-exports its classes and functions at the top level, and docstrings name them
   so. The reference documents each object once, under the module that defines it
   (``companion.layers.RNN``). A reference to a re-exported name is resolved by importing
   it and following the object to where it is defined and documented.
2. A short name (``LSTMExplorer`` in ``companion.widgets``) that names exactly one
   documented object is resolved to it; an ambiguous one stays a warning.
3. Napoleon reads the first line of a data or attribute docstring (``#: ...`` comments) as
   "type: description" and turns the words before a colon into a class reference. The
   package's comments are prose, so these docstrings are left as written.
"""
from __future__ import annotations

import importlib

from sphinx.util import logging

logger = logging.getLogger(__name__)
PACKAGE = "companion"
_PROSE_KINDS = ("data", "attribute", "property")


def _import_object(dotted):
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except Exception:
            continue
        try:
            for name in parts[i:]:
                obj = getattr(obj, name)
        except AttributeError:
            return None
        return obj
    return None


def _defined_name(obj):
    obj = getattr(obj, "fget", obj)          # a property: its getter knows where it lives
    module, qual = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if module and qual and "<" not in qual:
        return f"{module}.{qual}"
    return None


def _missing_reference(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    domain = env.get_domain("py")
    candidates = []
    context = node.get("py:module")
    for dotted in (target, f"{context}.{target}" if context else None):
        if dotted and dotted.split(".")[0] == PACKAGE:
            obj = _import_object(dotted)
            real = _defined_name(obj) if obj is not None else None
            if real and real != target:
                candidates.append(real)
    for real in candidates:
        new = node.deepcopy()
        new["reftarget"] = real
        found = domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], real, new, contnode)
        if found is not None:
            return found
    # a short name that matches exactly one documented object of the package
    short = target.split(".")[-1]
    matches = [name for name in domain.objects
               if name.startswith(PACKAGE + ".") and (name == target or name.endswith("." + target))]
    if len(matches) == 1 and short:
        new = node.deepcopy()
        new["reftarget"] = matches[0]
        return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], matches[0], new,
                                   contnode)
    return None


def _keep_prose(app, what, name, obj, options, lines):
    if what in _PROSE_KINDS:
        app.env.temp_data.setdefault("api_refs_prose", {})[name] = list(lines)


def _restore_prose(app, what, name, obj, options, lines):
    saved = app.env.temp_data.get("api_refs_prose", {}).pop(name, None)
    if what in _PROSE_KINDS and saved is not None:
        lines[:] = saved


def setup(app):
    app.setup_extension("sphinx.ext.autodoc")
    app.connect("missing-reference", _missing_reference)
    # around napoleon's autodoc-process-docstring handler (priority 500)
    app.connect("autodoc-process-docstring", _keep_prose, priority=100)
    app.connect("autodoc-process-docstring", _restore_prose, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1.0"}
