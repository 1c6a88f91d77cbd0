# autoprov developer entry points.  `make demo` and `make test` work from a clean clone with
# ../shared beside it; both create .venv from a Python >= 3.12 found on PATH or through pyenv.
SHELL := /bin/bash
VENV ?= .venv
PYTHON_MIN ?= 3.12
GAMMAPY_DATA ?= $(abspath ../shared/data/gammapy-data)
export GAMMAPY_DATA

PY := $(VENV)/bin/python
# The extras the main (3.12) venv gets; the fallback interpreters' venvs get FALLBACK_EXTRAS only, so
# heavy optional integrations are installed and tested once.
EXTRAS ?= gammapy,test,rocrate,chain,serve
FALLBACK_EXTRAS := gammapy,test

.PHONY: test test-one test-fallback test-py313 test-fast demo bench bench-instr bench-smoke bench-index bench-serve bench-sessions bench-corpus venv clean

$(PY): pyproject.toml
	@interp=$$(bash tools/find-python.sh $(PYTHON_MIN) $(PYTHON_EXACT)) || exit 1; \
	echo "using $$interp"; \
	$$interp -m venv $(VENV) && \
	$(PY) -m pip install -q --upgrade pip && \
	$(PY) -m pip install -q -e '.[$(EXTRAS)]' && touch $(PY) $(NATIVE)

# The native core (autoprov._native) is compiled by pip install -e (setup.py); built again when its
# source changes.  Without a compiler the install still succeeds and autoprov runs pure.
NATIVE := $(VENV)/.autoprov-native-built
$(NATIVE): $(PY) autoprov/_native.c autoprov/_evalframe.c setup.py
	$(PY) -m pip install -q --no-deps -e . && touch $(NATIVE)

venv: $(PY) $(NATIVE)

# The full suite on Python 3.12 (monitoring and fallback engines), then on Python 3.11 the fallback
# engines: every fast test, and the gammapy end-to-end runs that exercise the engines.  The other slow
# tests (index, report, notebooks, pools) do not depend on the interpreter and run on 3.12; CI's time
# budget has no room for them twice.  REQUIRE_PY311=1 (set by CI) makes a missing 3.11 an error.
FALLBACK_E2E := tests/test_gammapy_engines.py tests/test_export_gammapy.py
test: $(PY) $(NATIVE)
	$(PY) -m pytest -q
	@if interp=$$(bash tools/find-python.sh 3.11 --exact 2>/dev/null); then \
		$(MAKE) --no-print-directory VENV=.venv311 EXTRAS=$(FALLBACK_EXTRAS) PYTHON_MIN=3.11 PYTHON_EXACT=--exact test-fallback; \
	elif [ -n "$${REQUIRE_PY311:-}" ]; then echo "error: Python 3.11 not found (pyenv install 3.11)"; exit 1; \
	else echo "note: no Python 3.11 found; the fallback engines were tested on $$($(PY) -V) only"; fi
	@if interp=$$(bash tools/find-python.sh 3.13 --exact 2>/dev/null); then \
		$(MAKE) --no-print-directory VENV=.venv313 EXTRAS=$(FALLBACK_EXTRAS) PYTHON_MIN=3.13 PYTHON_EXACT=--exact test-py313; \
	elif [ -n "$${REQUIRE_PY313:-}" ]; then echo "error: Python 3.13 not found (pyenv install 3.13)"; exit 1; \
	else echo "note: no Python 3.13 found; the interpreter-dependent tests ran on $$($(PY) -V) only"; fi

test-one: $(PY) $(NATIVE)
	$(PY) -m pytest -q

test-fallback: $(PY) $(NATIVE)
	$(PY) -m pytest -q $(FALLBACK_E2E)
	$(PY) -m pytest -q -m "not slow"

# Python 3.13 (issue 21): what depends on the interpreter, lean for CI's time budget: the engines
# (all three: 3.13 has sys.monitoring), both cores, the runner, the file record, the native core and
# the invisibility tests, the log's restart after a fork (3.13 restarts it its own way: log/soon.py),
# the quiet calls skipped in C, and one gammapy analysis recorded by every engine.
PY313_TESTS := tests/test_engines.py tests/test_runner.py tests/test_files.py tests/test_file_operations.py \
	tests/test_native.py tests/test_native_guard.py tests/test_invisible.py tests/test_gammapy_engines.py tests/test_quiet_calls.py \
	tests/test_reliability.py::test_the_log_is_written_again_after_a_fork
test-py313: $(PY) $(NATIVE)
	$(PY) -m pytest -q $(PY313_TESTS)

test-fast: $(PY) $(NATIVE)
	$(PY) -m pytest -q -m "not slow"

demo: $(PY)
	bash tools/demo.sh $(PY)

bench: $(PY) $(NATIVE)
	$(PY) -m pip install -q 'viztracer>=1.0'  # the bench extra, without reinstalling autoprov
	$(PY) benchmarks/run.py

# Instruction counts (callgrind): the real analyses plain, under autoprov and under the floors, and
# autoprov's share by component; ~50x slower than the programs (tens of minutes).  BENCH_INSTR_ARGS
# narrows it, e.g. BENCH_INSTR_ARGS="--cases crab_1d".
BENCH_INSTR_ARGS ?= --floors
bench-instr: $(PY) $(NATIVE)
	@command -v valgrind >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq valgrind >/dev/null)
	$(PY) benchmarks/instr.py events
	$(PY) benchmarks/instr.py $(BENCH_INSTR_ARGS)

bench-smoke: $(PY) $(NATIVE)
	$(PY) benchmarks/run.py --smoke

# The run index: 10,000 synthetic runs on SQLite, then list/diff/lineage timings and crab_1d indexing.
bench-index: $(PY)
	$(PY) benchmarks/index_bench.py
# autoprov serve under load: 16 clients asking a 50-run lineage, on SQLite and a throwaway PostgreSQL.
bench-serve: $(PY)
	$(PY) benchmarks/serve_load.py --start-postgres
# Child processes and notebooks (issue 14): a 4-worker pool analysis beside the serial one, and cells.
bench-sessions: $(PY)
	$(PY) benchmarks/sessions.py

# The corpus of user programs (tests/corpus/, issue 19): the table of outcomes, reads, lineage and CPU,
# with callgrind instruction ratios of three short scripts (valgrind; ~1 hour under callgrind).
CORPUS_CALLGRIND ?= data_hess_dl3,catalogs_masks,map_ring_background
bench-corpus: $(PY) $(NATIVE)
	$(PY) benchmarks/corpus.py --callgrind $(CORPUS_CALLGRIND)

clean:
	rm -rf $(VENV) .prov build *.egg-info
