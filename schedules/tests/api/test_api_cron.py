"""GET|POST /api/cron/scheduled-runs: the cron key (header or bearer, constant-time compare),
503 without CRON_SECRET, 423 while the executor lock is held, dryRun/limit by query or body."""

import pytest
from django.utils import timezone

from agents.models import Job
from schedules.lease import TICK_LEASE, lease_acquire
from tests.factories import AgentFactory, OrganizationFactory, ScheduleFactory

pytestmark = pytest.mark.django_db
URL = "/api/cron/scheduled-runs"


@pytest.fixture(autouse=True)
def cron_secret(settings):
    settings.CRON_SECRET = "cron-test-secret"
    return settings.CRON_SECRET


def due(n=1):
    out = []
    for _ in range(n):
        org = OrganizationFactory(billing_status="active")
        agent = AgentFactory(organization=org, status="online", last_heartbeat_at=timezone.now())
        minute = timezone.now().replace(second=0, microsecond=0)
        out.append(
            ScheduleFactory(
                organization=org, agent=agent, cron_expression="* * * * *", next_run_at=minute
            )
        )
    return out


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "headers",
    [{"HTTP_X_CRON_KEY": "cron-test-secret"}, {"HTTP_AUTHORIZATION": "Bearer cron-test-secret"}],
    ids=["x-cron-key", "bearer"],
)
def test_it_runs_a_full_tick_across_organizations_with_the_key(client, method, headers):
    schedules = due(2)
    response = getattr(client, method)(URL, **headers)
    assert response.status_code == 200
    assert {t["scheduleId"] for t in response.json()["triggeredSchedules"]} == {
        str(s.id) for s in schedules
    }


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_X_CRON_KEY": "wrong"},
        {"HTTP_AUTHORIZATION": "Bearer wrong"},
        {"HTTP_AUTHORIZATION": "Token cron-test-secret"},
    ],
    ids=["missing", "wrong-header", "wrong-bearer", "not-bearer"],
)
def test_it_refuses_a_missing_or_wrong_key(client, headers):
    due()
    assert client.post(URL, **headers).status_code == 401
    assert not Job.objects.exists()


def test_it_is_disabled_without_a_configured_secret(client, settings):
    settings.CRON_SECRET = ""
    assert client.post(URL, HTTP_X_CRON_KEY="").status_code == 503


def test_it_answers_423_with_the_report_while_the_executor_lock_is_held(client):
    due()
    lease_acquire(name=TICK_LEASE, now=timezone.now(), ttl_seconds=55)
    response = client.post(URL, HTTP_X_CRON_KEY="cron-test-secret")
    assert response.status_code == 423
    assert [e["code"] for e in response.json()["errors"]] == ["executor_locked"]
    assert not Job.objects.exists()


@pytest.mark.parametrize("via", ["query", "body"])
def test_it_takes_dry_run_and_limit_as_query_or_body(client, via):
    due(3)
    params = {"dryRun": "true", "limit": 2}
    if via == "query":
        response = client.post(f"{URL}?dryRun=true&limit=2", HTTP_X_CRON_KEY="cron-test-secret")
    else:
        response = client.post(
            URL, params, content_type="application/json", HTTP_X_CRON_KEY="cron-test-secret"
        )
    body = response.json()
    assert response.status_code == 200
    assert body["dryRun"] is True
    assert len(body["triggeredSchedules"]) == 2
    assert not Job.objects.exists()


@pytest.mark.parametrize("limit", ["0", "1001", "x"])
def test_it_rejects_a_bad_limit(client, limit):
    response = client.get(f"{URL}?limit={limit}", HTTP_X_CRON_KEY="cron-test-secret")
    assert response.status_code == 400
    assert "limit" in response.json()
