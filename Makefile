# Set-up and common tasks. `make demo` and `make test` need only Python 3.10+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

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
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_mlp.py --output benchmarks/results.json

lint: $(VENV)/.installed-test
	$(BIN)/ruff check minikeras tests examples benchmarks conftest.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
