"""Sphinx extension with small fixes for the annt-book build.

Loaded from _config.yml (``sphinx: local_extensions: {annt_sphinx_fixes: scripts}``).

* Sphinx 7.4 (the last Sphinx that Jupyter Book 1 supports) emits every inline
  script that an extension adds after the builder started twice (it compares
  a script registered with ``filename=None`` against the same one re-added with
  ``filename=''``).  sphinx-thebe's ``const THEBE_JS_URL = ...`` is such a
  script, so every page threw "Identifier 'THEBE_JS_URL' has already been
  declared" in the browser.  This drops exact duplicates from each page's
  script list.
"""
from __future__ import annotations


def _script_key(script) -> tuple:
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {}) or {}
    return (str(filename), tuple(sorted((str(k), str(v)) for k, v in attributes.items())))


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # in place: the template reads this very list


def setup(app):
    # run after the extensions that add per-page scripts (myst-nb's widgets)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
