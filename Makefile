# The two commands: `make demo` runs the workbench, `make test` passes the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | sha256sum | cut -c1-12)

.PHONY: demo test lint typecheck browser clean bench-ingest bench-enforcement bench-classifiers bench-recordings bench-fraud bench-scale bench-classify bench-soak bench-console-seed bench-console bench-pages bench-signin bench-evidence bench-images bench-learning bench-smoke

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(BIN)/workbench demo

# Debian's chromium drives the browser tests; install it where it is missing (CI runs as root).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing chromium, espeak-ng and sox (Debian packages)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium espeak-ng sox libsndfile1 >/dev/null; }
	@command -v espeak-ng >/dev/null 2>&1 || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			espeak-ng sox libsndfile1 >/dev/null; }

# ruff, then the one-way import contracts in .importlinter.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# The whole tree: tests/ and bench/ too (their functions need no annotations; see pyproject.toml).
typecheck: $(STAMP)
	$(BIN)/mypy classifiers actions queues workbench bench tests

# pytest exits 5 when it collects no tests; that is not a failure. The tests run in one
# process more than there are cores (pytest-xdist): many tests wait on subprocesses, browsers
# and polls, and a third process fills that time on two cores (8 min 52 s against 10 min 04 s
# with two, quiet machine; a fourth was slower again: 9 min 11 s against 8 min 41 s). A test file at a time each, the longest files first
# (tests/conftest.py); where each process keeps its database and Redis:
# tests/support/workers.py. TEST_WORKERS=0: one process.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
test: $(STAMP) browser lint typecheck
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder $(PYTEST_ARGS); code=$$?; [ $$code -eq 5 ] && exit 0 || exit $$code

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache

# Benchmarks print figures (medians, and a baseline measured in the same run); never in `make test`.
bench-ingest: $(STAMP)
	$(BIN)/python bench/ingest.py

bench-enforcement: $(STAMP)
	$(BIN)/python bench/enforcement.py

bench-classifiers: $(STAMP)
	$(BIN)/python bench/classifiers.py $(BENCH_ARGS)

bench-recordings: $(STAMP)
	$(BIN)/python bench/recordings.py

bench-fraud: $(STAMP)
	$(BIN)/python bench/fraud.py

bench-scale: $(STAMP)
	$(BIN)/python bench/scale.py

bench-classify: $(STAMP)
	$(BIN)/python bench/classify_stages.py $(BENCH_ARGS)

bench-console-seed: $(STAMP)
	$(BIN)/python bench/console_seed.py $(BENCH_ARGS)

bench-console: $(STAMP)
	$(BIN)/python bench/console.py $(BENCH_ARGS)

bench-pages: $(STAMP)
	$(BIN)/python bench/pages.py $(BENCH_ARGS)

bench-signin: $(STAMP)
	$(BIN)/python bench/signin.py $(BENCH_ARGS)

bench-evidence: $(STAMP)
	$(BIN)/python bench/evidence.py $(BENCH_ARGS)

bench-images: $(STAMP)
	$(BIN)/python bench/images.py $(BENCH_ARGS)

# Needs the licensed Hindi and Hinglish suites in ../shared/data (DATA=... elsewhere).
bench-learning: $(STAMP)
	$(BIN)/python bench/learning.py --data $(or $(DATA),../shared/data) $(BENCH_ARGS)

# Every benchmark at its smallest size: each still runs and ends with its figures.
bench-smoke: $(STAMP)
	$(BIN)/python bench/smoke.py $(BENCH_ARGS)

bench-soak: $(STAMP)
	$(BIN)/python bench/soak.py --minutes $(or $(MINUTES),10)
