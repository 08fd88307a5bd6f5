# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install frontend demo serve test test-python test-frontend lint bench

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	# `npm ci` refuses this lock: vite's Windows-only optional dependency has no lock entry
	# (an npm bug); `npm install` keeps the locked versions and skips it.
	cd frontend && npm install --no-audit --no-fund
	touch $@

frontend: install frontend/node_modules/.installed
	$(BIN)/cartrack openapi -o frontend/openapi.json
	cd frontend && npm run build

demo: install frontend
	$(BIN)/cartrack demo --host $(HOST) --port $(PORT)

serve: install frontend
	$(BIN)/cartrack serve --host $(HOST) --port $(PORT)

test: test-python test-frontend

test-python: install
	$(BIN)/ruff check cartrack tests bench
	$(BIN)/pytest

test-frontend: frontend
	cd frontend && npm test && npm run e2e

lint: install
	$(BIN)/ruff check cartrack tests bench
	$(BIN)/mypy cartrack

bench: install
	$(BIN)/python -m bench
