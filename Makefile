# NurseStation: one command to try it, one to test it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check bench overview clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/nursestation --demo

overview: $(STAMP)
	$(BIN)/nursestation --demo overview

# The fences first (layer contracts, types, lint), then the tests. Every step runs even when an
# earlier one failed, so one run shows everything that is wrong; any failure fails `make test`.
test: $(STAMP)
	@status=0; \
	$(MAKE) --no-print-directory check || status=1; \
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS) || status=1; \
	exit $$status

check: $(STAMP)
	@status=0; \
	echo "lint-imports"; $(BIN)/lint-imports --no-cache || status=1; \
	echo "mypy"; $(BIN)/mypy || status=1; \
	echo "ruff check"; $(BIN)/ruff check . || status=1; \
	exit $$status

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
