#!/usr/bin/env python3
"""Execute the book's notebooks in place, each in a fresh kernel.

The book is built from the outputs stored in the notebooks
(``execute_notebooks: off`` in _config.yml), so after editing a chapter run

    make execute                         # every notebook under book/
    make execute NB=book/02_bptt.ipynb   # only these (paths or globs)

Each notebook runs top to bottom in a new kernel started from this Python
(the project's virtualenv), with its own folder as working directory, a long
per-cell timeout (Numba compiles) and the widget state stored in the notebook
metadata, so the HTML shows widgets as they were left.  A notebook whose
cell raises is NOT written: the file keeps its previous outputs and the script
exits 1 after trying the others.

Usage: python scripts/execute_notebooks.py [--timeout SECONDS] [NOTEBOOK ...]
"""
from __future__ import annotations

import argparse
import glob
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
SKIP_PARTS = {"_vendor", "_build", ".ipynb_checkpoints"}


def book_notebooks() -> list[Path]:
    return sorted(
        p for p in BOOK.rglob("*.ipynb")
        if not (SKIP_PARTS & set(p.relative_to(BOOK).parts))
    )


def resolve(patterns: list[str]) -> list[Path]:
    if not patterns:
        return book_notebooks()
    found: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern, recursive=True)) or [pattern]
        for match in matches:
            path = Path(match).resolve()
            if path.suffix != ".ipynb" or not path.is_file():
                sys.exit(f"execute_notebooks: not a notebook: {match}")
            if path not in found:
                found.append(path)
    return found


def execute(path: Path, timeout: int) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:                # drop timestamps an earlier run may have left
        cell.metadata.pop("execution", None)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",          # the ipykernel of this interpreter (the venv)
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
        record_timing=False,            # no timestamps in cell metadata: quieter diffs
        allow_errors=False,
    )
    client.execute()
    # a notebook written by nbclient: normalise, validate, then replace atomically
    nbformat.validate(nb)
    tmp = path.with_name(path.name + ".tmp")
    nbformat.write(nb, tmp)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks or globs (default: all in book/)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    args = parser.parse_args(argv)

    notebooks = resolve(args.notebooks)
    if not notebooks:
        print("execute_notebooks: no notebooks found in book/")
        return 0
    failed = []
    for path in notebooks:
        rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        start = time.monotonic()
        print(f"executing {rel} ...", flush=True)
        try:
            execute(path, args.timeout)
        except Exception as exc:  # CellExecutionError, timeouts, dead kernels
            failed.append(rel)
            print(f"FAILED {rel} (left unchanged):\n{exc}", file=sys.stderr, flush=True)
            continue
        print(f"  done in {time.monotonic() - start:.1f} s", flush=True)
    if failed:
        print(f"execute_notebooks: {len(failed)} notebook(s) failed: "
              + ", ".join(map(str, failed)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
