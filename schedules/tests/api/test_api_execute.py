"""POST /api/schedules/execute: validation, scoping to the caller's organization, roles, and the
report of SPEC §5."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agents.models import Job
from billing.models import Role
from tests.factories import AgentFactory, OrganizationFactory, ScheduleFactory

pytestmark = pytest.mark.django_db


def due_schedule(org, **kw):
    agent = AgentFactory(organization=org, status="online", last_heartbeat_at=timezone.now())
    minute = timezone.now().replace(second=0, microsecond=0)
    return ScheduleFactory(
        organization=org, agent=agent, cron_expression="* * * * *", next_run_at=minute, **kw
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"force": True}, "scheduleId"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": 2.5}, "limit"),
        ({"dryRun": "perhaps"}, "dryRun"),
        ({"scheduleId": "not-a-uuid"}, "scheduleId"),
    ],
)
def test_it_rejects_bad_input_naming_the_field(operator, body, field):
    response = operator.post("/api/schedules/execute", body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_it_runs_only_the_callers_organization(org, operator):
    mine = due_schedule(org)
    theirs = due_schedule(OrganizationFactory(billing_status="active"))
    report = operator.post("/api/schedules/execute", {}, format="json").json()
    assert [t["scheduleId"] for t in report["triggeredSchedules"]] == [str(mine.id)]
    assert set(report) == {
        "dryRun",
        "evaluatedAt",
        "triggeredSchedules",
        "skipped",
        "errors",
        "prewarmedAgents",
    }
    assert not Job.objects.filter(schedule=theirs).exists()


def test_it_answers_404_for_another_organizations_schedule(operator):
    theirs = due_schedule(OrganizationFactory(billing_status="active"))
    for body in ({"scheduleId": str(theirs.id)}, {"scheduleId": str(theirs.id), "force": True}):
        response = operator.post("/api/schedules/execute", body, format="json")
        assert response.status_code == 404
    assert not Job.objects.exists()


def test_it_forces_a_run_of_one_schedule(org, operator):
    s = due_schedule(org)
    s.next_run_at = timezone.now() + timedelta(hours=3)
    s.save()
    body = {"scheduleId": str(s.id), "force": True, "dryRun": False}
    report = operator.post("/api/schedules/execute", body, format="json").json()
    (t,) = report["triggeredSchedules"]
    assert t["jobId"] == str(Job.objects.get(schedule=s, trigger="forced").id)
    assert t["scheduleName"] == s.name and t["agentId"] == str(s.agent_id)


@pytest.mark.parametrize(
    ("role", "dry_run", "status"),
    [
        (Role.VIEWER, True, 200),
        (Role.VIEWER, False, 403),
        (Role.OPERATOR, False, 200),
        (Role.ADMIN, False, 200),
        (Role.OWNER, False, 200),
    ],
)
def test_it_lets_viewers_dry_run_and_operators_execute(org, client_for, role, dry_run, status):
    due_schedule(org)
    response = client_for(org, role, token=True).post(
        "/api/schedules/execute", {"dryRun": dry_run}, format="json"
    )
    assert response.status_code == status
    assert Job.objects.count() == (1 if status == 200 and not dry_run else 0)


def test_it_requires_authentication(org):
    assert APIClient().post("/api/schedules/execute", {}, format="json").status_code in (401, 403)
