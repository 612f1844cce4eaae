"""/metrics reads its gauges from the database when it is scraped (SPEC §12): unfinished jobs by
status, the oldest waiting job's age, agents online, seconds since the last successful tick —
in a constant number of queries, on the control plane's clock, with no tenant in a label; and
the same with PROMETHEUS_MULTIPROC_DIR set (the collector is on the registry the view builds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from prometheus_client.parser import text_string_to_metric_families

from agents.models import AgentStatus, Job, JobStatus
from schedules.lease import TICK_LEASE
from schedules.models import TickHeartbeat
from tests.factories import AgentFactory, JobFactory, ScheduleFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 26, 14, 0, 5, tzinfo=UTC)
GAUGES = (
    "mimic_jobs",
    "mimic_oldest_waiting_job_age_seconds",
    "mimic_agents_online",
    "mimic_seconds_since_last_tick",
    "mimic_database_gauges_up",
)


def scrape(client) -> dict[tuple[str, tuple], float]:
    """The scraped gauges: (name, sorted labels) -> value."""
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        if family.name in GAUGES
        for sample in family.samples
    }


def jobs(of, status: str, n: int = 1, **fields) -> None:
    Job.objects.bulk_create(JobFactory.build_batch(n, schedule=of, status=status, **fields))


def seconds_ago(seconds: int) -> datetime:
    return NOW - timedelta(seconds=seconds)


@pytest.fixture
def scraped(org, agent, script):
    """The schedule the seeded jobs belong to."""
    return ScheduleFactory(organization=org, agent=agent, script=script)


@pytest.fixture
def clock_at_now(control_plane_clock_is_time_machines):
    with time_machine.travel(NOW, tick=False):
        yield


def test_it_reports_the_database_as_it_is_at_the_scrape(client, org, scraped, clock_at_now):
    jobs(scraped, JobStatus.PENDING, 2, created_at=seconds_ago(300))
    jobs(scraped, JobStatus.QUEUED, created_at=seconds_ago(500), queued_at=seconds_ago(400))
    jobs(scraped, JobStatus.RUNNING, 3, created_at=seconds_ago(900))
    jobs(scraped, JobStatus.RETRYING, created_at=seconds_ago(2000))  # not waiting for an agent
    jobs(scraped, JobStatus.HELD, created_at=seconds_ago(3000))  # nor this one
    jobs(scraped, JobStatus.SUCCEEDED, 4, created_at=seconds_ago(5000))
    jobs(scraped, JobStatus.FAILED, created_at=seconds_ago(5000))
    fresh = seconds_ago(5)
    AgentFactory(organization=org, status=AgentStatus.ONLINE, last_heartbeat_at=fresh)
    AgentFactory(organization=org, status=AgentStatus.STARTING, last_heartbeat_at=fresh)
    AgentFactory(organization=org, status=AgentStatus.ONLINE, last_heartbeat_at=seconds_ago(61))
    AgentFactory(organization=org, status=AgentStatus.DISABLED, last_heartbeat_at=fresh)
    AgentFactory(organization=org, status=AgentStatus.STOPPED, last_heartbeat_at=fresh)
    TickHeartbeat.objects.create(name=TICK_LEASE, last_success_at=seconds_ago(75))

    assert scrape(client) == {
        ("mimic_jobs", (("status", "held"),)): 1,
        ("mimic_jobs", (("status", "pending"),)): 2,
        ("mimic_jobs", (("status", "queued"),)): 1,
        ("mimic_jobs", (("status", "running"),)): 3,
        ("mimic_jobs", (("status", "retrying"),)): 1,
        ("mimic_oldest_waiting_job_age_seconds", ()): 400,
        ("mimic_agents_online", ()): 2,
        ("mimic_seconds_since_last_tick", ()): 75,
        ("mimic_database_gauges_up", ()): 1,
    }


def test_an_empty_database_reports_zeros_and_no_tick_yet(client, db, clock_at_now):
    assert scrape(client) == {
        **{("mimic_jobs", (("status", s),)): 0 for s in ("held", "pending", "queued")},
        **{("mimic_jobs", (("status", s),)): 0 for s in ("running", "retrying")},
        ("mimic_oldest_waiting_job_age_seconds", ()): 0,
        ("mimic_agents_online", ()): 0,
        ("mimic_database_gauges_up", ()): 1,
    }


def test_no_label_names_a_tenant(client, org, scraped, clock_at_now):
    jobs(scraped, JobStatus.RUNNING)
    body = client.get("/metrics").content.decode()
    for name in (org.name, org.slug, scraped.name, str(org.id), str(scraped.id)):
        assert name not in body


def _queries_of_a_scrape(client) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/metrics").status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def test_a_scrape_costs_the_same_queries_for_5_and_500_jobs(client, org, scraped):
    AgentFactory(organization=org, status=AgentStatus.ONLINE, last_heartbeat_at=NOW)
    jobs(scraped, JobStatus.QUEUED, 5)
    few = _queries_of_a_scrape(client)
    jobs(scraped, JobStatus.QUEUED, 495)
    jobs(scraped, JobStatus.RUNNING, 300)
    many = _queries_of_a_scrape(client)
    # The clock, the grouped jobs, the agents online, the tick's heartbeat row.
    assert len(few) == len(many) == 4


def test_multiprocess_mode_still_serves_the_gauges(
    client, org, scraped, clock_at_now, tmp_path, monkeypatch
):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    jobs(scraped, JobStatus.PENDING, 2, created_at=seconds_ago(30))
    gauges = scrape(client)
    assert gauges[("mimic_jobs", (("status", "pending"),))] == 2
    assert gauges[("mimic_oldest_waiting_job_age_seconds", ())] == 30
    assert gauges[("mimic_database_gauges_up", ())] == 1
