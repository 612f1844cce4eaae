"""What the watchdog finds and no job reports (SPEC §14): a stale tick — the watchdog is what an
external cron calls when beat itself died — alerts every organization's tick_stale channels; an
agent that fell silent alerts its organization's agent_offline channels, once per outage."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import AgentStatus
from agents.watchdog import watchdog_run
from schedules.alert_models import AlertChannel, AlertDelivery, ChannelKind
from schedules.lease import TICK_LEASE
from schedules.models import TickHeartbeat
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings, redis_url):
    settings.AGENT_ONLINE_SECONDS = 60
    settings.ALERT_TICK_STALE_SECONDS = 180


def mail(org, *events, name="ops") -> AlertChannel:
    return AlertChannel.objects.create(
        organization=org,
        name=name,
        kind=ChannelKind.EMAIL,
        target="ops@example.com",
        events=list(events),
    )


def ticked(at):
    TickHeartbeat.objects.update_or_create(name=TICK_LEASE, defaults={"last_success_at": at})


def test_a_stale_tick_alerts_every_organizations_tick_stale_channel_once(org, other_org):
    now = timezone.now()
    ours, theirs = mail(org, "tick_stale"), mail(other_org, "tick_stale")
    mail(org, "job_failed", name="jobs only")
    ticked(now - timedelta(seconds=60))
    watchdog_run(now=now)
    assert not AlertDelivery.objects.exists()

    ticked(now - timedelta(minutes=10))
    watchdog_run(now=now)
    watchdog_run(now=now + timedelta(seconds=30))  # the next pass: deduplicated
    assert sorted(AlertDelivery.objects.values_list("channel_id", "event")) == sorted(
        [(ours.id, "tick_stale"), (theirs.id, "tick_stale")]
    )
    assert "last ran 600 s ago" in AlertDelivery.objects.filter(channel=ours).get().body


def test_a_dry_run_alerts_nothing(org):
    mail(org, "tick_stale")
    watchdog_run(now=timezone.now(), dry_run=True)
    assert not AlertDelivery.objects.exists()


def test_an_agent_that_fell_silent_alerts_its_organization_once(org, other_org):
    now = timezone.now()
    ours = mail(org, "agent_offline")
    mail(other_org, "agent_offline")
    ticked(now)
    silent = AgentFactory(
        organization=org, status=AgentStatus.ONLINE, last_heartbeat_at=now - timedelta(seconds=90)
    )
    AgentFactory(organization=org, status=AgentStatus.ONLINE, last_heartbeat_at=now)  # alive
    AgentFactory(  # stopped on purpose: no alert
        organization=org, status=AgentStatus.STOPPED, last_heartbeat_at=now - timedelta(seconds=90)
    )
    AgentFactory(  # silent for days: alerted back then, not again now
        organization=org, status=AgentStatus.ONLINE, last_heartbeat_at=now - timedelta(days=2)
    )
    watchdog_run(now=now)
    watchdog_run(now=now + timedelta(seconds=30))
    [delivery] = AlertDelivery.objects.all()
    assert (delivery.channel_id, delivery.event, delivery.subject) == (
        ours.id,
        "agent_offline",
        str(silent.id),
    )
