# annt-book: build and test the book.
#
#   make setup     virtualenv + Python packages, npm packages, offline web assets
#   make execute   run the notebooks in book/ in place (NB=book/x.ipynb for some)
#   make book      build the HTML book into _build/html (warnings are errors)
#   make test      the whole test suite: unit tests, nbval on the notebooks,
#                  the book build and the browser test of every page
#   make test-portable  nbval on the notebooks again, under foreign numerics
#                  (another BLAS kernel, no AVX2 in NumPy, generic Numba code,
#                  one thread): the stored outputs must not depend on the CPU
#   make lock      rewrite constraints.txt from the packages installed now
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

.PHONY: help setup vendor execute book test test-portable nbval lock clean

help:
	@sed -n '3,13p' Makefile | sed 's/^# \{0,1\}//'

# --- setup ------------------------------------------------------------------
setup: $(SETUP_STAMP) $(NPM_STAMP) vendor

# (Re)install Python packages when requirements change; creates the venv if missing.
# constraints.txt pins the exact versions that produced the stored outputs
# (requirements.txt keeps ranges, for people who use the library on its own).
$(SETUP_STAMP): requirements.txt constraints.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	@touch $@

# Pin what is installed now (after changing requirements.txt: make setup, then make lock).
lock: $(SETUP_STAMP)
	{ echo "# Exact versions the stored notebook outputs were produced and tested with."; \
	  echo "# make setup installs requirements.txt under these constraints; make lock rewrites this file."; \
	  $(PY) -m pip freeze --exclude-editable --all | grep -v -E '^(pip|setuptools|wheel)=='; } > constraints.txt.tmp
	mv constraints.txt.tmp constraints.txt

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
NBVAL := -m pytest -n $(PYTEST_WORKERS) --dist loadfile \
	    --nbval --nbval-current-env --nbval-sanitize-with book/nbval_sanitize.cfg

test: setup
	$(PY) $(NBVAL) $(PYTEST_ARGS) tests book

# Foreign numerics: what a reader's computer may do differently from the one
# that stored the outputs. OpenBLAS takes an older CPU's kernels, NumPy drops
# its AVX2/AVX-512 loops, Numba compiles for a generic CPU (no FMA, narrower
# vectors) into a cache of its own, and everything runs on one thread.
ARCH := $(shell uname -m)
ifeq ($(ARCH),x86_64)
PORTABLE_BLAS := Sandybridge
else ifeq ($(ARCH),aarch64)
PORTABLE_BLAS := ARMV8
endif
PORTABLE_CACHE ?= $(abspath _build/numba-portable-cache)
PORTABLE_ENV := $(if $(PORTABLE_BLAS),OPENBLAS_CORETYPE=$(PORTABLE_BLAS)) \
	NPY_DISABLE_CPU_FEATURES="X86_V3 X86_V4 AVX512_ICL AVX512_SPR AVX512F AVX512_SKX AVX2 FMA3" \
	NUMBA_CPU_NAME=generic NUMBA_NUM_THREADS=1 NUMBA_CACHE_DIR=$(PORTABLE_CACHE) \
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

test-portable: setup
	rm -rf $(PORTABLE_CACHE)
	env $(PORTABLE_ENV) $(PY) $(NBVAL) $(PYTEST_ARGS) $(or $(NB),book)
	rm -rf $(PORTABLE_CACHE)

# nbval on some notebooks only, as make test runs it: make nbval NB=book/lstm.ipynb
nbval: setup
	$(PY) $(NBVAL) $(PYTEST_ARGS) $(or $(NB),book)

# --- clean ------------------------------------------------------------------
clean:
	rm -rf _build book/_vendor book/_vendor.tmp .pytest_cache
	find . -path ./$(VENV) -prune -o -path ./node_modules -prune -o \
	    -name .ipynb_checkpoints -type d -print0 | xargs -0 rm -rf
