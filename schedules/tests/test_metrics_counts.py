"""The tick's counters: dispatches by trigger, skips by reason and errors by code, each counted
once per kind with its number (a busy tick with two evaluators reports thousands of
lock_contention skips), never per row."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from prometheus_client import REGISTRY

from schedules import metrics
from schedules.report import Report


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_skips_and_errors_are_counted_by_kind_with_their_numbers():
    now = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
    report = Report(dry_run=False, evaluated_at=now)
    for _ in range(3):
        report.skip(uuid.uuid4(), "lock_contention", "another evaluator holds this schedule")
    report.skip(uuid.uuid4(), "vault_keys_missing", "missing: A")
    report.error(uuid.uuid4(), "internal_error", "boom")
    report.error(uuid.uuid4(), "internal_error", "boom")
    before = (
        counted("mimic_skips_total", reason="lock_contention"),
        counted("mimic_skips_total", reason="vault_keys_missing"),
        counted("mimic_tick_errors_total", code="internal_error"),
    )
    metrics.observe_report(report, full_tick=False)
    after = (
        counted("mimic_skips_total", reason="lock_contention"),
        counted("mimic_skips_total", reason="vault_keys_missing"),
        counted("mimic_tick_errors_total", code="internal_error"),
    )
    assert [b - a for a, b in zip(before, after, strict=True)] == [3, 1, 2]
