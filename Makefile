# Every target sets itself up on a fresh machine: it creates .venv and installs evolab into it first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED_DATA := $(abspath ../shared/data)
# Offline copy of MNIST for this workplace's machines (users download it instead).
DATA_ENV := $(if $(wildcard $(SHARED_DATA)/mnist.npz),EVOLAB_DATA_DIR=$(SHARED_DATA),)
QUICK_ENV := EVOLAB_QUICK=1 TF_CPP_MIN_LOG_LEVEL=2 PYTHONHASHSEED=0

.PHONY: setup demo test test-unit test-notebooks lab bench student browser-test clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(DATA_ENV) TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/evolab demo

test: $(STAMP)
	$(DATA_ENV) $(QUICK_ENV) $(BIN)/python -m pytest -q tests $(wildcard notebooks/*.ipynb) $(wildcard notebooks/solutions/*.ipynb) \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=600 -p no:cacheprovider

test-unit: $(STAMP)
	$(DATA_ENV) $(QUICK_ENV) $(BIN)/python -m pytest -q tests

lab: $(STAMP)
	$(DATA_ENV) $(BIN)/jupyter lab notebooks/

bench: $(STAMP)
	$(DATA_ENV) TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python benchmarks/population_eval.py

clean:
	rm -rf $(VENV) results .pytest_cache

student: $(STAMP)
	$(BIN)/python tools/lessons.py student student
