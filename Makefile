# tallyproof — every target sets itself up on a fresh machine with Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOME_DIR ?= var/demo
PYTEST_WORKERS ?= 2
# another implementation of C2SP tlog-witness, for the interoperability test, in a venv of its
# own (its packages declare Python 3.12 but run on 3.11; they stay out of tallyproof's venv)
INTEROP := var/interop/aics

.DEFAULT_GOAL := help
.PHONY: help demo simulate browser test test-hostile test-api-fuzz test-heavy lint bench bench-national bench-read bench-http bench-web bench-forensics eval-claims clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP) ## Election night: serve the dashboard on var/demo, stream the sample and a simulated national night into it
	$(BIN)/tallyproof --home $(HOME_DIR) demo $(DEMO_ARGS)

simulate: $(STAMP) ## A national election night (90,000 stations, faults) as JSON Lines in var/night.jsonl
	$(BIN)/tallyproof simulate --out var/night.jsonl $(SIMULATE_ARGS)

browser: ## Install Debian's Chromium for the dashboard's tests (needs root; CI does it)
	command -v chromium >/dev/null || apt-get install -y -q chromium fonts-noto-core

$(INTEROP)/bin/aics-witness:
	$(PYTHON) -m venv $(INTEROP)
	$(INTEROP)/bin/python -m pip install --quiet --ignore-requires-python aics-tlog==0.2.1 aics-witness==0.1.0

test: $(STAMP) $(INTEROP)/bin/aics-witness ## Run the whole test suite (PostgreSQL tests need TALLYPROOF_TEST_PG_URL)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q

test-hostile: $(STAMP) ## Hostile-input suite on fresh inputs, ten times as many (about 15 minutes)
	TALLYPROOF_HOSTILE_WANDER=1 TALLYPROOF_HOSTILE_SCALE=10 $(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q -s tests/integrity/test_hostile.py

test-api-fuzz: $(STAMP) ## Schemathesis against the served API, 500 examples an operation, both modes (about 20 minutes)
	TALLYPROOF_FUZZ_EXAMPLES=500 $(BIN)/python -m pytest -q -p no:cacheprovider tests/api/test_schema.py

test-heavy: $(STAMP) ## Heavy reliability: SIGKILL crash runs (SQLite and PostgreSQL), faults on the wire, disk full, an hour's soak (about 80 minutes)
	TALLYPROOF_HEAVY=1 $(BIN)/python -m pytest -q -s -p no:randomly tests/heavy $(HEAVY_ARGS)

lint: $(STAMP) ## ruff check and format check only
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: $(STAMP) ## Ingest benchmarks: forms/s and the ratio to the bare cost (bench/)
	$(BIN)/python bench/ingest.py

bench-national: $(STAMP) ## A whole national night through the ingest path on SQLite and PostgreSQL, beside its bare floors
	$(BIN)/python bench/national.py $(BENCH_NATIONAL_ARGS)

bench-read: $(STAMP) ## Read model on a national night (90,000 stations): p50/p99 ms, ratio to bare SQL
	$(BIN)/python bench/read.py $(BENCH_READ_ARGS)

bench-http: $(STAMP) ## HTTP on loopback: single and batched POSTs, feed latency at 1,000 readers, reads during ingest
	$(BIN)/python bench/api.py $(BENCH_HTTP_ARGS)

bench-web: $(STAMP) ## Dashboard on the full simulated night in Chromium: first render, bytes a page, ingest with 100 pages open
	$(BIN)/python bench/web.py $(BENCH_WEB_ARGS)

bench-forensics: $(STAMP) ## Forensics on Russia 2018: seconds per stage, ratio to a bare numpy loop
	$(BIN)/python bench/forensics.py

eval-claims: $(STAMP) ## Claim extraction: precision and recall per kind on the labelled reports
	$(BIN)/python bench/claims_eval.py

clean: ## Remove the virtualenv and generated data
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
