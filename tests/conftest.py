"""Shared pytest fixtures.

Book fixtures (used by tests/test_book_build.py and tests/test_book_browser.py):

``book_build``
    Builds the HTML book ONCE per test session, with warnings as errors
    (``jupyter-book build . --path-output <tmp> -W -n --keep-going``), into a
    temporary folder.  Under pytest-xdist both book test files may run on
    different workers: the first worker to ask builds, under a file lock in
    the session's shared temporary folder; the others wait and reuse it.
    Set ``ANNT_BOOK_HTML=_build/html`` to test a book built beforehand
    (``make book``) instead; the build itself is then not checked.

``book_docnames``
    The pages listed in ``_toc.yml`` (``book/preface``, ...), in order.

``book_page`` / ``book_notebook`` (parametrizing arguments)
    A test that takes ``book_page`` runs once per page of ``_toc.yml`` (the
    value is the docname); one that takes ``book_notebook`` once per notebook
    under ``book/`` (a Path).  ``book_source(docname)`` gives a page's source.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------
# book: table of contents
# --------------------------------------------------------------------------
def toc_docnames(toc_path: Path = REPO_ROOT / "_toc.yml") -> list[str]:
    """All ``file:`` entries of a jb-book ``_toc.yml`` (root first), in order."""
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    names: list[str] = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key))

    for key in ("parts", "chapters", "sections"):
        walk(toc.get(key))
    return [str(Path(n).with_suffix("")) if Path(n).suffix in {".md", ".ipynb"} else n for n in names]


def docname_source(docname: str) -> Path:
    """The source file (``.ipynb`` or ``.md``) of a docname from the toc."""
    for suffix in (".ipynb", ".md"):
        path = REPO_ROOT / f"{docname}{suffix}"
        if path.is_file():
            return path
    raise FileNotFoundError(f"no .ipynb or .md source for {docname!r} listed in _toc.yml")


def book_notebooks() -> list[Path]:
    """Every notebook of the book (not vendored or checkpoint copies)."""
    book = REPO_ROOT / "book"
    return sorted(
        p for p in book.rglob("*.ipynb")
        if not ({"_vendor", ".ipynb_checkpoints", "_build"} & set(p.relative_to(book).parts))
    )


@pytest.fixture(scope="session")
def book_docnames() -> list[str]:
    return toc_docnames()


@pytest.fixture(scope="session")
def book_source():
    return docname_source


def pytest_generate_tests(metafunc):
    if "book_page" in metafunc.fixturenames:
        metafunc.parametrize("book_page", toc_docnames())
    if "book_notebook" in metafunc.fixturenames:
        notebooks = book_notebooks()
        metafunc.parametrize(
            "book_notebook", notebooks,
            ids=[p.relative_to(REPO_ROOT).as_posix() for p in notebooks],
        )


# --------------------------------------------------------------------------
# book: one build per session
# --------------------------------------------------------------------------
@dataclasses.dataclass
class BookBuild:
    html: Path                 # the folder with index.html
    returncode: int | None     # None: prebuilt (ANNT_BOOK_HTML), not built here
    log: str                   # output of jupyter-book (empty when prebuilt)
    seconds: float = 0.0


def _jupyter_book_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("jupyter-book")
    if exe.is_file():
        return [str(exe)]
    found = shutil.which("jupyter-book")
    if found:
        return [found]
    pytest.fail("jupyter-book is not installed in this environment (run `make setup`)")


def _vendor_assets() -> None:
    """Make sure book/_vendor/ holds MathJax and the widgets bundle."""
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "vendor_assets.py")],
        cwd=REPO_ROOT, capture_output=True, text=True,
    )
    if proc.returncode != 0:
        pytest.fail(
            "scripts/vendor_assets.py failed (run `make setup` first):\n"
            + proc.stdout + proc.stderr
        )


def _build_book(out_dir: Path) -> BookBuild:
    _vendor_assets()
    cmd = _jupyter_book_cmd() + [
        "build", str(REPO_ROOT), "--path-output", str(out_dir),
        "-W", "-n", "--keep-going",
    ]
    start = time.monotonic()
    proc = subprocess.run(
        cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    return BookBuild(
        html=out_dir / "_build" / "html",
        returncode=proc.returncode,
        log=re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout),
        seconds=time.monotonic() - start,
    )


def build_problems(log: str, tail: int = 3000) -> str:
    """The WARNING/ERROR lines of a build log, else its end."""
    lines = [ln for ln in log.splitlines() if re.search(r"\b(WARNING|ERROR|CRITICAL|SEVERE)\b", ln)]
    return "\n".join(lines) if lines else log[-tail:]


@pytest.fixture(scope="session")
def book_build(tmp_path_factory) -> BookBuild:
    prebuilt = os.environ.get("ANNT_BOOK_HTML")
    if prebuilt:
        html = Path(prebuilt)
        if not html.is_absolute():
            html = REPO_ROOT / html
        if not (html / "index.html").is_file():
            pytest.fail(f"ANNT_BOOK_HTML={prebuilt}: no index.html there (run `make book`)")
        return BookBuild(html=html, returncode=None, log="")

    if "PYTEST_XDIST_WORKER" not in os.environ:
        return _build_book(tmp_path_factory.mktemp("book"))

    # Several xdist workers: build once, in the folder all workers share.
    shared = tmp_path_factory.getbasetemp().parent / "annt-book-build"
    shared.mkdir(exist_ok=True)
    result_file = shared / "result.json"
    with open(shared / "lock", "w") as lock:
        try:
            import fcntl
        except ImportError:  # Windows: no lock, each worker builds its own copy
            return _build_book(tmp_path_factory.mktemp("book"))
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if result_file.is_file():
                data = json.loads(result_file.read_text(encoding="utf-8"))
                data["html"] = Path(data["html"])
                return BookBuild(**data)
            build = _build_book(shared / "out")
            data = dataclasses.asdict(build)
            data["html"] = str(build.html)
            result_file.write_text(json.dumps(data), encoding="utf-8")
            return build
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(name="build_problems", scope="session")
def _build_problems_fixture():
    return build_problems


@pytest.fixture(scope="session")
def book_html(book_build) -> Path:
    """The built HTML folder; fails when the build failed."""
    if book_build.returncode not in (None, 0):
        pytest.fail(
            "the book build failed (see test_book_build.py::test_build_succeeds):\n"
            + build_problems(book_build.log)
        )
    return book_build.html


@pytest.fixture
def threads():
    """Restore annt's thread count after a test changes it (annt.set_num_threads)."""
    import annt
    before = annt.get_num_threads()
    yield
    annt.set_num_threads(before)
