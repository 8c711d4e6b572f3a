# One command to run the service with demo data, one to run the whole test suite.
# Both create the virtual environment on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
# Test processes; each takes whole modules (--dist loadfile), so a module's shared
# server and browser stay in one process. TEST_PROCESSES=0 runs in this process.
TEST_PROCESSES ?= 2

.PHONY: run test fuzz lint format install clean bench bench-smoke messages

run: install
	$(BIN)/events-service demo --base-url http://$(HOST):$(PORT)
	# Links in pages and e-mails point at the port served, unless set already.
	EVENTS_PUBLIC_BASE_URL=$${EVENTS_PUBLIC_BASE_URL:-http://$(HOST):$(PORT)} \
		$(BIN)/events-service serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

test: install
	$(BIN)/pytest -n $(TEST_PROCESSES) --dist loadfile

# The long schemathesis run: many more examples per operation than the suite's pass.
FUZZ_EXAMPLES ?= 100
fuzz: install
	EVENTS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -s tests/test_api_fuzz.py

# Benchmarks need PostgreSQL (EVENTS_BENCH_POSTGRES_URL); each prints its ceiling.
bench: install
	for b in bench/*.py; do case $$b in */__init__.py|*/common.py) ;; *) $(BIN)/python $$b || exit 1;; esac; done

bench-smoke: install
	for b in bench/*.py; do case $$b in */__init__.py|*/common.py) ;; *) $(BIN)/python $$b --smoke || exit 1;; esac; done

# The catalogues: extract every message the code marks and merge it into each
# language's .po; then translate what is new (tests/test_catalogues.py fails until
# every message is). Nothing to compile: the service reads the .po files.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k translatable -k translatable_in:1c,2 --no-location --sort-output \
		--project events-service -o events_service/locale/messages.pot .
	$(BIN)/pybabel update -i events_service/locale/messages.pot -d events_service/locale \
		-l zh_Hans --ignore-obsolete --no-fuzzy-matching --width 100

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
