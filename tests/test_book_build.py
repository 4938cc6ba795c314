"""The HTML book builds without warnings, contains every page of _toc.yml
and nothing else, and loads its scripts and styles from its own files only.

The build itself happens once per session in the ``book_build`` fixture
(tests/conftest.py); the browser test reuses it.
"""
from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.book

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# Pages Sphinx/Jupyter Book write besides the toc pages.
GENERATED_PAGES = {"genindex.html", "search.html", "index.html"}
# Folders of assets, not pages.
ASSET_DIRS = {"_static", "_sources", "_images", "_downloads"}


def _html_pages(html: Path) -> list[Path]:
    return sorted(
        p for p in html.rglob("*.html")
        if not set(p.relative_to(html).parts[:1]) & ASSET_DIRS
    )


class _AssetRefs(HTMLParser):
    """Collects the URLs a page loads on its own (not links to follow)."""

    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in {"script", "img", "iframe", "source", "audio", "video", "embed", "track"}:
            if a.get("src"):
                self.refs.append((tag, a["src"]))
        elif tag == "link":
            rel = set((a.get("rel") or "").lower().split())
            if rel & {"stylesheet", "preload", "modulepreload", "icon", "shortcut", "prefetch"}:
                if a.get("href"):
                    self.refs.append((f"link rel={a.get('rel')}", a["href"]))
        elif tag == "object" and a.get("data"):
            self.refs.append((tag, a["data"]))


def _is_remote(url: str) -> bool:
    return url.startswith("//") or urlparse(url).scheme not in ("", "data", "blob")


def test_build_succeeds(book_build, build_problems):
    if book_build.returncode is None:
        pytest.skip("ANNT_BOOK_HTML points to a prebuilt book: the build was not run here")
    assert book_build.returncode == 0, (
        "jupyter-book build -W -n --keep-going failed:\n" + build_problems(book_build.log)
    )
    assert "build succeeded" in book_build.log
    print(f"book built in {book_build.seconds:.1f} s")


def test_every_toc_page_is_built(book_html, book_docnames):
    missing = [d for d in book_docnames if not (book_html / f"{d}.html").is_file()]
    assert not missing, f"pages listed in _toc.yml but not built: {missing}"
    assert (book_html / "index.html").is_file()


def test_only_book_pages_are_built(book_html, book_docnames):
    """Sphinx reads the repository root: README.md, tests/, .venv/ ... must stay out."""
    expected = {f"{d}.html" for d in book_docnames} | GENERATED_PAGES
    built = {p.relative_to(book_html).as_posix() for p in _html_pages(book_html)}
    stray = sorted(built - expected)
    assert not stray, f"pages built that are not in _toc.yml (exclude them in _config.yml): {stray}"
    outside = sorted(d for d in book_docnames if not d.startswith("book/"))
    assert not outside, f"_toc.yml lists pages outside book/: {outside}"


def test_pages_load_no_remote_assets(book_html):
    remote = []
    for page in _html_pages(book_html):
        parser = _AssetRefs()
        parser.feed(page.read_text(encoding="utf-8"))
        remote += [
            f"{page.relative_to(book_html)}: <{tag}> {url}"
            for tag, url in parser.refs if _is_remote(url)
        ]
    assert not remote, "pages load assets from the internet:\n" + "\n".join(remote)


def test_vendored_assets_are_used(book_html, book_docnames):
    static = book_html / "_static"
    mathjax = static / "mathjax" / "tex-mml-chtml.js"
    assert mathjax.is_file(), "vendored MathJax missing from _static (scripts/vendor_assets.py)"
    assert (static / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
    assert (static / "widgets-embed" / "embed.js").is_file(), "vendored widgets embed.js missing"
    assert not (static / ".versions.json").exists()
    for docname in book_docnames:
        text = (book_html / f"{docname}.html").read_text(encoding="utf-8")
        if 'class="math' in text:
            assert "_static/mathjax/tex-mml-chtml.js" in text, f"{docname}: math but no local MathJax"
        if WIDGET_STATE in text:
            assert "_static/widgets-embed/embed.js" in text, f"{docname}: widgets but no local embed.js"


# A page carries its notebook's widget state (every frame of its interactive
# figures, base64); a reader should not download more than this per page.
PAGE_LIMIT_MB = 5.0


def test_pages_stay_light(book_html, book_docnames):
    sizes = {d: (book_html / f"{d}.html").stat().st_size / 1e6 for d in book_docnames}
    heavy = {d: round(mb, 1) for d, mb in sizes.items() if mb > PAGE_LIMIT_MB}
    assert not heavy, (f"pages above {PAGE_LIMIT_MB} MB (fewer or smaller frames: "
                       f"annt.viz.frames, colors=, dpi=): {heavy}")


def test_vendored_embed_js_is_patched(book_html):
    """scripts/vendor_assets.py: the widget-state validator allows union types (no warning),
    and the Play widget finds its icon after Font Awesome replaced it by an SVG."""
    embed = (book_html / "_static" / "widgets-embed" / "embed.js").read_text(encoding="utf-8")
    assert "({allowUnionTypes:true})" in embed
    assert 'getElementsByTagName("i")[0].className' not in embed
    assert "b.firstElementChild" in embed


def test_preface_features_render(book_html):
    """The preface exercises citations, numbered equations and sphinx-exercise."""
    text = (book_html / "book" / "preface.html").read_text(encoding="utf-8")
    assert 'class="math' in text
    assert "bibliography.html#id" in text or "bibliography.html#" in text, "citations do not link"
    assert "exercise" in text and "solution" in text
    assert "dropdown" in text
    bib = (book_html / "book" / "bibliography.html").read_text(encoding="utf-8")
    for needle in ("Finding structure in time", "Long short-term memory", "ANNT"):
        assert needle.lower() in bib.lower(), f"bibliography lacks {needle!r}"


def test_notebook_is_stored_executed(book_notebook):
    """Chapters are stored WITH outputs (`make execute`); the build does not run them.

    Every non-empty code cell has an execution count, and every widget view
    in an output has its model in the notebook's saved widget state (else the
    HTML shows an empty box)."""
    notebook = book_notebook
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    unexecuted = [
        i for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code" and "".join(cell["source"]).strip()
        and cell.get("execution_count") is None
    ]
    assert not unexecuted, f"code cells {unexecuted} were not executed: run `make execute NB={notebook.name}`"
    views = [
        out["data"][WIDGET_VIEW]["model_id"]
        for cell in nb["cells"] if cell["cell_type"] == "code"
        for out in cell.get("outputs", [])
        if WIDGET_VIEW in out.get("data", {})
    ]
    if views:
        state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
        lost = [m for m in views if m not in state]
        assert not lost, f"widget state not saved for models {lost}: re-run `make execute`"


def test_toc_sources_exist(book_docnames, book_source):
    for docname in book_docnames:
        book_source(docname)
