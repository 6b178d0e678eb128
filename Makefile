# Set-up and the everyday commands. Each target creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export OPENBLAS_NUM_THREADS := 1

.PHONY: demo test lint format bench-train bench-serve clean

$(BIN)/recsvc: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,eval,train]"
	touch $@

demo: $(BIN)/recsvc  ## train on a sample shop and serve it on http://127.0.0.1:8000
	$(BIN)/recsvc demo

test: $(BIN)/recsvc  ## run the tests (against $$REDIS_URL, else a private redis-server)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(BIN)/recsvc  ## ruff (lint and format), mypy and hadolint, as CI runs them
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

format: $(BIN)/recsvc  ## fix what ruff can fix and format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench-train: $(BIN)/recsvc  ## training + publishing at RetailRocket scale
	$(BIN)/python benchmarks/train_bench.py

bench-serve: $(BIN)/recsvc  ## requests/s and latency under gunicorn (needs wrk)
	$(BIN)/python benchmarks/serve_bench.py

clean:
	rm -rf $(VENV) .recsvc .pytest_cache
