"""The executor lease outlives a slow tick: its holder renews it before each batch, so another
evaluator cannot take it meanwhile; a holder whose lease was taken over stops at once.

Time is a fake clock (elapsed seconds) given to run_tick; each batch "takes" 40 s of it, so
three batches outlast the 55 s lease."""

from datetime import timedelta

import pytest

from agents.models import Job
from schedules import engine
from schedules.api.serializers import report_json
from schedules.engine import run_tick
from schedules.lease import TICK_LEASE, lease_acquire
from schedules.models import ExecutorLease, Schedule, TickHeartbeat

pytestmark = pytest.mark.django_db

BATCH_SECONDS = 40


class FakeClock:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


@pytest.fixture
def slow_batches(settings, monkeypatch):
    """Each batch of one schedule takes BATCH_SECONDS; `during(elapsed)` runs inside it."""
    settings.TICK_BATCH_SIZE = 1
    settings.EXECUTOR_LEASE_SECONDS = 55
    settings.TICK_TIME_BUDGET_SECONDS = 1000  # the lease, not the budget, is under test
    clock = FakeClock()
    hooks = []
    batch = engine._process_batch

    def slow_batch(ids, **kw):
        clock.seconds += BATCH_SECONDS
        for hook in hooks:
            hook(clock.seconds)
        return batch(ids, **kw)

    monkeypatch.setattr(engine, "_process_batch", slow_batch)
    return clock, hooks


def test_it_keeps_its_lease_through_batches_longer_than_the_lease(now, make_due, slow_batches):
    clock, hooks = slow_batches
    schedules = [make_due() for _ in range(3)]
    seen = []

    def another_evaluator(elapsed: float) -> None:
        at = now + timedelta(seconds=elapsed)
        taken = lease_acquire(name=TICK_LEASE, now=at, ttl_seconds=55)
        expires_at = ExecutorLease.objects.get(name=TICK_LEASE).expires_at
        seen.append((elapsed, taken, expires_at - at))

    hooks.append(another_evaluator)
    report = report_json(run_tick(now=now, use_executor_lock=True, clock=clock))

    assert report["errors"] == []
    assert Job.objects.filter(schedule__in=schedules).count() == 3
    assert clock.seconds > 2 * 55  # the tick as a whole ran past two lease lengths
    # Inside every batch the lease was still ours: renewed before the batch to `now` + elapsed
    # + 55 s, it had 15 s left when the other evaluator tried, 40 s into the batch.
    assert len(seen) == 4  # three batches and the claim that found nothing more
    assert [taken for _, taken, _ in seen] == [None] * 4
    assert [left for _, _, left in seen] == [timedelta(seconds=55 - BATCH_SECONDS)] * 4
    assert not ExecutorLease.objects.exists()  # released at the end
    assert TickHeartbeat.objects.get(name=TICK_LEASE).last_success_at == now


def test_it_stops_at_once_when_its_lease_was_taken_over(now, make_due, slow_batches):
    clock, hooks = slow_batches
    for _ in range(3):
        make_due()

    def taken_over(elapsed: float) -> None:
        # Another tick took the lease over (say ours looked expired to it).
        ExecutorLease.objects.filter(name=TICK_LEASE).update(
            holder="another-tick", expires_at=now + timedelta(seconds=elapsed + 55)
        )

    hooks.append(taken_over)
    report = report_json(run_tick(now=now, use_executor_lock=True, clock=clock))

    # The batch in flight completed; no further batch was started.
    assert len(report["triggeredSchedules"]) == 1
    assert Job.objects.count() == 1
    assert Schedule.objects.filter(next_run_at__lte=now).count() == 2  # due at the next tick
    (error,) = report["errors"]
    assert error["code"] == "executor_locked"
    assert "taken over" in error["message"]
    # The new holder keeps its lease; no success is recorded for the tick that stopped.
    assert ExecutorLease.objects.get(name=TICK_LEASE).holder == "another-tick"
    assert not TickHeartbeat.objects.filter(name=TICK_LEASE, last_success_at=now).exists()
