"""The fault suite (SPEC §10): `make chaos` (`python -m tests.chaos`), its own runner with its own
time bounds — not pytest, not pytest's timeout.

It starts throwaway PostgreSQL and Redis servers (bin/services.py), migrates, and runs the
control plane as real processes: the Procfile's web line (gunicorn: the agent API and the cron
endpoint) and its worker line (Celery). The suite itself plays beat on a scaled schedule: the
tick as `GET /api/cron/scheduled-runs` with the cron key, the watchdog as the
`agents.tasks.run_watchdog` task beat sends. Agents are real runtimes (`python -m
agents.runtime`) started with their four MIMIC_* variables, PATH and host knobs only.

For each fault (faults.py) it creates an organization, agents and jobs or schedules through
the ORM (this process is a control-plane process: it holds the settings), breaks something,
and waits — bounded — for every job to reach a final state. Every bot script reports its start,
a beat every 0.25 s and its end to a loopback collector in this process, which times them on its
own monotonic clock; a run's interval is [start, last record]. A fault fails when a job that
should succeed did not (not final in time, or failed/lost: "lost" in the table), when two runs
of one job overlap, or when a job whose run count is certain (no kill in its path) ran more or
fewer times than that, or a schedule's occurrence was dispatched twice.

CHAOS_SCALE (default 1.0) scales every duration and the control plane's thresholds together
(harness.Timing); clock offsets are not scaled. Everything listens on and talks to 127.0.0.1.
Every process the suite starts is stopped in a `finally`.
"""
