# The two commands a newcomer needs: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1

# make test talks to real services; override on the command line or in the environment.
DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/timetracker
REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test lint typecheck pytest install install-dev clean bench bench-quick

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps: reinstall only when pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,prod]'
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run
install-dev: $(VENV)/.installed-dev

## run: zero-setup local server — SQLite under var/, Celery eager, demo data, http://$(HOST):$(PORT)
run: export DJANGO_DEBUG := 1
run: install
	@env -u DATABASE_URL -u REDIS_URL $(BIN)/python manage.py migrate --noinput -v 0
	@env -u DATABASE_URL -u REDIS_URL $(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  timetracker is starting on http://$(HOST):$(PORT)/  (admin: http://$(HOST):$(PORT)/admin/)"
	@echo "  Sign in with a demo user above. Stop with Ctrl-C."
	@echo ""
	env -u DATABASE_URL -u REDIS_URL $(BIN)/uvicorn timetracker.asgi:application --host $(HOST) --port $(PORT)

## test: lint, type-check and the whole suite against PostgreSQL and Redis
test: lint typecheck pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	DJANGO_DEBUG=1 $(BIN)/mypy .

# The browser tests drive Debian's chromium; install it when it is missing (CI runs as root).
CHROMIUM ?= /usr/bin/chromium
$(CHROMIUM):
	@echo "make: installing Debian's chromium for the browser tests"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium > /dev/null || \
	  (apt-get update -q > /dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium > /dev/null)

pytest: install-dev $(CHROMIUM)
	DJANGO_DEBUG=1 DATABASE_URL=$(DATABASE_URL) REDIS_URL=$(REDIS_URL) $(BIN)/pytest $(PYTEST_ARGS)

## bench: the stack at one million entries against a bare MCP server, SQL and TimeTagger (≤ 20 min)
bench: install-dev
	$(BIN)/python bench/run.py --entries 1000000

## bench-quick: the same at ≈ 50 000 entries (≤ 3 min)
bench-quick: install-dev
	$(BIN)/python bench/run.py --entries 50000 --calls 200 --writes 200 --rest 500 --post-seconds 2 --memory 750

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
