"""Every page of the built book, opened in headless Chromium, as a reader sees it.

For each page listed in _toc.yml (served from 127.0.0.1 by ``python -m
http.server``), the test checks that

* nothing is requested from anywhere but 127.0.0.1 (every other request is
  aborted and reported), no request fails and no response is >= 400;
* the browser console shows no errors and no script throws;
* MathJax typeset every formula Sphinx emitted (each ``span.math`` /
  ``div.math`` holds exactly one ``mjx-container``) and none has a TeX error
  (``mjx-merror``);
* every ``<img>`` loaded (``naturalWidth > 0``);
* every stored widget view rendered (offline, with the vendored embed.js),
  and that a page whose notebook has widget outputs carries their state;
* every kernel-free interactive figure works: each ``annt.viz.frames``
  figure (DOM class ``annt-frames``) the notebook displays is on the page,
  shows one image with alt text, and each of its controls changes that
  image when worked: a slider moved (keyboard End/Home on its handle), a
  dropdown entry picked, a Play button pressed (each matplotlib
  ``to_jshtml`` animation is stepped with its "Next frame" button too);
* the console shows no warning either (``console.warn``), except the
  messages of ``CONSOLE_ALLOWED`` (empty: every warning fails the test).

The browser is Debian's Chromium (``apt-get install chromium``), driven by
Playwright's Python API; Playwright's own browser download is never used.
Without /usr/bin/chromium the test is skipped locally and fails on CI
(``CI`` set).  ``ANNT_CHROMIUM`` names another Chromium binary.
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import sync_playwright

pytestmark = pytest.mark.book

CHROMIUM = os.environ.get("ANNT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
TIMEOUT_MS = 30_000
FRAMES_CLASS = "annt-frames"      # the root of an annt.viz.frames figure
CHANGE_MS = 10_000                # how long a control may take to change the image
# Console warnings that may remain, as (regex, why). Keep it empty: a warning
# listed here must come with the reason it cannot be fixed. (The html-manager's
# "strict mode: use allowUnionTypes ..." is fixed by scripts/vendor_assets.py.)
CONSOLE_ALLOWED: list[tuple[str, str]] = []

# Waits for MathJax (if the page loads it) and reports how formulas rendered.
JS_MATH = """
async () => {
  const out = {hasMathJax: false, started: false, error: null};
  const MJ = window.MathJax;
  if (MJ && MJ.startup && MJ.startup.promise) {
    out.hasMathJax = true;
    try { await MJ.startup.promise; out.started = true; }
    catch (e) { out.error = String(e); }
  } else if (MJ) {
    out.hasMathJax = true;   // configured, but the script never ran
  }
  const maths = [...document.querySelectorAll('span.math, div.math')];
  out.math = maths.length;
  out.untypeset = maths
    .filter(el => el.querySelectorAll('mjx-container').length !== 1)
    .map(el => el.textContent.trim().slice(0, 80));
  out.containers = [...document.querySelectorAll('mjx-container')]
    .filter(c => !c.closest('.jupyter-widgets')).length;
  out.merrors = [...document.querySelectorAll('mjx-merror')]
    .map(e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 120));
  return out;
}
"""

# Forces lazy images to load, waits for all, reports the broken ones.
JS_IMAGES = """
async () => {
  const imgs = [...document.images];
  imgs.forEach(img => { img.loading = 'eager'; });
  const settle = img => img.complete ? Promise.resolve() : new Promise(r => {
    img.addEventListener('load', r, {once: true});
    img.addEventListener('error', r, {once: true});
  });
  const timeout = new Promise(r => setTimeout(r, 20000));
  await Promise.race([Promise.all(imgs.map(settle)), timeout]);
  const bad = [];
  for (const img of imgs) {
    if (img.complete && img.naturalWidth > 0) continue;
    const src = img.currentSrc || img.src;
    // an SVG without intrinsic size has naturalWidth 0 although it loaded
    if (/\\.svg(\\?|#|$)/i.test(src) && img.complete) {
      const r = await fetch(src).catch(() => null);
      if (r && r.ok) continue;
    }
    bad.push(src);
  }
  return {count: imgs.length, broken: bad};
}
"""

# How many stored widget views the page has, and how many have rendered.
JS_WIDGETS = """
() => {
  const views = [...document.querySelectorAll(
      'script[type="application/vnd.jupyter.widget-view+json"]')];
  const rendered = views.filter(tag => {
    const box = tag.parentElement;
    return box && box.querySelector('.jupyter-widgets, .widget-subarea > *, [class*="widget-"]:not(script)');
  });
  return {
    views: views.length,
    rendered: rendered.length,
    state: !!document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]'),
    widgetElements: document.querySelectorAll('.jupyter-widgets').length,
  };
}
"""


# The image an interactive figure shows now: exactly one visible <img> inside
# the root; a hash of its src (a data: URL per frame) identifies the frame.
JS_SHOWN = """
(root) => {
  const imgs = [...root.querySelectorAll('img')].filter(i => i.getClientRects().length > 0);
  if (imgs.length !== 1) return {count: imgs.length, key: null};
  const img = imgs[0], src = img.currentSrc || img.src;
  let h = 0;
  for (let i = 0; i < src.length; i++) h = (Math.imul(h, 31) + src.charCodeAt(i)) | 0;
  return {count: 1, key: src.length + ':' + h, alt: img.alt || '',
          loaded: img.complete && img.naturalWidth > 0};
}
"""


def _source_frames_figures(source: Path) -> int:
    """How many annt.viz.frames figures the notebook displays (from its widget state)."""
    if source.suffix != ".ipynb":
        return 0
    nb = json.loads(source.read_text(encoding="utf-8"))
    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    shown = [out["data"][WIDGET_VIEW].get("model_id")
             for cell in nb["cells"] if cell["cell_type"] == "code"
             for out in cell.get("outputs", []) if WIDGET_VIEW in out.get("data", {})]
    return sum(FRAMES_CLASS in state.get(mid, {}).get("state", {}).get("_dom_classes", [])
               for mid in shown)


def _work_control(page, root, what: str, action, problems: list[str]) -> None:
    """Do ``action`` and check that the figure in ``root`` shows another image."""
    before = root.evaluate(JS_SHOWN)
    action()
    try:
        page.wait_for_function(f"([root, key]) => ({JS_SHOWN})(root).key !== key",
                               arg=[root, before["key"]], timeout=CHANGE_MS)
    except PlaywrightTimeoutError:
        problems.append(f"{what}: the figure did not change")
        return
    after = root.evaluate(JS_SHOWN)
    if after["count"] != 1 or not after["loaded"]:
        problems.append(f"{what}: after it, {after['count']} images shown (loaded: {after.get('loaded')})")


def _check_interactive(page, book_page, book_source, problems: list[str]) -> int:
    """Work every control of every kernel-free figure; returns how many controls."""
    worked = 0
    roots = page.query_selector_all(f".{FRAMES_CLASS}")
    expected = _source_frames_figures(book_source(book_page))
    if len(roots) < expected:
        problems.append(f"{expected} interactive figures in the notebook, {len(roots)} on the page")
    for n, root in enumerate(roots, start=1):
        name = f"interactive figure {n}"
        shown = root.evaluate(JS_SHOWN)
        if shown["count"] != 1 or not shown["loaded"]:
            problems.append(f"{name}: {shown['count']} images shown (loaded: {shown.get('loaded')})")
            continue
        if not shown["alt"].strip():
            problems.append(f"{name}: the image has no alt text")
        for select in root.query_selector_all("select"):
            n_options = select.evaluate("s => s.options.length")
            index = select.evaluate("s => s.selectedIndex")
            _work_control(page, root, f"{name}, dropdown",
                          lambda: select.select_option(index=(index + 1) % n_options), problems)
            worked += 1
        for handle in root.query_selector_all(".noUi-handle"):
            at_end = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
            _work_control(page, root, f"{name}, slider",
                          lambda: handle.press("Home" if at_end else "End"), problems)
            worked += 1
        for play in root.query_selector_all(".widget-play button:first-child"):
            _work_control(page, root, f"{name}, Play", play.click, problems)
            worked += 1
    for n, anim in enumerate(page.query_selector_all("div.animation"), start=1):
        button = anim.query_selector('button[title="Next frame"]')
        if button is None:
            continue
        _work_control(page, anim, f"animation {n}, next frame", button.click, problems)
        worked += 1
    return worked


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(book_html):
    """The built book served on 127.0.0.1; yields its base URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port),
         "--directory", str(book_html)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(base + "index.html", timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"http.server did not start on port {port}")
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        msg = (f"{CHROMIUM} not found: install Debian's Chromium "
               "(`apt-get install -y chromium`) to run the browser test")
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def _is_favicon(url: str) -> bool:
    return urlparse(url).path == "/favicon.ico"


def _source_widget_views(source: Path) -> int:
    if source.suffix != ".ipynb":
        return 0
    nb = json.loads(source.read_text(encoding="utf-8"))
    return sum(
        WIDGET_VIEW in out.get("data", {})
        for cell in nb["cells"] if cell["cell_type"] == "code"
        for out in cell.get("outputs", [])
    )


def _check_page(page, book_page, book_source, problems: list[str]) -> None:
    """Math, images and widgets of an opened page; appends what is wrong."""
    math = page.evaluate(JS_MATH)
    if math["math"]:
        if not math["hasMathJax"]:
            problems.append(f"{math['math']} formulas but MathJax is not on the page")
        elif not math["started"]:
            problems.append(f"MathJax did not start or finish: {math['error']}")
        if math["untypeset"]:
            problems.append(f"formulas not typeset: {math['untypeset']}")
        if math["containers"] != math["math"]:
            problems.append(f"{math['containers']} mjx-container for {math['math']} math elements")
    if math["merrors"]:
        problems.append(f"MathJax errors: {math['merrors']}")

    images = page.evaluate(JS_IMAGES)
    if images["broken"]:
        problems.append(f"images that did not load: {images['broken']}")

    expected_views = _source_widget_views(book_source(book_page))
    widgets = page.evaluate(JS_WIDGETS)
    if expected_views:
        if widgets["views"] < expected_views:
            problems.append(f"source has {expected_views} widget outputs, the page {widgets['views']}")
        if not widgets["state"]:
            problems.append("widget outputs but no saved widget state (run make execute)")
    if widgets["views"]:
        try:
            page.wait_for_function(
                f"() => ({JS_WIDGETS})().rendered === {widgets['views']}", timeout=TIMEOUT_MS)
        except PlaywrightTimeoutError:
            pass
        widgets = page.evaluate(JS_WIDGETS)
        if widgets["rendered"] != widgets["views"]:
            problems.append(f"only {widgets['rendered']} of {widgets['views']} widgets rendered")


def test_page_renders_offline(book_page, book_source, server, browser):
    base_host = urlparse(server).netloc
    problems: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)

    def route(route):
        url = route.request.url
        if urlparse(url).netloc == base_host:
            route.continue_()
        else:
            problems.append(f"external request blocked: {url}")
            route.abort()

    context.route("**/*", route)
    page = context.new_page()

    def console(m):
        if m.type not in ("error", "warning"):
            return
        # Chromium asks for /favicon.ico by itself (the book sets no favicon): not a page error.
        if m.type == "error" and _is_favicon(m.location.get("url", "")):
            return
        if any(re.search(pattern, m.text) for pattern, _ in CONSOLE_ALLOWED):
            return
        problems.append(f"console {m.type}: {m.text} ({m.location.get('url', '')})")

    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(f"uncaught script error: {e}"))
    page.on("requestfailed", lambda r: urlparse(r.url).netloc == base_host
            and not _is_favicon(r.url)
            and problems.append(f"request failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and not _is_favicon(r.url)
            and problems.append(f"HTTP {r.status}: {r.url}"))

    try:
        response = page.goto(server + book_page + ".html", wait_until="load")
        if response is None or not response.ok:
            pytest.fail(f"could not open {book_page}.html")
        _check_page(page, book_page, book_source, problems)
        _check_interactive(page, book_page, book_source, problems)
        # Let late requests (lazily loaded fonts, widget chunks) finish, so that a failing
        # one is reported. On a busy machine a long page may not reach "network idle" in
        # time; that alone is not a fault: every check above has already passed or failed.
        try:
            page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
        except PlaywrightTimeoutError:
            pass
    finally:
        context.close()
    assert not problems, f"{book_page}:\n" + "\n".join(problems)
