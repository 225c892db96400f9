# Set-up and common tasks. `make demo` and `make test` need only Python 3.10+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint examples bench interop docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/python examples/keras_30_seconds.py

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

# Benchmarks are not part of the tests. PyTorch and Keras (torch backend) are compared
# when the optional `bench` extra is installed: `.venv/bin/pip install -e ".[bench]"`.
# bench_mlp.py rewrites results.json; bench_h5_memory.py then adds its key (it needs 3 GB of disk).
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_mlp.py --output benchmarks/results.json
	$(BIN)/python benchmarks/bench_h5_memory.py --output benchmarks/results.json

# The example scripts, with their optional extras (scikit-learn, mnist1d) installed, so that
# no smoke test is skipped; `make test` runs those it can without the extras.
examples: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet -e ".[examples]"
	$(BIN)/python -m pytest tests/test_examples.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check minikeras tests examples benchmarks conftest.py

# Interoperability with real Keras 3 (torch backend) in its own environment, so that
# `make test` never needs Keras. torch is installed first and pinned (pip takes the
# CPU wheel and never resolves another torch); Keras does not depend on torch.
INTEROP_VENV := .venv-interop
INTEROP_BIN := $(INTEROP_VENV)/bin

$(INTEROP_BIN)/python:
	$(PYTHON) -m venv $(INTEROP_VENV)
	$(INTEROP_BIN)/python -m pip install --quiet --upgrade pip

$(INTEROP_VENV)/.installed: pyproject.toml | $(INTEROP_BIN)/python
	$(INTEROP_BIN)/python -m pip install --quiet "torch==2.13.0"
	$(INTEROP_BIN)/python -m pip install --quiet "torch==2.13.0" "keras==3.15.1" -e ".[test]"
	touch $@

interop: $(INTEROP_VENV)/.installed
	KERAS_BACKEND=torch $(INTEROP_BIN)/python -m pytest tests/interop

# The documentation site (MkDocs Material, API reference from the docstrings) in its own
# environment; `--strict` turns every broken link or docstring warning into an error.
DOCS_VENV := .venv-docs
DOCS_BIN := $(DOCS_VENV)/bin

$(DOCS_BIN)/python:
	$(PYTHON) -m venv $(DOCS_VENV)
	$(DOCS_BIN)/python -m pip install --quiet --upgrade pip

$(DOCS_VENV)/.installed: pyproject.toml | $(DOCS_BIN)/python
	$(DOCS_BIN)/python -m pip install --quiet -e ".[docs]"
	touch $@

docs: $(DOCS_VENV)/.installed
	NO_MKDOCS_2_WARNING=1 $(DOCS_BIN)/mkdocs build --strict -f docs/mkdocs.yml

clean:
	rm -rf $(VENV) $(INTEROP_VENV) $(DOCS_VENV) site build *.egg-info .pytest_cache
