# Every target installs what it needs into .venv first, so a fresh clone needs only python3 and make.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
THEME ?= a cat and a dog

.PHONY: install demo run fmt lint typecheck test check bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

demo: install  ## make a story video with the offline default (no key needed)
	$(BIN)/storybot story "$(THEME)"

run: install  ## run the chat bots configured in .env
	$(BIN)/storybot run

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

test: install  ## two workers: one per core
	$(BIN)/pytest -n 2 --durations=15

check: lint typecheck test

$(VENV)/.bench: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	touch $@

bench: $(VENV)/.bench  ## the benchmarks (installs the cookbook's MoviePy for the baseline)
	$(PY) bench/pipeline.py
	$(PY) bench/load.py
	$(PY) bench/assembly.py
	$(PY) bench/scale.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
