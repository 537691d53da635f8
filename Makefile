# leadhub: `make serve` starts the service on embedded SQLite; `make test` runs the whole test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
export LEADHUB_TEST_POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: install serve test test-sqlite test-postgres lint format bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

serve: install
	$(BIN)/leadhub serve

test: install
	$(MAKE) --no-print-directory test-sqlite
	@if $(BIN)/python -m tests.postgres_available; then \
		$(MAKE) --no-print-directory test-postgres; \
	elif [ -n "$$LEADHUB_REQUIRE_POSTGRES" ]; then \
		echo "PostgreSQL is required here but not reachable at $$LEADHUB_TEST_POSTGRES_URL" >&2; exit 1; \
	else \
		echo "== PostgreSQL not reachable at $$LEADHUB_TEST_POSTGRES_URL: skipping the PostgreSQL run"; \
		echo "== (start one, or set LEADHUB_TEST_POSTGRES_URL, to run the suite against it too)"; \
	fi

test-sqlite: install
	@echo "== test suite on SQLite"
	LEADHUB_TEST_DATABASE=sqlite $(BIN)/pytest -n 2 $(PYTEST_ARGS)

test-postgres: install
	@echo "== test suite on PostgreSQL ($$LEADHUB_TEST_POSTGRES_URL)"
	LEADHUB_TEST_DATABASE=postgres $(BIN)/pytest -n 2 $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check leadhub tests bench
	$(BIN)/ruff format --check leadhub tests bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff format leadhub tests bench
	$(BIN)/ruff check --fix leadhub tests bench

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache

bench: install
	$(BIN)/python -m bench.contacts.run --quick $(BENCH_ARGS)
