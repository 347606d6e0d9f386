# Narrowcast — two commands: `make demo` (whole pipeline on demo data) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The environment is rebuilt only when the lock or the package metadata change.
STAMP := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml 2>/dev/null | sha256sum | cut -c1-12)
export NARROWCAST_DATA_DIR ?= $(CURDIR)/data
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export DO_NOT_TRACK := 1
export SCARF_NO_ANALYTICS := true

.PHONY: setup demo test lint ui docs manifest sandbox serve-webhooks serve-profiles bench clean

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install -q uv
	@test -x $(BIN)/python || $(PYTHON) -m uv venv -q -p $(PYTHON) $(VENV)
	$(PYTHON) -m uv pip install -q --python $(BIN)/python -r requirements.txt
	$(PYTHON) -m uv pip install -q --python $(BIN)/python --no-deps -e .
	@rm -f $(VENV)/.installed-*; touch $@

setup: $(STAMP) ## create .venv from the lock file (no-op when nothing changed)

demo: setup ## generate → extract → transform → activate on demo data, then print a summary
	$(BIN)/python -m narrowcast.demo

test: setup ## lint + the whole test suite (what CI runs)
	bash scripts/test.sh

lint: setup
	$(BIN)/ruff check .
	@mkdir -p test-output
	NARROWCAST_WAREHOUSE=$(CURDIR)/test-output/lint-warehouse.duckdb $(BIN)/sqlfluff lint dbt_project/models --disable-progress-bar

manifest: setup ## dbt manifest Cosmos renders the transform DAG from
	$(BIN)/python -m narrowcast.cli manifest

# The three servers below listen on loopback, and Ctrl-C stops each with every process it started.
ui: setup ## Airflow UI (standalone) on http://localhost:8080 ($NARROWCAST_UI_PORT), login admin / admin
	$(BIN)/python -m narrowcast.cli ui

docs: setup ## generate and serve dbt docs on http://localhost:8081 ($NARROWCAST_DOCS_PORT)
	$(BIN)/python -m narrowcast.cli docs

sandbox: setup ## serve the API emulators on 127.0.0.1:8765 ($NARROWCAST_SANDBOX_PORT)
	$(BIN)/python -m narrowcast.cli sandbox

serve-webhooks: setup ## Shopify webhook receiver on 127.0.0.1:8790 ($NARROWCAST_WEBHOOKS_PORT), docs/serve.md
	$(BIN)/python -m narrowcast.cli serve webhooks

serve-profiles: setup ## profile read API on 127.0.0.1:8791 ($NARROWCAST_PROFILES_PORT), docs/serve.md
	$(BIN)/python -m narrowcast.cli serve profiles

bench: setup
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b --quick || exit 1; done

clean:
	rm -rf .airflow data test-output dbt_project/target dbt_project/logs
