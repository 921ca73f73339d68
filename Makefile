# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: run test test-api test-schema test-e2e check-wheel lint bench-import bench-products bench-export bench-webhooks bench-sse bench-soak screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Biome, the dashboard's JavaScript linter and formatter, and axe-core, which the browser tests run
# on every view, at the versions package-lock.json pins.
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

## Set up and start the service (embedded PostgreSQL and Redis unless DATABASE_URL / REDIS_URL are set).
run: $(STAMP)
	$(BIN)/fulfil serve

## Set up and run every test: lint, the API suite, the OpenAPI document against the API, then the browser suite.
test: lint test-api test-schema test-e2e

lint: $(STAMP) $(NPM_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy src tests bench scripts
	$(BIN)/mypy --strict src
	npx biome check web

test-api: $(STAMP)
	$(BIN)/pytest tests --ignore=tests/e2e --ignore=tests/schema

# Schemathesis (`--checks all`, a few examples per operation) against a live server: about a minute.
test-schema: $(STAMP)
	$(BIN)/pytest tests/schema

test-e2e: $(STAMP) $(NPM_STAMP)
	$(BIN)/pytest tests/e2e -p no:asyncio -W ignore::pytest.PytestConfigWarning

## The built wheel in a fresh venv: `fulfil migrate` and `fulfil serve` work without the checkout.
check-wheel:
	.ci/wheel-check

# Benchmarks print their figures beside the floor they measure; the lock keeps two from overlapping.
BENCH := flock /tmp/fulfil-bench.lock $(BIN)/python

bench-import: $(STAMP)
	$(BENCH) bench/import.py

bench-products: $(STAMP)
	$(BENCH) bench/products_list.py

bench-export: $(STAMP)
	$(BENCH) bench/export.py

bench-webhooks: $(STAMP)
	$(BENCH) bench/webhooks.py
	$(BENCH) bench/webhooks_operations.py $(WEBHOOK_OPERATIONS_ARGS)

bench-sse: $(STAMP)
	$(BENCH) bench/sse_fanout.py

# Three minutes of mixed load (`bench/soak.py --seconds 30` for a shorter one).
bench-soak: $(STAMP)
	$(BENCH) bench/soak.py

## The README's screenshots, from the live app with sample data.
screenshots: $(STAMP)
	$(BIN)/python scripts/screenshot.py

clean:
	rm -rf $(VENV) node_modules .pytest-data .pytest_cache .ruff_cache
