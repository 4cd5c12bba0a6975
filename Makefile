# The two commands: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
CONTRACT_ARGS ?=

.PHONY: run test lint format typecheck openapi contract bench soak clean

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: $(STAMP)  ## migrate, load the default offices and serve on SQLite (var/infodesk.db)
	$(BIN)/infodesk serve --host $(HOST) --port $(PORT)

test: $(STAMP)  ## the whole suite, on SQLite and (when reachable) PostgreSQL
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)  ## ruff and mypy, as CI runs them
	$(BIN)/ruff check app tests bench alembic
	$(BIN)/ruff format --check app tests bench alembic
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format app tests bench alembic
	$(BIN)/ruff check --fix app tests bench alembic

openapi: $(STAMP)  ## write openapi/openapi.json from the application
	$(BIN)/infodesk openapi

contract: $(STAMP)  ## schemathesis --checks all, every phase, against a live server (CONTRACT_ARGS: --database postgresql, ...)
	$(BIN)/python -m tests.contract $(CONTRACT_ARGS)

BENCHMARKS := bench_sla bench_api bench_inquiries bench_email_in bench_delivery bench_survey \
	bench_reports bench_templates bench_search bench_index_answer

bench: $(STAMP)  ## the benchmarks reported in the README (all but the first two need PostgreSQL); each runs, and the exit status is 1 if any aim was missed
	@status=0; for b in $(BENCHMARKS); do echo "== $$b"; $(BIN)/python -m bench.$$b || status=1; done; exit $$status

soak: $(STAMP)  ## load and faults on PostgreSQL: 32 clients, killed connections, a locked inquiry
	$(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .hypothesis
