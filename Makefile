# The two commands: `make run` (solve an example task offline) and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
TASK ?= What is 3847 * 2931?

.PHONY: setup test-setup run test lint bench clean

setup:
	@bash scripts/setup.sh run

test-setup:
	@bash scripts/setup.sh test

run: setup
	$(BIN)/codehelm solve "$(TASK)"

lint: test-setup
	$(BIN)/ruff check codehelm tests examples benchmarks
	$(BIN)/ruff format --check codehelm tests examples benchmarks
	$(BIN)/mypy codehelm
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: test-setup
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/sandbox.py
	$(BIN)/python benchmarks/selection.py
	$(BIN)/python benchmarks/viewer.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
