#!/usr/bin/env python3
"""Copy the front-end assets the HTML book needs into ``book/_vendor/``.

The book must render offline: MathJax 3 and the Jupyter widgets embed
bundle are installed from the npm registry (versions pinned in
``package.json`` / ``package-lock.json``, installed by ``npm ci``) and the
subset the pages load is copied here.  ``_config.yml`` wires the folder in
with ``html_static_path: [book/_vendor]``, so Sphinx copies it to
``_build/html/_static/`` and pages load

* ``_static/mathjax/tex-mml-chtml.js`` (``mathjax_path``) and
* ``_static/widgets-embed/embed.js`` (``nb_ipywidgets_js``, only on pages
  that carry widget state), preceded by ``mathjax-hub-shim.js`` (from
  ``scripts/mathjax_hub_shim.js``), which lets the widgets typeset with
  MathJax 3.

Two patches are applied to the copy of ``embed.js`` (see ``patch_embed``): its
Ajv instance validates the widget state with ``allowUnionTypes``, so that
pages with widgets log no console warning, and the Play widget finds its icon
after Font Awesome has replaced it by an SVG (``EMBED_PLAY``).

The copy is skipped when ``book/_vendor/.versions.json`` already records the
installed versions and the patch (so ``make setup`` stays quick); ``--force``
re-copies.

Usage: python scripts/vendor_assets.py [--force]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "book" / "_vendor"
STAMP = VENDOR / ".versions.json"  # dotfile: Sphinx does not copy it to _static

MATHJAX = NODE_MODULES / "mathjax"
HTML_MANAGER = NODE_MODULES / "@jupyter-widgets" / "html-manager"

# What MathJax loads from its own folder (relative to mathjax/es5/):
# the combined TeX+MathML -> CommonHTML component, its fonts, TeX extensions
# loaded on demand (\require, autoload), the menu/lazy/safe UI modules and
# the accessibility modules (and the speech rule engine they use) that a
# reader can switch on from the MathJax context menu.
MATHJAX_FILES = ["tex-mml-chtml.js"]
MATHJAX_DIRS = ["output/chtml", "input/tex/extensions", "input/mml", "ui", "a11y", "sre"]
# Widgets: the self-contained (non-AMD) embed bundle plus the font files its
# CSS points to, and its licence.
WIDGET_SUFFIXES = {".woff2", ".woff", ".ttf", ".eot", ".svg"}
WIDGET_FILES = ["embed.js", "embed.js.LICENSE.txt"]
SHIM = ROOT / "scripts" / "mathjax_hub_shim.js"

# embed.js validates the stored widget state against @jupyter-widgets/schema
# with Ajv 8 created as ``new Ajv()`` (lib/libembed.js: ``const ajv = new
# Ajv();``).  Ajv's default strict mode rejects the schema's union type
# (``"type": ["string", "number"]`` for a buffer path item) and logs, on
# every page with widgets, "strict mode: use allowUnionTypes to allow union
# type keyword at "#/properties/state/.../path/items" (strictTypes)".  The
# schema is right (a path item is a key or an index) and validation itself is
# unaffected; the warning is noise.  html-manager 1.0.15 is the newest
# release and still does this, and no setting reaches that Ajv instance, so
# the copy gets the option Ajv asks for: ``new Ajv({allowUnionTypes: true})``.
# The minified form is matched by a pattern (the constructor call right before
# the first ``.compile(``) that must match exactly once; a new html-manager
# version that no longer matches stops vendoring with a message.
EMBED_AJV = re.compile(r"=new\(([A-Za-z_$][\w$]*)\(\)\)(,[A-Za-z_$][\w$]*=[A-Za-z_$][\w$]*\.compile\()")
EMBED_AJV_FIX = r"=new(\1())({allowUnionTypes:true})\2"
# The Play widget's view (@jupyter-widgets/controls PlayView.updatePlaying) finds
# its icon with ``playPauseButton.getElementsByTagName("i")[0]``.  The book's
# theme loads Font Awesome's JavaScript, which replaces every ``<i class="fa
# ...">`` by an ``<svg>``: the lookup finds nothing, setting ``className``
# throws, and the Play button and its slider stop working on the page.  The
# copy takes the button's first element, whatever its tag, and sets its class
# attribute (an <svg>'s className cannot be assigned).
EMBED_PLAY = re.compile(
    r'this\.playPauseButton\.getElementsByTagName\("i"\)\[0\]\.className='
    r'([A-Za-z_$][\w$]*)\?"fa fa-pause":"fa fa-play"')
EMBED_PLAY_FIX = (r'(function(b,p){var i=b.firstElementChild;'
                  r'i&&i.setAttribute("class",p?"fa fa-pause":"fa fa-play")})'
                  r'(this.playPauseButton,\1)')
EMBED_PATCH = "ajv-allowUnionTypes-1+play-icon-1"   # recorded in the stamp: change it when a patch changes


def _version(pkg_dir: Path) -> str:
    pkg_json = pkg_dir / "package.json"
    if not pkg_json.is_file():
        sys.exit(
            f"vendor_assets: {pkg_dir.relative_to(ROOT)} is missing; "
            "run `npm ci` (or `make setup`) first."
        )
    return json.loads(pkg_json.read_text(encoding="utf-8"))["version"]


def _copy_file(src: Path, dst: Path) -> None:
    if not src.is_file():
        sys.exit(f"vendor_assets: expected file {src} not found")
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)


def patch_embed(text: str) -> str:
    """embed.js with its Ajv instance created with ``allowUnionTypes`` (see EMBED_AJV)."""
    patched, count = EMBED_AJV.subn(EMBED_AJV_FIX, text)
    if count != 1:
        sys.exit(
            f"vendor_assets: expected one `new Ajv()` before `.compile(` in embed.js, "
            f"found {count}; check EMBED_AJV against the new @jupyter-widgets/html-manager "
            "(does it still log the allowUnionTypes warning?)"
        )
    patched, count = EMBED_PLAY.subn(EMBED_PLAY_FIX, patched)
    if count != 1:
        sys.exit(
            f"vendor_assets: expected one PlayView icon lookup in embed.js, found {count}; "
            "check EMBED_PLAY against the new @jupyter-widgets/html-manager"
        )
    return patched


def vendor(force: bool = False) -> bool:
    """Copy the assets; return True if something was copied."""
    versions = {
        "mathjax": _version(MATHJAX),
        "@jupyter-widgets/html-manager": _version(HTML_MANAGER),
        "mathjax-hub-shim.js": hashlib.sha256(SHIM.read_bytes()).hexdigest()[:16],
        "embed.js patch": EMBED_PATCH,
    }
    if not force and STAMP.is_file():
        try:
            if json.loads(STAMP.read_text(encoding="utf-8")) == versions:
                return False
        except ValueError:
            pass

    tmp = VENDOR.with_name("_vendor.tmp")
    shutil.rmtree(tmp, ignore_errors=True)

    es5 = MATHJAX / "es5"
    for name in MATHJAX_FILES:
        _copy_file(es5 / name, tmp / "mathjax" / name)
    for sub in MATHJAX_DIRS:
        if not (es5 / sub).is_dir():
            sys.exit(f"vendor_assets: expected folder {es5 / sub} not found")
        shutil.copytree(es5 / sub, tmp / "mathjax" / sub)
    _copy_file(MATHJAX / "LICENSE", tmp / "mathjax" / "LICENSE")

    dist = HTML_MANAGER / "dist"
    for name in WIDGET_FILES:
        _copy_file(dist / name, tmp / "widgets-embed" / name)
    embed = tmp / "widgets-embed" / "embed.js"
    embed.write_text(patch_embed(embed.read_text(encoding="utf-8")), encoding="utf-8")
    for path in sorted(dist.iterdir()):
        # font files and any code-split chunks (numbered *.js) of embed.js
        chunk = path.suffix == ".js" and path.name.split(".")[0].isdigit()
        if path.suffix in WIDGET_SUFFIXES or chunk:
            _copy_file(path, tmp / "widgets-embed" / path.name)
    _copy_file(SHIM, tmp / "widgets-embed" / "mathjax-hub-shim.js")
    if (HTML_MANAGER / "LICENSE").is_file():
        _copy_file(HTML_MANAGER / "LICENSE", tmp / "widgets-embed" / "LICENSE")

    (tmp / STAMP.name).write_text(json.dumps(versions, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(VENDOR, ignore_errors=True)
    tmp.rename(VENDOR)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="copy even if up to date")
    args = parser.parse_args(argv)
    copied = vendor(force=args.force)
    size = sum(p.stat().st_size for p in VENDOR.rglob("*") if p.is_file())
    state = "copied" if copied else "up to date"
    print(f"vendor_assets: book/_vendor {state} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
