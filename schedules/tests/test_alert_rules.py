"""The pure decision of alerts (schedules.alert_rules): which channel gets which alert, once per
channel, event and subject per dedup window; which skips count toward runs_skipped."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from schedules.alert_rules import (
    Candidate,
    ChannelRule,
    dedup_key,
    dedup_window,
    deliveries_owed,
    job_events,
    next_streak,
    retry_delay,
    wants,
)

NOW = datetime(2026, 11, 26, 14, 0, 5, tzinfo=UTC)
ORG, OTHER = uuid.uuid4(), uuid.uuid4()
SCHEDULE, ANOTHER = uuid.uuid4(), uuid.uuid4()


def channel(*events, org=ORG, schedules=(), threshold=3) -> ChannelRule:
    return ChannelRule(
        id=uuid.uuid4(),
        organization_id=org,
        events=frozenset(events),
        schedule_ids=frozenset(schedules),
        skips_threshold=threshold,
    )


def alert(event="job_failed", *, org=ORG, schedule=SCHEDULE, subject=None, streak=None):
    return Candidate(
        event=event,
        subject=subject or str(schedule),
        title="t",
        body="b",
        organization_id=org,
        schedule_id=schedule,
        streak=streak,
    )


def owed(candidates, channels, recent=frozenset()):
    return deliveries_owed(candidates, channels, recent=set(recent), now=NOW, dedup_minutes=15)


def test_it_sends_to_the_channels_of_the_event_and_organization_only():
    failed = channel("job_failed")
    other_event = channel("job_lost")
    other_org = channel("job_failed", org=OTHER)
    result = owed([alert()], [failed, other_event, other_org])
    assert [c.id for c, _, _ in result] == [failed.id]


def test_an_empty_schedule_list_is_the_whole_organization_and_a_list_filters():
    everything = channel("job_failed")
    this_one = channel("job_failed", schedules=[SCHEDULE])
    another = channel("job_failed", schedules=[ANOTHER])
    assert wants(everything, alert())
    assert wants(this_one, alert())
    assert not wants(another, alert())


def test_it_writes_one_alert_per_channel_event_and_subject_in_a_batch():
    c = channel("job_failed")
    result = owed([alert(), alert()], [c])
    assert len(result) == 1


def test_what_was_sent_in_the_window_is_not_sent_again():
    c = channel("job_failed")
    assert owed([alert()], [c], recent={(c.id, "job_failed", str(SCHEDULE))}) == []
    # Another subject or another event is another alert.
    assert len(owed([alert(schedule=ANOTHER)], [c], recent={(c.id, "job_failed", str(SCHEDULE))}))


def test_the_dedup_key_is_the_same_within_a_window_and_differs_across():
    c, a = channel("job_failed"), alert()
    window = dedup_window(NOW, 15)
    assert dedup_window(NOW + timedelta(minutes=1), 15) == window
    assert dedup_window(NOW + timedelta(minutes=15), 15) == window + 1
    assert dedup_key(c.id, a, window) == f"{c.id}:job_failed:{SCHEDULE}:{window}"


def test_an_alert_about_the_platform_goes_to_every_organization():
    stale = Candidate(event="tick_stale", subject="tick", title="t", body="b")
    ours, theirs = channel("tick_stale"), channel("tick_stale", org=OTHER, schedules=[ANOTHER])
    assert {c.id for c, _, _ in owed([stale], [ours, theirs])} == {ours.id, theirs.id}


def test_runs_skipped_fires_when_the_streak_reaches_each_channels_threshold():
    three, five = channel("runs_skipped", threshold=3), channel("runs_skipped", threshold=5)
    assert owed([alert("runs_skipped", streak=(1, 2))], [three, five]) == []
    assert [c.id for c, _, _ in owed([alert("runs_skipped", streak=(2, 3))], [three, five])] == [
        three.id
    ]
    assert owed([alert("runs_skipped", streak=(3, 4))], [three, five]) == []
    # A catch-up that skips several at once still crosses the threshold once.
    assert {c.id for c, _, _ in owed([alert("runs_skipped", streak=(0, 6))], [three, five])} == {
        three.id,
        five.id,
    }


def test_planned_skips_neither_count_nor_break_the_streak_and_a_run_resets_it():
    assert next_streak(0, ran=False, skip_reasons=["agent_unavailable"]) == 1
    assert next_streak(2, ran=False, skip_reasons=["missed", "billing_blocked"]) == 4
    for planned in ("calendar_excluded", "agent_maintenance", "ended", "run_budget_spent"):
        assert next_streak(2, ran=False, skip_reasons=[planned]) == 2
    assert next_streak(0, ran=False, skip_reasons=["not_due"]) == 0
    assert next_streak(5, ran=True, skip_reasons=[]) == 0


def test_job_outcomes_raise_their_events():
    assert job_events(status="failed", error_kind="exit_code") == ["job_failed"]
    assert job_events(status="failed", error_kind="credential_rejected") == [
        "job_failed",
        "credential_rejected",
    ]
    assert job_events(status="timed_out", error_kind="timed_out") == ["job_timed_out"]
    assert job_events(status="lost", error_kind="lost") == ["job_lost"]
    assert job_events(status="retrying", error_kind="lost") == []
    assert job_events(status="succeeded", error_kind="") == []


def test_retries_back_off_exponentially_up_to_a_cap():
    delays = [
        retry_delay(n, base_seconds=30, cap_seconds=300).total_seconds() for n in (1, 2, 3, 5)
    ]
    assert delays == [30, 60, 120, 300]
