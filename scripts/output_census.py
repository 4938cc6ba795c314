#!/usr/bin/env python3
"""How the book's stored outputs are checked, and whether two runs agree.

nbval compares each code cell's stored outputs with fresh ones, except in
cells tagged ``nbval-ignore-output`` (or ``nbval-skip``), after applying the
regexes of ``book/nbval_sanitize.cfg``. This script sorts the code cells with
outputs into

    exact       compared as stored
    sanitized   compared after a sanitizer rewrote part of the text (timings)
    asserted    excluded from comparison, followed by a cell that asserts
                what the text claims about them
    timing      excluded from comparison: timings (tag ``timing``)
    unchecked   excluded with nothing after them that asserts (should be none)

Usage:
    python scripts/output_census.py [NOTEBOOK ...]     # the census, per notebook
    python scripts/output_census.py --diff OLD NEW     # compared outputs that differ
                                                       # (two notebooks or two folders)
"""
from __future__ import annotations

import argparse
import configparser
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SANITIZE = ROOT / "book" / "nbval_sanitize.cfg"
IGNORE_TAGS = {"nbval-ignore-output", "nbval-skip"}
# What nbval leaves out of the comparison (images, widget views, metadata).
SKIPPED_KEYS = {"image/png", "image/jpeg", "application/vnd.jupyter.widget-view+json"}
ASSERTION = re.compile(r"^\s*assert\b|\bannt\.assert_(below|close)\(|\bassert_(below|close)\(", re.M)


def sanitizers(path: Path = SANITIZE) -> list[tuple[re.Pattern, str]]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path, encoding="utf-8")
    return [(re.compile(parser[s]["regex"]), parser[s]["replace"]) for s in parser.sections()]


def tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def compared_texts(cell) -> list[str]:
    """The texts nbval compares for one cell, in order (before sanitizing)."""
    texts = []
    last_stream = None
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":   # nbval joins consecutive stream outputs
            text = "".join(out.get("text", ""))
            if last_stream == out.get("name"):
                texts[-1] += text
            else:
                texts.append(f"[{out.get('name')}] " + text)
            last_stream = out.get("name")
            continue
        last_stream = None
        if out.get("output_type") == "error":
            texts.append(f"[error] {out.get('ename')}: {out.get('evalue')}")
        else:
            for key, value in sorted(out.get("data", {}).items()):
                if key not in SKIPPED_KEYS:
                    value = "".join(value) if isinstance(value, list) else json.dumps(value)
                    texts.append(f"[{key}] {value}")
    return texts


def sanitize(text: str, rules) -> str:
    for pattern, replacement in rules:
        text = pattern.sub(replacement, text)
    return text


def is_assertion(cell) -> bool:
    return cell.get("cell_type") == "code" and bool(ASSERTION.search("".join(cell.get("source", ""))))


def classify(nb: dict, rules) -> list[tuple[int, str]]:
    """[(cell index, kind)] for every code cell that has outputs or is ignored."""
    cells = nb.get("cells", [])
    result = []
    for i, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        t = tags(cell)
        if t & IGNORE_TAGS:
            if "timing" in t:
                kind = "timing"
            else:
                following = next((c for c in cells[i + 1:] if c.get("cell_type") == "code"), None)
                kind = "asserted" if (following is not None and is_assertion(following)) \
                    or is_assertion(cell) else "unchecked"
            result.append((i, kind))
            continue
        texts = compared_texts(cell)
        if not texts:
            continue
        kind = "sanitized" if any(sanitize(t_, rules) != t_ for t_ in texts) else "exact"
        result.append((i, kind))
    return result


def notebooks(paths: list[str]) -> list[Path]:
    if not paths:
        return sorted(p for p in (ROOT / "book").glob("*.ipynb"))
    out = []
    for p in map(Path, paths):
        out += sorted(p.glob("*.ipynb")) if p.is_dir() else [p]
    return out


def census(paths: list[str]) -> int:
    rules = sanitizers()
    kinds = ["exact", "sanitized", "asserted", "timing", "unchecked"]
    total = dict.fromkeys(kinds, 0)
    print(f"{'notebook':32s}" + "".join(f"{k:>10s}" for k in kinds))
    for path in notebooks(paths):
        counts = dict.fromkeys(kinds, 0)
        for _, kind in classify(json.loads(path.read_text(encoding="utf-8")), rules):
            counts[kind] += 1
        for k in kinds:
            total[k] += counts[k]
        print(f"{path.stem:32s}" + "".join(f"{counts[k]:>10d}" for k in kinds))
    print(f"{'all':32s}" + "".join(f"{total[k]:>10d}" for k in kinds))
    return 1 if total["unchecked"] else 0


def diff(old: str, new: str) -> int:
    rules = sanitizers()
    pairs = []
    if Path(old).is_dir():
        for p in notebooks([old]):
            pairs.append((p, Path(new) / p.name))
    else:
        pairs.append((Path(old), Path(new)))
    differing = 0
    for a, b in pairs:
        nb_a = json.loads(a.read_text(encoding="utf-8"))
        nb_b = json.loads(b.read_text(encoding="utf-8"))
        cells_a, cells_b = nb_a["cells"], nb_b["cells"]
        if len(cells_a) != len(cells_b):
            print(f"{a.name}: {len(cells_a)} cells against {len(cells_b)}")
            differing += 1
            continue
        for i, (ca, cb) in enumerate(zip(cells_a, cells_b)):
            if ca.get("cell_type") != "code" or tags(ca) & IGNORE_TAGS:
                continue
            ta = [sanitize(t, rules) for t in compared_texts(ca)]
            tb = [sanitize(t, rules) for t in compared_texts(cb)]
            if ta != tb:
                differing += 1
                print(f"{a.name} cell {i}: compared output differs")
    print(f"{differing} compared cell(s) differ" if differing else "compared outputs identical")
    return 1 if differing else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--diff", nargs=2, metavar=("OLD", "NEW"))
    args = parser.parse_args(argv)
    if args.diff:
        return diff(*args.diff)
    return census(args.paths)


if __name__ == "__main__":
    sys.exit(main())
