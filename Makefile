# Four Views of One Game: the two commands from a fresh clone.
#
#   make book    install into .venv, run every notebook, build the book: _build/html/index.html
#   make test    everything CI runs (lint, unit tests and notebooks, spot checks, strict build,
#                browser tests of the rendered pages, Colab and JupyterLab checks)
#   make check   the fast loop: the unit tests alone
#   make lab     JupyterLab in the virtualenv
#
# Nothing to install first but Python >= 3.10 (with venv) and, for the book's scripts, npm; a command
# that needs something missing says what to install in one line before doing any work. Every
# target uses the virtualenv's own binaries (.venv/bin/...), so no `activate` is needed, and prints
# the wall time of each stage. PyTorch is the CPU wheel from PyTorch's index; set TORCH_INDEX_URL to
# another index, or to nothing to take the wheel from pip's own configuration:
#   make book TORCH_INDEX_URL=
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.PHONY: help book colab test check lab clean preflight-venv preflight-npm preflight-browser install assets execute html

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
TORCH_VERSION := 2.13.0
TORCH_INDEX_URL ?= https://download.pytorch.org/whl/cpu
INSTALLED := $(VENV)/.installed
STAGE_LOG := _build/stage-times.txt
# the checks that come before any work, by goal (they run even when .venv is up to date)
PREFLIGHT := preflight-venv \
  $(if $(filter book colab html execute assets test,$(MAKECMDGOALS)),preflight-npm) \
  $(if $(filter test,$(MAKECMDGOALS)),preflight-browser)
ifneq ($(filter book test check,$(MAKECMDGOALS)),)
  $(shell rm -f $(STAGE_LOG))  # each run reports its own stages
endif
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYTHONUNBUFFERED := 1
unexport MPLBACKEND  # the notebook kernels use the inline backend: their figures go into the book

# `$(STAGE) "name" command args...`: run one stage, print its wall time and add it to $(STAGE_LOG)
STAGE = stage() { local name=$$1; shift; local t0; t0=$$(date +%s); echo "::: $$name"; \
	if "$$@"; then local s=$$(( $$(date +%s) - t0 )); mkdir -p _build; \
	  printf '%6d s  %s\n' "$$s" "$$name" | tee -a $(STAGE_LOG); \
	else local rc=$$?; echo "::: $$name FAILED after $$(( $$(date +%s) - t0 )) s"; return $$rc; fi; }; stage
STAGE_REPORT = echo; echo "wall time per stage:"; cat $(STAGE_LOG)

help:
	@sed -n '3,7p' Makefile | sed 's/^# *//'

# ---- what a command needs from the system, checked before any work ---------------------------
preflight-venv:
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: sudo apt-get install python3 python3-venv"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "Python >= 3.10 needed (torch $(TORCH_VERSION), JupyterLab), $(PYTHON) is $$($(PYTHON) -V 2>&1): make book PYTHON=python3.11"; exit 1; }
	@test -x $(PY) || $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { echo "python3-venv not found: sudo apt-get install python3-venv"; exit 1; }

# npm fetches the book's scripts once (MathJax, RequireJS, the widget manager into _assets/)
preflight-npm:
	@$(PYTHON) tools/fetch_static_assets.py --check >/dev/null 2>&1 || command -v npm >/dev/null || { echo "npm not found: sudo apt-get install npm"; exit 1; }

preflight-browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { echo "chromium or chromedriver not found: sudo apt-get install chromium chromium-driver"; exit 1; }

# ---- the virtualenv: torch's CPU wheel, then the package and the pinned toolchain -------------
$(INSTALLED): requirements.txt pyproject.toml | $(PREFLIGHT)
	@$(STAGE) "install into $(VENV) (torch $(TORCH_VERSION), requirements.txt)" bash -euo pipefail -c '\
	  test -x $(PY) || $(PYTHON) -m venv $(VENV); \
	  $(PY) -m pip install -q --upgrade pip; \
	  $(PY) -m pip install -q "torch==$(TORCH_VERSION)" $(if $(TORCH_INDEX_URL),--index-url "$(TORCH_INDEX_URL)"); \
	  $(PY) -m pip install -q -r requirements.txt'
	@touch $@

install: $(INSTALLED)

assets: preflight-npm install
	@$(STAGE) "the book's scripts (tools/fetch_static_assets.py)" $(PY) tools/fetch_static_assets.py

# ---- make book ---------------------------------------------------------------------------------
# pytest runs every notebook through nbval (their check cells decide) and stores each one that
# passed in the build's execution cache; the build then renders those outputs (conftest.py).
execute: assets
	@$(STAGE) "run the notebooks (pytest chapters)" $(BIN)/pytest chapters

html: execute
	@$(STAGE) "build the book (jupyter-book build .)" $(BIN)/jupyter-book build .

# Colab copies of the notebooks (tools/colab_notebooks.py writes _build/colab/), served with the book
define colab_copies
	@$(STAGE) "Colab copies (tools/colab_notebooks.py -> _build/html/colab)" bash -euo pipefail -c '\
	  $(PY) tools/colab_notebooks.py; rm -rf _build/html/colab; cp -r _build/colab _build/html/colab'
endef

colab: html
	$(colab_copies)

book: colab
	@$(STAGE_REPORT)
	@echo; echo "The book is built: open file://$(CURDIR)/_build/html/index.html"

# ---- make test: what CI runs ------------------------------------------------------------------
test: preflight-browser assets
	@$(STAGE) "lint (ruff check: rules F and B)" $(BIN)/ruff check
	@$(STAGE) "MyST in forms JupyterLab renders (tools/myst_forms.py --check)" $(PY) tools/myst_forms.py --check
	@$(STAGE) "pytest (unit tests + notebooks via nbval)" $(BIN)/pytest
	@$(STAGE) "stored results: spot checks" $(PY) tools/spot_check.py
	@$(STAGE) "jupyter-book build -W -n" $(BIN)/jupyter-book build . -W -n --keep-going
	$(colab_copies)
	@$(STAGE) "rendered pages: browser test, captions" env BOOK_BROWSER_TEST=1 $(BIN)/pytest \
	  tests/test_rendered_book.py tests/test_rendered_figures.py -o addopts="-p no:cacheprovider"
	@$(STAGE) "explorers under Colab's stack (ipywidgets 7.7.1)" bash tools/colab_compat.sh
	@$(STAGE) "notebooks in JupyterLab (tools/lab_smoke.py)" $(PY) tools/lab_smoke.py
	@$(STAGE_REPORT)

# ---- the fast loop and JupyterLab ----------------------------------------------------------------
check: install
	@$(STAGE) "unit tests (pytest tests)" $(BIN)/pytest tests -o addopts=""
	@$(STAGE_REPORT)

lab: install
	$(BIN)/jupyter lab

clean:
	rm -rf _build
