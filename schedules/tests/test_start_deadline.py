"""The start deadline on the tick's side (SPEC §14), as a pure decision: an occurrence the tick
would dispatch later than its nominal time + startDeadlineMinutes is skipped
`start_deadline_exceeded` (an event, no job, no run budget spent); one in time is dispatched with
its deadline instant on the job row; a forced run has none. No database, no clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from agents.models import AgentStatus, Controller, Trigger
from agents.readiness import AgentState
from billing.gate import BillingState
from billing.models import BillingStatus
from schedules.decisions import decide
from schedules.gates import GateContext
from schedules.models import EventKind, Schedule, SkipReason, StopReason

NOW = datetime(2026, 11, 26, 14, 30, 5, tzinfo=UTC)


def schedule(**fields) -> Schedule:
    """An unsaved hourly schedule, due since 14:00, an hour of catch-up window."""
    values: dict = dict(
        id=uuid.uuid4(),
        organization_id=uuid.uuid4(),
        agent_id=uuid.uuid4(),
        cron_expression="0 * * * *",
        catch_up_window_minutes=60,
        next_run_at=NOW.replace(minute=0, second=0),
        start_deadline_minutes=10,
    )
    values.update(fields)
    s = Schedule(**values)
    s.fire_at = s.fire_at_for(s.next_run_at)
    return s


def context(s: Schedule, now: datetime = NOW) -> GateContext:
    """A context in which every gate lets `s` pass."""
    return GateContext(
        now=now,
        billing={
            s.organization_id: BillingState(
                organization_id=s.organization_id,
                status=BillingStatus.ACTIVE,
                trial_ends_at=None,
                past_due_since=None,
                monthly_run_quota=None,
                runs_this_month=0,
            )
        },
        grace_days=7,
        active_jobs={},
        last_job_at={},
        vault_names={s.organization_id: set()},
        agents={
            s.agent_id: AgentState(
                id=s.agent_id,
                organization_id=s.organization_id,
                name="bot",
                status=AgentStatus.ONLINE,
                last_heartbeat_at=now - timedelta(seconds=5),
                auto_start=False,
                controller=Controller.MANUAL,
                start_requested_at=None,
            )
        },
        online_seconds=90,
        code={s.script_id: (7, 3)},  # its script's current version: row 7, version 3
    )


def skips(d) -> list[tuple[str, datetime | None]]:
    return [(e["reason"], e.get("scheduled_for")) for e in d.events if e["kind"] == "skipped"]


def test_it_skips_a_catch_up_past_its_start_deadline():
    s = schedule()  # 14:00's run, the tick back at 14:30: 20 minutes past its deadline
    d = decide(s, context(s), now=NOW, force=False)

    assert d.job is None
    assert skips(d) == [(SkipReason.START_DEADLINE_EXCEEDED, NOW.replace(minute=0, second=0))]
    event = d.events[-1]
    assert event["kind"] == EventKind.SKIPPED and event["trigger"] == Trigger.SCHEDULED
    assert "10 min" in event["detail"] and "2026-11-26T14:10:00Z" in event["detail"]
    assert [reason for reason, _ in d.report_skips] == [SkipReason.START_DEADLINE_EXCEEDED]
    # Not retried: the schedule moves on to its next occurrence.
    assert d.new_next_run_at == NOW.replace(hour=15, minute=0, second=0)


def test_it_dispatches_a_catch_up_within_its_start_deadline_with_the_deadline_on_the_job():
    s = schedule(start_deadline_minutes=45)
    d = decide(s, context(s), now=NOW, force=False)

    assert d.job is not None
    assert d.job["scheduled_for"] == NOW.replace(minute=0, second=0)
    assert d.job["start_deadline_at"] == NOW.replace(minute=45, second=0)
    assert skips(d) == []
    # It references its script's current version (no copy of the source), written `queued`.
    assert (d.job["code_id"], d.job["script_version"]) == (7, 3)
    assert "script_source" not in d.job
    assert (d.job["status"], d.job["queued_at"]) == ("queued", NOW)


def test_at_the_deadline_instant_it_is_still_in_time():
    s = schedule(start_deadline_minutes=30)
    at_deadline = NOW.replace(second=0)  # 14:30:00 = 14:00 + 30 min
    d = decide(s, context(s, at_deadline), now=at_deadline, force=False)
    assert d.job is not None and d.job["start_deadline_at"] == at_deadline

    a_second_later = at_deadline + timedelta(seconds=1)
    d = decide(s, context(s, a_second_later), now=a_second_later, force=False)
    assert d.job is None and skips(d) == [
        (SkipReason.START_DEADLINE_EXCEEDED, NOW.replace(minute=0, second=0))
    ]


def test_without_a_deadline_a_late_catch_up_runs_and_its_job_has_none():
    s = schedule(start_deadline_minutes=None)
    d = decide(s, context(s), now=NOW, force=False)
    assert d.job is not None and d.job["start_deadline_at"] is None


def test_a_forced_run_has_no_start_deadline():
    # "Run now" is manual, started now: no deadline, whatever the schedule's.
    s = schedule(start_deadline_minutes=1)
    d = decide(s, context(s), now=NOW, force=True)
    assert d.job is not None and d.job["trigger"] == Trigger.FORCED
    assert d.job["start_deadline_at"] is None


def test_a_skipped_occurrence_spends_no_run_budget():
    s = schedule(remaining_runs=2)
    d = decide(s, context(s), now=NOW, force=False)
    assert d.job is None and d.spend_run is False and d.stop_reason == ""


def test_a_one_time_run_past_its_deadline_is_skipped_and_the_schedule_stops():
    run_at = NOW.replace(minute=0, second=0)
    s = schedule(run_at=run_at, next_run_at=run_at, cron_expression="")
    d = decide(s, context(s), now=NOW, force=False)
    assert d.job is None
    assert skips(d) == [(SkipReason.START_DEADLINE_EXCEEDED, run_at)]
    assert d.stop_reason == StopReason.ONCE_SKIPPED
