# Two commands on a fresh machine: `make run` starts the console, `make test` runs the tests.
# Both create or refresh .venv, install what they need and make sure there is a browser.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install browser bench

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

browser: install
	$(PY) -m engine.browser_setup

# The sign-in example reads its password from a secret; the demo site's is the default.
run: browser
	JOBDECK_SECRET_DEMO_PASSWORD="$${JOBDECK_SECRET_DEMO_PASSWORD:-demo-password}" $(PY) main.py $(ARGS)

test: browser
	$(PY) -m pytest $(PYTEST_ARGS)

# Each script also runs alone; together they rewrite docs/benchmarks.md.
bench: browser
	$(PY) bench/engine_overhead.py
	$(PY) bench/console_live.py
	$(PY) bench/job_list_scale.py
	$(PY) bench/job_actions.py
	$(PY) bench/schedule_lateness.py
	$(PY) bench/throughput_memory.py
	$(PY) bench/vs_prefect.py
