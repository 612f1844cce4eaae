# Two commands on a fresh machine (SPEC §13):
#   make run    the product on embedded defaults (SQLite, embedded Redis), seeded with a demo
#   make test   the whole suite against throwaway PostgreSQL and Redis servers
# Extra pytest arguments:  make test PYTEST_ARGS="schedules/tests/test_cron_dst.py -x"

PYTHON      := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: help venv test run lint format bench prod-smoke chaos

help:
	@echo "make run     start web, worker, beat and the demo agent (http://127.0.0.1:$${PORT:-8000}/app/)"
	@echo "make test    run the whole suite on throwaway PostgreSQL + Redis (PYTEST_ARGS=... to narrow)"
	@echo "make test-fast  the same without the real-process and browser tests (-m \"not slow and not browser\")"
	@echo "make lint    ruff check + ruff format --check + mypy (Django and DRF stubs; mypy.ini)"
	@echo "make format  ruff format + ruff check --fix"
	@echo "make bench   run benchmarks/*.py against throwaway PostgreSQL + Redis"
	@echo "make prod-smoke  requirements.txt alone in a clean virtualenv: check --deploy, then web,"
	@echo "                 worker, beat and an agent run jobs to succeeded (throwaway PostgreSQL + Redis)"
	@echo "make chaos   the fault suite on real processes (throwaway PostgreSQL + Redis);"
	@echo "             CHAOS_SCALE=0.3 shortens every duration (1.0 = 2-minute jobs), CHAOS_ARGS=\"a b\" picks faults"

venv:
	@bin/ensure-venv

test: venv
	@bin/testenv python -m pytest $(PYTEST_ARGS)

# The edit-and-rerun loop: no agent runtime, worker or browser is started (CI runs `make test`).
.PHONY: test-fast
test-fast: venv
	@bin/testenv python -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

run: venv
	@$(PYTHON) bin/dev-setup

# The production install, proved (SPEC §13): needs no .venv, only python3 and PostgreSQL's binaries.
prod-smoke:
	@bin/prod-smoke

# The fault suite (SPEC §10, tests/chaos): agent killed, Redis and PostgreSQL restarted, the tick
# killed after its commit, skewed agent clocks, the watchdog stopped, jobs waiting for a slot.
# Its own runner and time bounds (not pytest's); CHAOS_SCALE scales every duration.
CHAOS_SCALE ?= 1.0
CHAOS_ARGS  ?=
chaos: venv
	@CHAOS_SCALE=$(CHAOS_SCALE) $(PYTHON) -m tests.chaos $(CHAOS_ARGS)

# mypy's Django plugin imports config.settings, which wants SECRET_KEY and VAULT_ENCRYPTION_KEYS
# unless DEBUG is on. Reading types needs no secret: DEBUG=true, and ENV_FILE= so that a local
# var/dev.env does not change what is checked.
lint: venv
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	DEBUG=true ENV_FILE= $(PYTHON) -m mypy

format: venv
	$(PYTHON) -m ruff format .
	$(PYTHON) -m ruff check --fix .

# Each benchmark prints its figures; it gets its own throwaway servers with the schema migrated,
# PostgreSQL's buffer pool sized as a production server's (bin/services.py says why).
BENCH_SHARED_BUFFERS ?= 1GB
BENCH ?= $(sort $(wildcard benchmarks/bench_*.py))
bench: venv
	@if [ -z "$(strip $(BENCH))" ]; then echo "no benchmarks yet (benchmarks/bench_*.py)"; exit 0; fi; \
	for script in $(BENCH); do \
		echo "== $$script"; \
		TESTENV_SHARED_BUFFERS=$(BENCH_SHARED_BUFFERS) bin/testenv sh -c 'python manage.py migrate --noinput -v 0 && exec python "$$0"' "$$script" || exit $$?; \
	done
