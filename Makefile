# Quick start (README): `make demo` runs the whole recipe on synthetic data; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH ?= torch==2.13.0
# A second environment with the core install alone (no extras): every public module must import there.
CORE_VENV ?= .venv-core

.PHONY: setup test test-core-install test-slow demo demo-navsim demo-detection benchmark

setup: $(VENV)/.installed

# torch is pinned first so that no other package pulls a different (multi-GB CUDA) build.
$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[nuscenes,onnx,dev]" "$(TORCH)"
	touch $@

test: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest
	$(MAKE) test-core-install

$(CORE_VENV)/.installed: setup.py
	$(PYTHON) -m venv $(CORE_VENV)
	$(CORE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CORE_VENV)/bin/python -m pip install --quiet "$(TORCH)"
	$(CORE_VENV)/bin/python -m pip install --quiet -e . "$(TORCH)"
	touch $@

# `pip install -e .` alone: every module of onedrive imports, and what needs an extra names it when used.
test-core-install: $(CORE_VENV)/.installed
	$(CORE_VENV)/bin/python tests/packaging/check_core_install.py

# The slow tests include 2-process torchrun / DeepSpeed runs and ONNX exports.
test-slow: setup
	$(PY) -m pip install --quiet -e ".[deepspeed]" "$(TORCH)"
	$(PY) -m pytest -m slow

# synthetic world → info files → 3 training stages → eval (+ baselines) → export → reload; prints the table.
demo: setup
	$(PY) tools/demo.py

demo-navsim: setup
	$(PY) tools/demo.py --navsim

# the demo's stage 1 alone, trained to 4,000 steps instead of 3,000 (18 to 22 min): how far detection gets.
demo-detection: setup
	$(PY) tools/demo.py --detection

benchmark: setup
	$(PY) tools/benchmark.py --out runs/benchmark.json
