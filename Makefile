# Two commands set up a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: install install-dev run test lint format migrate seed clean browser-deps fuzz serve bench bench-summary

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

## install: the virtualenv and the runtime requirements only
install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

migrate: install
	mkdir -p var
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_debate

## run: install, migrate, seed the debate, serve with DEBUG on (SQLite unless DATABASE_URL says otherwise) under
## uvicorn (ASGI, so the event streams work too), reloading on code changes; the settings are manage.py's
## development default, config.settings.local
run: seed
	DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-config.settings.local} $(VENV)/bin/uvicorn config.asgi:application \
		--host 127.0.0.1 --port $(PORT) --reload --reload-dir config --reload-dir forum --reload-dir discussions

## serve: production-like: gunicorn with WEB_CONCURRENCY uvicorn workers (ASGI; SERVER=sync for gunicorn's sync
## workers, SERVER=granian for granian), config.settings.serve (DEBUG off), WhiteNoise static files, DATABASE_URL
serve: install
	bin/serve

## test: install, then the whole suite (set DATABASE_URL to run it on PostgreSQL)
test: install-dev
	mkdir -p var
	$(PY) -m pytest

## browser-deps: Debian's Chromium and ChromeDriver for the real-browser admin test (needs root, as CI has)
browser-deps:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then \
		echo "chromium and chromedriver present"; \
	else \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var/*.sqlite3*

## bench: seed a 1k-reply and a 50k-reply/500k-vote topic, serve them with `make serve`, drive every public read at
## both sizes and the writes with 8 concurrent clients; prints p50/p95, ratios to the floor against the targets,
## queries and EXPLAIN of each list (see bench/README.md). PostgreSQL by default; SQLite with
## BENCH_DATABASE_URL=sqlite:////abs/path/bench.sqlite3. The database name must contain "bench"; BENCH_REDIS_URL
## (not database 0) serves the redis pass; BENCH_ARGS="--help" for sizes, requests, passes
bench: install
	$(PY) -m bench.live $(BENCH_ARGS)

## bench-summary: time the stance summaries at ~1k and ~1M votes in a throwaway database (see bench/README.md);
## BENCH_ARGS="--large-votes 100000" for a quick run, BENCH_DATABASE_URL=postgres://... for PostgreSQL
bench-summary: install
	$(PY) -m bench.summary $(BENCH_ARGS)

## fuzz: schemathesis over every operation of /api/schema/, longer than the pass in `make test` (FUZZ_EXAMPLES
## generated cases per operation, a fresh random seed each run unless FUZZ_SEED is set; DATABASE_URL as for test)
FUZZ_EXAMPLES ?= 100
FUZZ_SEED ?= random
fuzz: install-dev
	mkdir -p var
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) $(PY) -m pytest tests/test_fuzzing.py -m fuzz
