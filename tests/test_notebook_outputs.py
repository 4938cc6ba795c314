"""The stored outputs of the book are ones another computer can reproduce.

nbval (``make test``, ``make test-portable``) re-runs the notebooks and
compares. These tests read the stored notebooks only, and catch what would
make that comparison depend on the machine (see CONTRIBUTING.md):

* rounding noise printed as data (``2.8e-17``, a gradient check's ``5.3e-10``);
* NumPy scalar reprs and glued figures in compared outputs;
* outputs excluded from the comparison with nothing after them that asserts
  what the text claims about them.
"""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("output_census", REPO_ROOT / "scripts" / "output_census.py")
census = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(census)
# A number with decimals in scientific notation at 1e-7 or below: in a compared
# output this is the noise of a check, not a result.
NOISE = re.compile(r"(?<![\w.])\d\.\d+e-(0?[7-9]|[1-9]\d)\b")


def _compared_cells(nb):
    for i, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") == "code" and not census.tags(cell) & census.IGNORE_TAGS:
            yield i, cell


@pytest.fixture
def notebook(book_notebook):
    return book_notebook, json.loads(book_notebook.read_text(encoding="utf-8"))


def test_no_rounding_noise_in_compared_outputs(notebook):
    path, nb = notebook
    found = []
    for i, cell in _compared_cells(nb):
        for text in census.compared_texts(cell):
            found += [f"cell {i}: {m.group(0)}" for m in NOISE.finditer(text)]
    assert not found, (f"{path.name} prints rounding noise where nbval compares it "
                       f"(print a bound with annt.assert_below/assert_close): {found[:5]}")


def test_no_numpy_scalar_repr_or_glued_image_in_compared_outputs(notebook):
    path, nb = notebook
    found = []
    for i, cell in _compared_cells(nb):
        for text in census.compared_texts(cell):
            if re.search(r"\bnp\.(float|int)\d+\(", text):
                found.append(f"cell {i}: NumPy scalar repr")
            if text.startswith("[application/papermill.record/image"):
                found.append(f"cell {i}: glued image")
            if text.startswith("[image/svg+xml]"):
                found.append(f"cell {i}: SVG figure (compared as text)")
    assert not found, f"{path.name}: {found}"


def test_every_excluded_output_is_followed_by_an_assertion(notebook):
    path, nb = notebook
    unchecked = [i for i, kind in census.classify(nb, census.sanitizers()) if kind == "unchecked"]
    assert not unchecked, (
        f"{path.name}: cells {unchecked} are tagged nbval-ignore-output but no cell after "
        "them asserts what they show (add one, or tag timings 'timing')")


def test_every_code_cell_has_run(notebook):
    path, nb = notebook
    code = [c for c in nb["cells"] if c.get("cell_type") == "code" and c.get("source")]
    counts = [c.get("execution_count") for c in code]
    assert all(isinstance(n, int) for n in counts), f"{path.name}: cells without an execution count"
    assert counts == list(range(1, len(counts) + 1)), \
        f"{path.name}: not executed top to bottom in one fresh kernel ({counts[:8]} ...)"
    errors = [i for i, c in enumerate(nb["cells"])
              if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert not errors, f"{path.name}: stored errors in cells {errors}"


def test_census_sorts_cells_as_nbval_compares_them():
    """The classifier behind these tests, on a small notebook made here."""
    def code(src, outputs=(), tags=()):
        return {"cell_type": "code", "source": src, "metadata": {"tags": list(tags)},
                "outputs": list(outputs), "execution_count": 1}

    out = {"output_type": "stream", "name": "stdout", "text": "loss 0.123\n"}
    timed = {"output_type": "stream", "name": "stdout", "text": "Wall time: 3 s\n"}
    nb = {"cells": [
        code("print(1)", [out]),
        code("train()", [out], ["nbval-ignore-output"]),
        code("assert loss < 0.2"),
        code("train()", [out], ["nbval-ignore-output"]),
        {"cell_type": "markdown", "source": "text", "metadata": {}},
        code("print('no assertion')", [out]),
        code("%time f()", [timed]),
        code("t = time()", [out], ["nbval-ignore-output", "timing"]),
    ]}
    kinds = census.classify(nb, census.sanitizers())
    assert kinds == [(0, "exact"), (1, "asserted"), (3, "unchecked"), (5, "exact"),
                     (6, "sanitized"), (7, "timing")]
    assert NOISE.search("max |difference| 2.8e-17") and NOISE.search("error 5.3e-10")
    assert not NOISE.search("max |difference| < 1e-12") and not NOISE.search("lr 1.5e-3")


def test_readme_quotes_the_fair_run_stored_in_the_speed_chapter():
    """The README's table of fair ratios is the run stored in the speed chapter:
    every case's annt time, PyTorch time and ratio appear in the README's row."""
    nb = json.loads((REPO_ROOT / "book" / "how_annt_is_fast.ipynb").read_text(encoding="utf-8"))
    table = next("".join(o.get("text", "")) for c in nb["cells"] if c["cell_type"] == "code"
                 for o in c.get("outputs", []) if "PyTorch/annt" in "".join(o.get("text", "")))
    rows = {"mnist_epoch": "MNIST GRU", "lstm_train": "training step",
            "lstm_infer": "the same LSTM: inference", "rnn_step": "RNN 32"}
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    for line in table.splitlines():
        fields = line.split()
        if not fields or fields[0] not in rows or len(fields) < 5:
            continue
        row = next((r for r in readme if r.startswith("| ") and rows[fields[0]] in r), None)
        assert row is not None, f"no README row for {fields[0]}"
        for value in fields[2:5]:               # annt, PyTorch, ratio
            assert value in row, f"README row {row!r} lacks {value} of the stored run: {line}"
    compile_s = next(line.split()[2] for line in table.splitlines() if line.startswith("compile"))
    assert any("first training call" in r and f"{compile_s} s" in r for r in readme), compile_s
