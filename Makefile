# Set-up commands. `make demo` and `make test` work on a fresh clone.
VENV   := .venv
PYTHON := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install demo test bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(VENV)/bin/backtest demo

test: install
	$(VENV)/bin/pytest -q

bench: install
	$(VENV)/bin/backtest bench

# sqlfluff's dbt templater compiles the models: it gets a throwaway warehouse and dbt folders
# under target/lint, never the user's warehouse. Macros are linted where the models expand them.
LINT_DIR := target/lint
SQL      := models plugins/*/models

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	rm -rf $(LINT_DIR) && mkdir -p $(LINT_DIR)
	BACKTEST_DB=$(LINT_DIR)/lint.duckdb DBT_TARGET_PATH=$(LINT_DIR)/target \
	DBT_LOG_PATH=$(LINT_DIR)/logs $(VENV)/bin/sqlfluff lint $(SQL)

clean:
	rm -rf $(VENV) target logs warehouse/*.duckdb* .pytest_cache
