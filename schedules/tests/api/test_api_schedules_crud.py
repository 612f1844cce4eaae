"""Schedules CRUD: the SPEC §6 shape, camelCase, instants in UTC with Z, nextRunAt computed."""

from __future__ import annotations

import re

import pytest
import time_machine

from billing.models import Role
from schedules.models import Schedule
from tests.factories import AgentFactory, JobFactory, ScheduleFactory
from vault.models import VaultEntry

# Time is frozen with time-machine: the control plane's clock follows it.
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("control_plane_clock_is_time_machines"),
]

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

SPEC_FIELDS = {
    "id",
    "name",
    "scriptId",
    "agentId",
    "cronExpression",
    "timezone",
    "enabled",
    "maxRuntimeMinutes",
    "maxRetries",
    "retryDelaySeconds",
    "concurrencyLimit",
    "idempotencyWindowMinutes",
    "catchUpWindowMinutes",
    "variables",
    "vaultKeys",
    "lastRunAt",
    "lastRunStatus",
    "nextRunAt",
}


def body(script, agent, **overrides):
    data = {
        "name": "Nightly invoice sync",
        "scriptId": str(script.id),
        "agentId": str(agent.id),
        "cronExpression": "30 2 * * *",
        "timezone": "America/New_York",
        "enabled": True,
        "maxRuntimeMinutes": 720,
        "maxRetries": 2,
        "retryDelaySeconds": 300,
        "concurrencyLimit": 1,
        "idempotencyWindowMinutes": 0,
        "catchUpWindowMinutes": 60,
        "variables": {"region": "us-east"},
        "vaultKeys": ["SAP_PASSWORD"],
    }
    data.update(overrides)
    return data


@time_machine.travel("2026-11-26T14:00:00Z", tick=False)
def test_it_creates_a_schedule_in_the_spec_shape_with_next_run_computed(api, org, script, agent):
    response = api.post("/api/schedules/", body(script, agent), format="json")

    assert response.status_code == 201, response.data
    data = response.json()
    assert SPEC_FIELDS <= set(data)
    assert data["nextRunAt"] == "2026-11-27T07:30:00Z"  # 02:30 EST
    assert data["lastRunAt"] is None and data["lastRunStatus"] is None
    assert data["variables"] == {"region": "us-east"}
    assert data["vaultKeys"] == ["SAP_PASSWORD"]
    assert data["createdAt"] == "2026-11-26T14:00:00Z"
    assert data["description"]
    schedule = Schedule.objects.get(pk=data["id"])
    assert schedule.organization == org
    assert schedule.max_retries == 2


def test_it_applies_the_guardrail_defaults_when_omitted(api, script, agent):
    data = {
        "name": "Defaults",
        "scriptId": str(script.id),
        "agentId": str(agent.id),
        "cronExpression": "*/15 * * * *",
    }

    response = api.post("/api/schedules/", data, format="json")

    assert response.status_code == 201, response.data
    got = response.json()
    assert got["timezone"] == "UTC"
    assert (got["maxRuntimeMinutes"], got["maxRetries"], got["retryDelaySeconds"]) == (720, 0, 60)
    assert (got["concurrencyLimit"], got["idempotencyWindowMinutes"]) == (1, 0)
    assert got["catchUpWindowMinutes"] == 60
    assert got["variables"] == {} and got["vaultKeys"] == []


def test_it_ignores_read_only_fields_on_write(api, script, agent):
    data = body(script, agent, lastRunStatus="failed", nextRunAt="2000-01-01T00:00:00Z", id="x")

    response = api.post("/api/schedules/", data, format="json")

    assert response.status_code == 201, response.data
    assert response.json()["lastRunStatus"] is None
    assert response.json()["nextRunAt"] != "2000-01-01T00:00:00Z"


def test_it_reads_a_schedule_with_instants_in_utc_z(api, org):
    schedule = ScheduleFactory(organization=org, vault_keys=[])

    data = api.get(f"/api/schedules/{schedule.id}/").json()

    assert data["id"] == str(schedule.id)
    assert ISO_Z.match(data["nextRunAt"])
    assert ISO_Z.match(data["createdAt"]) and ISO_Z.match(data["updatedAt"])
    assert data["scriptId"] == str(schedule.script_id)


def test_it_flags_vault_keys_with_no_vault_entry(api, org, other_org):
    VaultEntry.objects.create(organization=org, key="SAP_PASSWORD", ciphertext="x")
    VaultEntry.objects.create(organization=other_org, key="PORTAL_TOKEN", ciphertext="x")
    schedule = ScheduleFactory(organization=org, vault_keys=["SAP_PASSWORD", "PORTAL_TOKEN"])

    data = api.get(f"/api/schedules/{schedule.id}/").json()

    assert data["missingVaultKeys"] == ["PORTAL_TOKEN"]
    listed = api.get("/api/schedules/").json()["results"][0]
    assert listed["missingVaultKeys"] == ["PORTAL_TOKEN"]


@time_machine.travel("2026-11-26T14:00:00Z", tick=False)
def test_it_recomputes_next_run_when_the_cron_changes(api, org):
    schedule = ScheduleFactory(organization=org, cron_expression="0 0 * * *")

    response = api.patch(
        f"/api/schedules/{schedule.id}/",
        {"cronExpression": "30 2 * * *", "timezone": "America/New_York"},
        format="json",
    )

    assert response.status_code == 200, response.data
    assert response.json()["nextRunAt"] == "2026-11-27T07:30:00Z"
    schedule.refresh_from_db()
    assert schedule.next_run_at.isoformat() == "2026-11-27T07:30:00+00:00"


def test_it_keeps_an_overdue_next_run_when_only_the_variables_change(api, org):
    schedule = ScheduleFactory(organization=org)
    overdue = schedule.next_run_at.replace(year=2020)
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=overdue)

    response = api.patch(f"/api/schedules/{schedule.id}/", {"variables": {"a": 1}}, format="json")

    assert response.status_code == 200, response.data
    schedule.refresh_from_db()
    assert schedule.next_run_at == overdue
    assert schedule.variables == {"a": 1}


def test_it_clears_next_run_when_disabled_by_an_edit(api, org):
    schedule = ScheduleFactory(organization=org)

    response = api.patch(f"/api/schedules/{schedule.id}/", {"enabled": False}, format="json")

    assert response.status_code == 200
    assert response.json()["nextRunAt"] is None


def test_it_replaces_a_schedule_with_put(api, org, script, agent):
    schedule = ScheduleFactory(organization=org)

    response = api.put(
        f"/api/schedules/{schedule.id}/", body(script, agent, name="Renamed"), format="json"
    )

    assert response.status_code == 200, response.data
    schedule.refresh_from_db()
    assert (schedule.name, schedule.script_id, schedule.agent_id) == (
        "Renamed",
        script.id,
        agent.id,
    )


def test_it_deletes_a_schedule_and_keeps_its_jobs(api, org):
    job = JobFactory(schedule=ScheduleFactory(organization=org))

    response = api.delete(f"/api/schedules/{job.schedule_id}/")

    assert response.status_code == 204
    assert not Schedule.objects.filter(pk=job.schedule_id).exists()
    job.refresh_from_db()
    assert job.schedule_id is None


def test_deleting_a_schedule_cancels_its_held_jobs(api, org):
    # Held jobs (overlap policy, backfill) wait for their schedule's slot: without the schedule
    # nothing would ever release them. Its other jobs stay as they are, history.
    schedule = ScheduleFactory(organization=org)
    held = JobFactory(schedule=schedule, status="held")
    done = JobFactory(schedule=schedule, status="succeeded")

    assert api.delete(f"/api/schedules/{schedule.id}/").status_code == 204

    held.refresh_from_db()
    assert (held.status, held.error_kind, held.schedule_id) == ("canceled", "canceled", None)
    assert held.error_message == "Its schedule was deleted before a concurrency slot freed for it."
    done.refresh_from_db()
    assert (done.status, done.schedule_id) == ("succeeded", None)


def test_it_filters_schedules_by_agent_enabled_and_last_run_status(api, org):
    agent = AgentFactory(organization=org)
    match = ScheduleFactory(organization=org, agent=agent, last_run_status="failed")
    ScheduleFactory(organization=org, agent=agent, last_run_status="succeeded")
    ScheduleFactory(organization=org, agent=agent, enabled=False, last_run_status="failed")
    ScheduleFactory(organization=org, last_run_status="failed")

    response = api.get(f"/api/schedules/?agentId={agent.id}&enabled=true&lastRunStatus=failed")

    assert response.status_code == 200
    assert [s["id"] for s in response.json()["results"]] == [str(match.id)]


@pytest.mark.parametrize(
    "query", ["agentId=nope", "enabled=maybe", "lastRunStatus=exploded", "page=0", "pageSize=x"]
)
def test_it_rejects_bad_filters_with_a_400_or_404_never_a_500(api, org, query):
    ScheduleFactory(organization=org)

    response = api.get(f"/api/schedules/?{query}")

    assert response.status_code in (200, 400, 404)
    if query.startswith(("agentId", "enabled", "lastRunStatus")):
        assert response.status_code == 400
        assert query.split("=")[0] in response.json()


def test_it_lets_a_viewer_read_but_not_write(org, client_for):
    viewer = client_for(org, Role.VIEWER)
    schedule = ScheduleFactory(organization=org)

    assert viewer.get("/api/schedules/").status_code == 200
    assert viewer.get(f"/api/schedules/{schedule.id}/").status_code == 200
    assert (
        viewer.patch(f"/api/schedules/{schedule.id}/", {"name": "x"}, format="json").status_code
        == 403
    )
    assert viewer.delete(f"/api/schedules/{schedule.id}/").status_code == 403
    assert viewer.post("/api/schedules/", {}, format="json").status_code == 403


def test_it_lets_an_operator_read_but_not_edit(org, client_for):
    operator = client_for(org, Role.OPERATOR)
    schedule = ScheduleFactory(organization=org)

    assert (
        operator.patch(f"/api/schedules/{schedule.id}/", {"name": "x"}, format="json").status_code
        == 403
    )
    assert operator.delete(f"/api/schedules/{schedule.id}/").status_code == 403
