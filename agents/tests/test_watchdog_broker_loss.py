"""Broker loss (SPEC §10): a `queued` job whose message vanished — Redis restarted without
persistence, or flushed — is published again once an alive agent with a free slot has not taken
it for JOB_REQUEUE_AFTER_SECONDS; a message still in the queue is left alone (no duplicate), and
a busy or dead agent's queued jobs are not touched. Real Redis."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.dispatch import agent_queue, jobs_publish
from agents.models import AgentStatus, JobStatus
from agents.watchdog import watchdog_run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _broker_loss_settings(settings):
    settings.AGENT_ONLINE_SECONDS = 60
    settings.JOB_REQUEUE_AFTER_SECONDS = 60
    settings.JOB_PICKUP_TIMEOUT_SECONDS = 600


@pytest.fixture
def alive(agent):
    agent.status, agent.last_heartbeat_at, agent.capacity = AgentStatus.ONLINE, timezone.now(), 2
    agent.save()
    return agent


def queued(make_job, agent, *, minutes_ago: float, **fields):
    """A job published for real, its queued_at set back in time."""
    job = make_job(status=JobStatus.PENDING, **fields)
    queued_at = timezone.now() - timedelta(minutes=minutes_ago)
    jobs_publish(jobs=[(job.id, agent.id)], now=queued_at)
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    return job


def messages(redis_client, agent) -> list[bytes]:
    return redis_client.lrange(agent_queue(agent.id), 0, -1)


def test_it_republishes_a_message_the_broker_lost(make_job, alive, redis_client):
    job = queued(make_job, alive, minutes_ago=5)
    assert watchdog_run(now=timezone.now())["republished"] == []  # its message is there
    assert len(messages(redis_client, alive)) == 1

    redis_client.delete(agent_queue(alive.id))  # what a restart without persistence does

    report = watchdog_run(now=timezone.now())
    assert report["republished"] == [str(job.id)]
    [message] = messages(redis_client, alive)
    assert str(job.id).encode() in message
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED  # still waiting; its wait still counts from queuedAt
    assert watchdog_run(now=timezone.now())["republished"] == []  # no duplicate next pass


def test_a_dry_run_reports_it_and_publishes_nothing(make_job, alive, redis_client):
    job = queued(make_job, alive, minutes_ago=5)
    redis_client.delete(agent_queue(alive.id))
    assert watchdog_run(now=timezone.now(), dry_run=True)["republished"] == [str(job.id)]
    assert messages(redis_client, alive) == []


def test_it_leaves_a_recent_job_a_busy_agent_and_a_dead_agent_alone(
    make_job, alive, agent, redis_client
):
    recent = queued(make_job, alive, minutes_ago=0.5)
    # Capacity 2, both slots running: the queued jobs wait for a slot, not for a message.
    for _ in range(2):
        make_job(status=JobStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now())
    waiting = queued(make_job, alive, minutes_ago=30)
    redis_client.delete(agent_queue(alive.id))
    assert watchdog_run(now=timezone.now())["republished"] == []

    # Dead for a while (but not past the pickup timeout): nobody could take it anyway.
    alive.last_heartbeat_at = timezone.now() - timedelta(minutes=5)
    alive.save()
    assert watchdog_run(now=timezone.now())["republished"] == []
    assert {recent.id, waiting.id} <= set(
        alive.jobs.filter(status=JobStatus.QUEUED).values_list("id", flat=True)
    )


def test_it_fills_only_the_free_slots_oldest_first(make_job, alive, redis_client):
    oldest, older, old = (queued(make_job, alive, minutes_ago=m) for m in (30, 20, 10))
    redis_client.delete(agent_queue(alive.id))
    make_job(status=JobStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now())
    # One of the two slots is free: the oldest lost message comes back first.
    assert watchdog_run(now=timezone.now())["republished"] == [str(oldest.id)]
