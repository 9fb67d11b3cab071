# Quick start (README): `make demo` runs the whole recipe on synthetic data; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH ?= torch==2.13.0
DEMO_DIR ?= work_dirs/demo

.PHONY: setup test test-slow demo benchmark clean-demo

setup: $(VENV)/.installed

# torch is pinned first so that no other package pulls a different (multi-GB CUDA) build.
$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[nuscenes,onnx,dev]" "$(TORCH)"
	touch $@

test: setup
	$(PY) -m pytest

test-slow: setup
	$(PY) -m pytest -m slow

benchmark: setup
	$(PY) tools/benchmark.py --out $(DEMO_DIR)/benchmark.json
