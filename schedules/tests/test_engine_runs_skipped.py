"""runs_skipped (SPEC §14): an every-minute schedule whose agent is offline with auto-start off
is skipped each minute; after N skips in a row the tick writes one runs_skipped alert to the
outbox of each channel whose threshold is N — and only writes it: no delivery is attempted
inside the tick, and a batch costs the same queries however many schedules cross."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents import netguard
from agents.models import AgentStatus, Controller, Job
from schedules.alert_models import AlertChannel, AlertDelivery, ChannelKind
from schedules.engine import run_tick
from schedules.models import Schedule
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def offline_agent(org):
    return AgentFactory(
        organization=org, status=AgentStatus.OFFLINE, auto_start=False, controller=Controller.MANUAL
    )


@pytest.fixture
def no_outbound_connection(monkeypatch):
    """Any webhook connection (agents.netguard's only socket opener) or SMTP session fails the
    test: the tick must not deliver."""

    def refuse(*args, **kwargs):
        raise AssertionError("the tick opened a connection to deliver an alert")

    monkeypatch.setattr(netguard, "_open_socket", refuse)
    monkeypatch.setattr("smtplib.SMTP.connect", refuse)


def hook(org, name="hook", **kw) -> AlertChannel:
    fields = dict(
        organization=org,
        name=name,
        kind=ChannelKind.WEBHOOK,
        # A closed port: were the tick to send, it would wait on it (it must not).
        target="http://127.0.0.1:9/hook",
        secret="k",
        events=["runs_skipped"],
    )
    fields.update(kw)
    return AlertChannel.objects.create(**fields)


def test_it_alerts_once_after_n_consecutive_skips_and_a_run_resets_the_count(
    alert_sends_enqueued,
    now,
    make_due,
    org,
    offline_agent,
    no_outbound_connection,
    django_capture_on_commit_callbacks,
):
    three, five = hook(org, "three"), hook(org, "five", skips_threshold=5)
    hook(org, "failures only", events=["job_failed"])
    schedule = make_due(agent=offline_agent, cron_expression="* * * * *")
    minute = now.replace(second=0)
    for n in range(1, 7):
        with django_capture_on_commit_callbacks(execute=True):
            report = run_tick(
                now=minute + timedelta(minutes=n - 1, seconds=5), use_executor_lock=False
            )
        assert [s.reason for s in report.skipped] == ["agent_unavailable"]
        schedule.refresh_from_db()
        assert schedule.consecutive_skips == n
        sent_to = set(AlertDelivery.objects.values_list("channel__name", flat=True))
        assert sent_to == ({"three"} if n >= 3 else set()) | ({"five"} if n >= 5 else set())
    assert AlertDelivery.objects.count() == 2
    # Each after its tick's commit, handed to the send task (which the tick never runs).
    assert alert_sends_enqueued == [
        [str(AlertDelivery.objects.get(channel=three).id)],
        [str(AlertDelivery.objects.get(channel=five).id)],
    ]
    delivery = AlertDelivery.objects.get(channel=three)
    assert (delivery.event, delivery.subject, delivery.status, delivery.attempts) == (
        "runs_skipped",
        str(schedule.id),
        "pending",
        0,
    )
    assert "3 runs skipped in a row" in delivery.title
    assert AlertDelivery.objects.get(channel=five).payload["consecutiveSkips"] == 5

    # The agent comes back: the next occurrence runs, and the count starts again.
    offline_agent.status, offline_agent.last_heartbeat_at = (
        AgentStatus.ONLINE,
        minute + timedelta(minutes=6),
    )
    offline_agent.save()
    run_tick(now=minute + timedelta(minutes=6, seconds=5), use_executor_lock=False)
    assert Job.objects.filter(schedule=schedule).count() == 1
    schedule.refresh_from_db()
    assert schedule.consecutive_skips == 0


def test_a_channel_for_other_schedules_gets_nothing(now, make_due, org, offline_agent):
    other = make_due(cron_expression="0 3 * * *")
    channel = hook(org, skips_threshold=1)
    channel.schedules.set([other])
    make_due(agent=offline_agent, cron_expression="* * * * *")
    run_tick(now=now, use_executor_lock=False)
    assert not AlertDelivery.objects.exists()


def test_planned_skips_do_not_count(now, make_due, org, online_agent):
    from tests.factories import CalendarFactory

    hook(org, skips_threshold=1)
    calendar = CalendarFactory(organization=org, dates=[now.date().isoformat()])
    schedule = make_due(cron_expression="* * * * *")
    schedule.calendars.set([calendar])
    report = run_tick(now=now, use_executor_lock=False)
    assert [s.reason for s in report.skipped] == ["calendar_excluded"]
    schedule.refresh_from_db()
    assert schedule.consecutive_skips == 0
    assert not AlertDelivery.objects.exists()


def test_a_batch_costs_the_same_queries_for_10_and_100_crossing(
    now, make_due, org, offline_agent, django_assert_num_queries
):
    hook(org)
    hook(org, "all events", events=["runs_skipped", "job_failed"])

    def crossing(n, minute):
        for _ in range(n):
            make_due(
                agent=offline_agent,
                cron_expression="* * * * *",
                next_run_at=minute,
                consecutive_skips=2,
            )

    minute = now.replace(second=0)
    crossing(10, minute)
    with CaptureQueriesContext(connection) as small:
        run_tick(now=now, use_executor_lock=True)
    assert AlertDelivery.objects.count() == 20

    later = minute + timedelta(minutes=1)
    Schedule.objects.update(
        next_run_at=later + timedelta(hours=1), fire_at=later + timedelta(hours=1)
    )
    crossing(100, later)
    with django_assert_num_queries(len(small.captured_queries)):
        run_tick(now=later + timedelta(seconds=5), use_executor_lock=True)
    assert AlertDelivery.objects.count() == 220
