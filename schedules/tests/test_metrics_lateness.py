"""The tick observes each scheduled dispatch's lateness — from the occurrence's fire instant (its
time plus its jitter offset) to the tick's `now` — in mimic_dispatch_lateness_seconds; a forced
run has no fire instant, and a dry run dispatches nothing."""

from __future__ import annotations

from datetime import timedelta
from uuid import NAMESPACE_URL, uuid5

import pytest
from prometheus_client import REGISTRY

from schedules.engine import run_tick

pytestmark = pytest.mark.django_db

NAME = "mimic_dispatch_lateness_seconds"


def lateness() -> tuple[float, float, float, float]:
    """count, sum, and the cumulative buckets <= 5 s and <= 15 s."""

    def value(suffix: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(f"{NAME}_{suffix}", labels) or 0.0

    return (value("count"), value("sum"), value("bucket", le="5.0"), value("bucket", le="15.0"))


def delta(before, after) -> list[float]:
    return [b - a for a, b in zip(before, after, strict=True)]


def tick(at, **kw):
    return run_tick(now=at, use_executor_lock=False, **kw)


def test_a_jittered_dispatch_is_late_from_its_fire_instant(now, make_due, online_agent):
    online_agent.last_heartbeat_at = now + timedelta(minutes=10)  # online through the jitter
    online_agent.save()
    s = make_due(id=uuid5(NAMESPACE_URL, "mimic-test:jittered-a"), jitter_seconds=300)
    fire_at = s.fire_at
    assert fire_at - s.next_run_at > timedelta(seconds=60)  # far beyond the 7 s measured below
    before = lateness()

    report = tick(fire_at + timedelta(seconds=7))

    assert len(report.triggered) == 1
    assert delta(before, lateness()) == [1, 7, 0, 1]


def test_a_catch_up_is_as_late_as_the_tick_was(now, make_due, online_agent):
    online_agent.last_heartbeat_at = now + timedelta(minutes=3)
    online_agent.save()
    make_due(catch_up_window_minutes=10)  # 0 14 * * *: today 14:00:00, `now` is 14:00:05
    before = lateness()

    report = tick(now + timedelta(seconds=195))

    assert report.triggered[0].notes == ["catch_up"]
    assert delta(before, lateness()) == [1, 200, 0, 0]


def test_forced_runs_and_dry_runs_observe_nothing(now, make_due):
    s = make_due(next_run_at=now + timedelta(hours=1))
    before = lateness()

    assert len(tick(now, force=True, schedule_id=s.id).triggered) == 1
    due = make_due(next_run_at=now - timedelta(seconds=3))
    assert len(tick(now, dry_run=True, schedule_id=due.id).triggered) == 1

    assert delta(before, lateness()) == [0, 0, 0, 0]
