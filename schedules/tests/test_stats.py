"""Runtime statistics (SPEC §14): the figures of seeded jobs match a hand computation, on
PostgreSQL in SQL and through the SQLite demo's Python path alike, in one query."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agents.models import JobStatus
from schedules import stats
from schedules.selectors import schedule_stats
from schedules.tests.conftest import NOW
from tests.factories import JobFactory, ScheduleFactory

pytestmark = pytest.mark.django_db

# (status, attempt, seconds from creation to start or None, run seconds or None)
SEEDED = [
    *[(JobStatus.SUCCEEDED, 1, w, d) for w, d in zip(range(1, 8), range(10, 80, 10), strict=True)],
    (JobStatus.FAILED, 1, 8, 80),
    (JobStatus.TIMED_OUT, 1, 9, 90),
    (JobStatus.LOST, 2, 500, 1000),  # retried: its start is the second attempt's, no wait
    (JobStatus.RUNNING, 1, 4, None),  # started, not finished: a wait, no duration
    (JobStatus.CANCELED, 1, None, None),  # finished without starting
    (JobStatus.HELD, 1, None, None),  # waiting for a slot
]
# By hand, as PostgreSQL's percentile_cont: value at rank f × (n − 1), linear in between.
# Durations, sorted: 10 20 30 40 50 60 70 80 90 1000 (n = 10)
#   p50: rank 4.5  → 50 + (60 − 50) × 0.5  = 55
#   p95: rank 8.55 → 90 + (1000 − 90) × 0.55 = 590.5
# Waits of first-attempt starts: 1 2 3 4 4 5 6 7 8 9 → p50: rank 4.5 → (4 + 5) / 2 = 4.5
# Finished 11 (7 succeeded) → 7/11; runs 13; suggested: ceil(590.5 × 1.5 / 60) = ceil(14.76) = 15
EXPECTED = stats.ScheduleStats(
    runs=13,
    success_rate=7 / 11,
    p50_duration_seconds=55.0,
    p95_duration_seconds=590.5,
    p50_queue_wait_seconds=4.5,
)


def seed_jobs(schedule, rows=SEEDED, *, until=NOW) -> None:
    for i, (status, attempt, wait, run) in enumerate(rows):
        created = until - timedelta(hours=i + 1)
        started = None if wait is None else created + timedelta(seconds=wait)
        finished = None if started is None or run is None else started + timedelta(seconds=run)
        if status == JobStatus.CANCELED:
            finished = created  # canceled before it started
        JobFactory(
            schedule=schedule,
            status=status,
            attempt=attempt,
            created_at=created,
            scheduled_for=created,
            started_at=started,
            finished_at=finished,
        )


@pytest.fixture
def seeded(org):
    schedule = ScheduleFactory(organization=org)
    seed_jobs(schedule)
    # Outside the window or another schedule's: each would move every figure if counted.
    old = [(JobStatus.FAILED, 1, 100, 1), (JobStatus.FAILED, 1, 100, 2)]
    seed_jobs(schedule, old, until=NOW - stats.WINDOW)  # 30 days and 1 h, 2 h ago
    edge = JobFactory(schedule=schedule, status=JobStatus.FAILED, created_at=NOW - stats.WINDOW)
    future = JobFactory(
        schedule=schedule, status=JobStatus.FAILED, created_at=NOW + timedelta(days=1)
    )
    seed_jobs(ScheduleFactory(organization=org), old)
    assert edge.created_at <= NOW - stats.WINDOW < future.created_at
    return schedule


@pytest.mark.parametrize("in_sql", [True, False], ids=["postgresql", "python"])
def test_it_matches_the_hand_computation(seeded, in_sql, django_assert_num_queries):
    with django_assert_num_queries(1):
        figures = schedule_stats(schedule_id=seeded.id, now=NOW, in_sql=in_sql)
    assert figures == EXPECTED
    assert figures.suggested_max_runtime_minutes == 15


@pytest.mark.parametrize("in_sql", [True, False], ids=["postgresql", "python"])
def test_it_answers_nulls_for_a_schedule_without_runs(org, in_sql):
    schedule = ScheduleFactory(organization=org)
    figures = schedule_stats(schedule_id=schedule.id, now=NOW, in_sql=in_sql)
    assert figures == stats.ScheduleStats(0, None, None, None, None)
    assert figures.suggested_max_runtime_minutes is None


@pytest.mark.parametrize("in_sql", [True, False], ids=["postgresql", "python"])
def test_it_counts_runs_that_have_not_finished_without_a_rate(org, in_sql):
    schedule = ScheduleFactory(organization=org)
    seed_jobs(schedule, [(JobStatus.HELD, 1, None, None), (JobStatus.RUNNING, 1, 30, None)])
    figures = schedule_stats(schedule_id=schedule.id, now=NOW, in_sql=in_sql)
    assert figures == stats.ScheduleStats(2, None, None, None, 30.0)
