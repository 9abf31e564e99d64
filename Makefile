PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench screenshots clean

# The stamp files re-run pip only when pyproject.toml changes.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/augment serve

# One pytest worker per core, each with its own nats-server; PYTEST_ARGS= runs serially.
PYTEST_ARGS ?= -n auto

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/jobs.py
	$(BIN)/python bench/batch.py
	$(BIN)/python bench/webhooks.py

# The README's pictures of the dashboard (docs/ui/), taken by its browser tests in Chromium.
screenshots: $(VENV)/.installed-dev
	AUGMENT_SCREENSHOTS=$(CURDIR)/docs/ui $(BIN)/python -m pytest -q -p no:randomly tests/test_ui.py tests/test_ui_jobs.py tests/test_ui_previews.py tests/test_ui_insights.py

clean:
	rm -rf $(VENV) .augment .pytest_cache
