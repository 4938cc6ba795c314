# annt-book: build and test the book.
#
#   make setup     virtualenv + Python packages, npm packages, offline web assets
#   make execute   run the notebooks in book/ in place (NB=book/x.ipynb for some)
#   make book      build the HTML book into _build/html (warnings are errors)
#   make test      the whole test suite: unit tests, nbval on the notebooks,
#                  the book build and the browser test of every page
#   make clean     remove build output and vendored assets
#
# Needs python3 (3.10+), node + npm; the browser test needs Debian's chromium
# (apt-get install -y chromium), which this Makefile does not install.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
JUPYTER_BOOK := $(VENV)/bin/jupyter-book
NPM ?= npm
SETUP_STAMP := $(VENV)/.annt-setup.stamp
NPM_STAMP := node_modules/.package-lock.json

# Tests: xdist workers; loadfile keeps each notebook (and each test file) on one worker.
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=
NB ?=

# Data shared with CI lives next to the repository when it exists.
ifneq ($(wildcard ../shared/data),)
export ANNT_DATA_DIR ?= $(abspath ../shared/data)
endif

.PHONY: help setup vendor execute book test clean

help:
	@sed -n '3,9p' Makefile | sed 's/^# \{0,1\}//'

# --- setup ------------------------------------------------------------------
setup: $(SETUP_STAMP) $(NPM_STAMP) vendor

# (Re)install Python packages when requirements change; creates the venv if missing.
$(SETUP_STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

# npm packages pinned in package-lock.json (MathJax, Jupyter widgets embed bundle).
$(NPM_STAMP): package.json package-lock.json
	$(NPM) ci --ignore-scripts --no-audit --no-fund
	@touch $@

# Copy the needed subset into book/_vendor/ (no-op when up to date).
vendor: $(SETUP_STAMP) $(NPM_STAMP)
	$(PY) scripts/vendor_assets.py

# --- notebooks ----------------------------------------------------------------
execute: setup
	$(PY) scripts/execute_notebooks.py $(NB)

# --- book -------------------------------------------------------------------
book: setup
	$(JUPYTER_BOOK) build . -W -n --keep-going

# --- tests ------------------------------------------------------------------
test: setup
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile \
	    --nbval --nbval-current-env --nbval-sanitize-with book/nbval_sanitize.cfg \
	    $(PYTEST_ARGS) tests book

# --- clean ------------------------------------------------------------------
clean:
	rm -rf _build book/_vendor book/_vendor.tmp .pytest_cache
	find . -path ./$(VENV) -prune -o -path ./node_modules -prune -o \
	    -name .ipynb_checkpoints -type d -print0 | xargs -0 rm -rf
