# Entry points: `make run` (serve the app, seeded) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test venv system-deps migrate seed db-stop bench soak clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# Debian packages the tests need (PgBouncer, Chromium); installed only when missing.
system-deps:
	@missing=""; \
	command -v pgbouncer >/dev/null || missing="$$missing pgbouncer"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

migrate: venv
	DEBUG=1 $(PY) manage.py migrate --no-input

run: migrate
	DEBUG=1 $(PY) manage.py seed_comprehensive --if-empty
	@echo ""
	@echo "  App:     http://127.0.0.1:$(PORT)/"
	@echo "  Health:  http://127.0.0.1:$(PORT)/healthz"
	@echo "  Admin:   http://127.0.0.1:$(PORT)/admin/"
	@echo "  API:     http://127.0.0.1:$(PORT)/api/docs/"
	@echo ""
	DEBUG=1 $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: venv system-deps
	$(PY) -m pytest

# Benchmarks print method, data size, machine and figures, and save JSON under bench/*/.
bench: venv
	DEBUG=1 $(PY) bench/rls_overhead/run.py
	DEBUG=1 $(PY) bench/vector_search/run.py --sizes 10000 100000
	DEBUG=1 $(PY) bench/seeding/run.py --profile demo
	DEBUG=1 $(PY) bench/seeding/run.py --profile large

# Long reliability run (60 s load, PostgreSQL restarts, more fuzzing): artifacts/soak-report.md
soak: venv system-deps
	$(PY) soak/run.py

db-stop: venv
	$(PY) -c "from pathlib import Path; import os; from modernize import embedded_db as e; print('stopped' if e.stop(Path(os.environ.get('MODERNIZE_DATA_DIR', '.pgdata'))) else 'not running')"

clean: db-stop
	rm -rf $(VENV) .pgdata
