"""POST bodies for the schedule admin forms (the staff UI's fixtures — organizations with a bit
of everything, logged-in clients by role — are the shared ones of tests/fixtures.py)."""

from __future__ import annotations


def schedule_form(world: dict, **overrides) -> dict:
    """A valid POST body for the schedule add/change form."""
    data = {
        "name": "Nightly invoice sync",
        "script": str(world["script"].pk),
        "agent": str(world["agent"].pk),
        "cron_expression": "30 2 * * *",
        "timezone": "America/New_York",
        "jitter_seconds": "0",
        "overlap_policy": "skip",
        "enabled": "on",
        "max_runtime_minutes": "720",
        "max_retries": "2",
        "retry_delay_seconds": "300",
        "concurrency_limit": "1",
        "idempotency_window_minutes": "0",
        "catch_up_window_minutes": "60",
        "auto_pause_after_failures": "0",
        "variables": '{"region": "us-east"}',
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
