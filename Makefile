# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_WORKERS ?= auto
UV_VERSION := 0.13.9

.PHONY: lock install frontend demo serve test test-fast test-python test-frontend lint bench wheel

install: $(VENV)/.installed

# Exact versions from uv.lock (`make lock` refreshes it after a change to pyproject.toml).
$(VENV)/.installed: pyproject.toml uv.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "uv==$(UV_VERSION)"
	UV_NATIVE_TLS=1 UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync -q --frozen --inexact --extra dev
	touch $@

lock:
	$(PYTHON) -m pip install -q "uv==$(UV_VERSION)"
	UV_NATIVE_TLS=1 $(PYTHON) -m uv lock

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

# The UI is built first: a test installs the wheel (UI inside) and serves it without Node.
test: frontend test-python test-frontend

test-python: lint
	$(BIN)/pytest -n $(PYTEST_WORKERS)

# Your own loop: SQLite only, in parallel, without the real-time process drills.
test-fast: lint
	CARTRACK_TEST_POSTGRES_URL= $(BIN)/pytest -n $(PYTEST_WORKERS) -m "not realtime"

test-frontend: frontend
	cd frontend && npm run lint && npm test && npm run e2e

# The safety nets: lint, types (migrations aside) and the import contracts of pyproject.toml.
lint: install
	$(BIN)/ruff check cartrack tests bench
	$(BIN)/mypy cartrack
	$(BIN)/lint-imports

# The wheel with the built UI inside (what docker/Dockerfile builds), into dist/.
wheel: frontend
	rm -rf build/wheel && mkdir -p build/wheel dist
	cp -r pyproject.toml README.md cartrack build/wheel/
	cp -r frontend/dist build/wheel/cartrack/static
	UV_NATIVE_TLS=1 $(BIN)/uv build --wheel --out-dir dist build/wheel

bench: install
	$(BIN)/python -m bench
