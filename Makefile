# Every target sets itself up on a fresh machine: it creates .venv and installs evolab into it first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED_DATA := $(abspath ../shared/data)
# Offline copy of MNIST for this workplace's machines (users download it instead).
DATA_ENV := $(if $(wildcard $(SHARED_DATA)/mnist.npz),EVOLAB_DATA_DIR=$(SHARED_DATA),)
QUICK_ENV := EVOLAB_QUICK=1 TF_CPP_MIN_LOG_LEVEL=2 PYTHONHASHSEED=0

.PHONY: setup demo test test-unit test-backends lab bench student browser-test clean

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

# The same unit tests of the backend-independent core on JAX and PyTorch (CPU builds, no TensorFlow).
BACKENDS_VENV := .venv-backends
$(BACKENDS_VENV)/.installed: pyproject.toml
	test -d $(BACKENDS_VENV) || $(PYTHON) -m venv $(BACKENDS_VENV)
	$(BACKENDS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BACKENDS_VENV)/bin/python -m pip install --quiet "jax[cpu]" "torch==2.13.0" pytest "hypothesis>=6.100,<7" \
		$$($(PYTHON) -c "import tomllib; d = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; print(' '.join(repr(r) for r in d if not r.startswith('tensorflow')))" | tr -d "'")
	$(BACKENDS_VENV)/bin/python -m pip install --quiet --no-deps -e .
	touch $@

test-backends: $(BACKENDS_VENV)/.installed
	for backend in jax torch; do \
		echo "== KERAS_BACKEND=$$backend"; \
		KERAS_BACKEND=$$backend $(QUICK_ENV) $(BACKENDS_VENV)/bin/python -m pytest -q -p no:cacheprovider \
			tests/test_weights.py tests/test_fitness.py tests/test_neuro.py tests/test_lowrank.py tests/test_properties.py -k "not sigkill" || exit 1; \
	done

# A real browser: JupyterLab on loopback and headless Chromium (Debian's `chromium`, never a downloaded build) run
# lesson 10 and press its control panel's Run and Stop. Skips, saying why, without Chromium or Playwright.
browser-test: $(STAMP)
	$(BIN)/python -m pip install --quiet "playwright>=1.40,<2" || echo "Playwright could not be installed: the browser test will skip"
	$(DATA_ENV) EVOLAB_BROWSER_TEST=1 TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python -m pytest -q -rs -p no:cacheprovider tests/browser

lab: $(STAMP)
	$(DATA_ENV) $(BIN)/jupyter lab notebooks/

bench: $(STAMP)
	$(DATA_ENV) TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python benchmarks/population_eval.py

clean:
	rm -rf $(VENV) $(BACKENDS_VENV) results .pytest_cache

student: $(STAMP)
	$(BIN)/python tools/lessons.py student student
