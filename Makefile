# Two commands on a fresh machine: `make run` starts the console, `make test` runs the tests.
# Both create or refresh .venv, install what they need and make sure there is a browser.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint install browser bench bench-quick dist audit

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

browser: install
	$(PY) -m engine.runner.browser_setup

# The sign-in example reads its password from a secret; the demo site's is the default.
run: browser
	JOBDECK_SECRET_DEMO_PASSWORD="$${JOBDECK_SECRET_DEMO_PASSWORD:-demo-password}" $(PY) main.py $(ARGS)

test: browser
	$(PY) -m pytest $(PYTEST_ARGS)

# Lint (ruff: pycodestyle, pyflakes, import order), types (mypy), and the import rules
# (import-linter: the engine knows no UI, pages use the engine's public API).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# Known vulnerabilities in the installed dependencies (pip-audit); says so when it cannot
# reach vulnerability data, as on a closed network.
audit: install
	.ci/audit

# Each script also runs alone; together they rewrite the table in docs/benchmarks.md.
BENCH := engine_overhead browser_cost network_guard console_live take_control job_actions \
	job_list_scale schedule_lateness throughput_memory scale_out vs_prefect access_cost \
	console_under_load visual_compare runbook_page_scale

bench: browser
	@start=$$(date +%s); times=""; for script in $(BENCH); do t=$$(date +%s); \
	  $(PY) bench/$$script.py $(BENCH_ARGS) || exit 1; \
	  times="$$times $$script $$(( $$(date +%s) - t )) s;"; done; \
	echo "make bench$(if $(BENCH_ARGS), $(BENCH_ARGS)): $$(( $$(date +%s) - start )) s:$$times"

# The same scripts with fewer samples, figures printed only: a check that they all work.
bench-quick:
	$(MAKE) bench BENCH_ARGS=--quick

# One executable file with the whole console (PyInstaller): dist/jobdeck. See README, Deploy.
dist: install
	$(PY) -m pip install -q -e '.[dist]'
	$(PY) -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller jobdeck.spec
	@ls -lh dist/jobdeck
