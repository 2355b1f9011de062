# Pitboss. `make run`: the console with demo data. `make test`: the whole suite.
# Both do their own set-up on a fresh Debian/Ubuntu machine.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

# Tests need the real PostgreSQL and Redis (row locks, triggers, the broker).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/pitboss
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test setup lint format check-services clean

$(PY):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip uv

$(STAMP): requirements.txt | $(PY)
	$(VENV)/bin/uv pip install -q --python $(PY) -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(VENV)/bin/uv pip install -q --python $(PY) -r requirements-dev.txt
	touch $@ $(STAMP)

setup: $(STAMP)
	@scripts/system-deps.sh run

run: setup
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py load_demo
	$(PY) manage.py seed_demo --if-empty
	scripts/run.sh

check-services:
	@DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" $(PY) scripts/check_services.py

test: $(DEV_STAMP)
	@scripts/system-deps.sh test
	@export DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}" \
	  STATICFILES_STORAGE=django.contrib.staticfiles.storage.StaticFilesStorage; \
	  $(PY) scripts/check_services.py && \
	  $(VENV)/bin/ruff check . && \
	  $(PY) manage.py makemigrations --check --dry-run -v0 && \
	  $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .

format: $(DEV_STAMP)
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) data staticfiles test-artifacts
