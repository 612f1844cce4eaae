"""The audit trail through the API (SPEC §14): an edit records the user and the changed fields
(old and new), a pause its note, a forced run its job, a backfill its range (a dry run
nothing), a deletion the schedule's name; a DRF token caller is recorded as an API token, by
username, never by the token; a job cancel, a token rotation and a vault value are recorded
with no secret anywhere in the entry."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from agents.models import AgentStatus, Job, JobStatus, Trigger
from billing.audit import SECRET_PLACEHOLDER
from billing.models import AuditEntry, Role
from tests.factories import JobFactory

pytestmark = pytest.mark.django_db


def _online(agent) -> None:
    type(agent).objects.filter(pk=agent.pk).update(
        status=AgentStatus.ONLINE, last_heartbeat_at=timezone.now()
    )


def _trail(client, **params) -> list[dict]:
    response = client.get("/api/audit/", params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_an_edit_records_the_user_and_the_changed_fields(acme, client_for):
    admin = client_for(acme["org"], Role.ADMIN)
    schedule = acme["schedule"]
    old_cron = schedule.cron_expression
    response = admin.patch(
        f"/api/schedules/{schedule.id}/",
        {"cronExpression": "30 2 * * *", "maxRuntimeMinutes": 17, "name": schedule.name},
        format="json",
    )
    assert response.status_code == 200, response.content

    [entry] = _trail(admin, objectId=str(schedule.id))
    assert entry["action"] == "edited"
    assert (entry["actorKind"], entry["actorLabel"]) == ("user", admin.user.username)
    assert entry["actorId"] == str(admin.user.pk)
    assert (entry["objectType"], entry["objectLabel"]) == ("schedule", schedule.name)
    # Only what changed: the name was sent unchanged.
    assert entry["changes"] == {
        "cronExpression": [old_cron, "30 2 * * *"],
        "maxRuntimeMinutes": [schedule.max_runtime_minutes, 17],
    }


def test_an_edit_that_changes_nothing_records_nothing(acme, client_for):
    admin = client_for(acme["org"], Role.ADMIN)
    schedule = acme["schedule"]
    body = {"name": schedule.name}
    assert admin.patch(f"/api/schedules/{schedule.id}/", body, format="json").status_code == 200
    assert not AuditEntry.objects.exists()


def test_a_rejected_edit_leaves_no_entry(acme, client_for):
    admin = client_for(acme["org"], Role.ADMIN)
    schedule = acme["schedule"]
    body = {"cronExpression": "61 * * * *"}
    assert admin.patch(f"/api/schedules/{schedule.id}/", body, format="json").status_code == 400
    assert not AuditEntry.objects.exists()


def test_a_pause_records_its_note_and_a_resume_follows(acme, client_for):
    operator = client_for(acme["org"], Role.OPERATOR, token=True)
    schedule = acme["schedule"]
    note = "portal down until Monday"
    assert (
        operator.post(
            f"/api/schedules/{schedule.id}/pause", {"note": note}, format="json"
        ).status_code
        == 200
    )
    assert operator.post(f"/api/schedules/{schedule.id}/resume").status_code == 200

    resumed, paused = _trail(operator)
    assert (paused["action"], paused["note"]) == ("paused", note)
    assert resumed["action"] == "resumed"
    # A DRF token: the user's name, marked as a token call; the key itself is nowhere.
    assert (paused["actorKind"], paused["actorLabel"]) == ("api_token", operator.user.username)
    key = operator.user.auth_token.key
    assert key not in json.dumps([paused, resumed])


def test_a_forced_run_records_who_and_the_job(acme, client_for):
    _online(acme["agent"])
    operator = client_for(acme["org"], Role.OPERATOR)
    schedule = acme["schedule"]
    response = operator.post(
        "/api/schedules/execute", {"scheduleId": str(schedule.id), "force": True}, format="json"
    )
    assert response.status_code == 200, response.content
    job = Job.objects.get(schedule=schedule, trigger=Trigger.FORCED)

    [entry] = _trail(operator, action="forced")
    assert (entry["actorLabel"], entry["objectId"]) == (operator.user.username, str(schedule.id))
    assert entry["note"] == f"job {job.id}"


def test_a_dry_run_and_the_tick_record_nothing(acme, client_for):
    _online(acme["agent"])
    operator = client_for(acme["org"], Role.OPERATOR)
    body = {"scheduleId": str(acme["schedule"].id), "force": True, "dryRun": True}
    assert operator.post("/api/schedules/execute", body, format="json").status_code == 200
    assert not AuditEntry.objects.exists()


def test_a_backfill_records_its_range_but_not_a_dry_run(acme, client_for):
    _online(acme["agent"])
    operator = client_for(acme["org"], Role.OPERATOR)
    schedule = acme["schedule"]
    now = timezone.now().replace(second=0, microsecond=0)
    body = {
        "from": (now - timezone.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "to": (now - timezone.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    url = f"/api/schedules/{schedule.id}/backfill"
    assert operator.post(url, {**body, "dryRun": True}, format="json").status_code == 200
    assert not AuditEntry.objects.exists()
    assert operator.post(url, body, format="json").status_code == 200

    [entry] = _trail(operator)
    assert entry["action"] == "backfilled"
    assert entry["note"].startswith("from ") and "enqueued" in entry["note"]


def test_a_deletion_keeps_the_schedules_name(acme, client_for):
    admin = client_for(acme["org"], Role.ADMIN)
    schedule = acme["schedule"]
    assert admin.delete(f"/api/schedules/{schedule.id}/").status_code == 204
    [entry] = _trail(admin, objectType="schedule")
    assert (entry["action"], entry["objectLabel"]) == ("deleted", "acme schedule")


def test_a_creation_is_recorded(org, client_for, agent, script):
    admin = client_for(org, Role.ADMIN)
    body = {
        "name": "nightly",
        "scriptId": str(script.id),
        "agentId": str(agent.id),
        "cronExpression": "0 2 * * *",
        "timezone": "UTC",
    }
    response = admin.post("/api/schedules/", body, format="json")
    assert response.status_code == 201, response.content
    [entry] = _trail(admin)
    assert (entry["action"], entry["objectId"]) == ("created", response.json()["id"])


def test_a_job_cancel_is_recorded(acme, client_for):
    operator = client_for(acme["org"], Role.OPERATOR)
    job = JobFactory(
        schedule=acme["schedule"], idempotency_key="to-cancel", status=JobStatus.PENDING
    )
    assert operator.post(f"/api/jobs/{job.id}/cancel").status_code == 200
    [entry] = _trail(operator, objectType="job")
    assert (entry["action"], entry["objectId"]) == ("canceled", str(job.id))
    assert entry["actorLabel"] == operator.user.username


def test_a_token_rotation_is_recorded_without_the_token(acme, client_for):
    admin = client_for(acme["org"], Role.ADMIN)
    agent = acme["agent"]
    response = admin.post(f"/api/agents/{agent.id}/token")
    assert response.status_code == 200
    token = response.json()["token"]
    token_hash = type(agent).objects.get(pk=agent.pk).token_hash

    [entry] = _trail(admin, objectType="agent", objectId=str(agent.id))
    assert (entry["action"], entry["actorLabel"]) == ("rotated", admin.user.username)
    assert entry["changes"] == {"token": [SECRET_PLACEHOLDER, SECRET_PLACEHOLDER]}
    stored = AuditEntry.objects.get()
    for text in (json.dumps(entry), json.dumps(stored.changes), stored.note, str(stored)):
        assert token not in text and token_hash not in text


def test_vault_changes_are_recorded_by_name_never_by_value(org, client_for):
    admin = client_for(org, Role.ADMIN)
    first, second = "hunter2-first-value", "hunter2-second-value"
    response = admin.post("/api/vault/", {"key": "PORTAL_PASSWORD", "value": first}, format="json")
    assert response.status_code == 201, response.content
    entry_id = response.json()["id"]
    body = {"value": second, "description": "rotated in March"}
    assert admin.patch(f"/api/vault/{entry_id}/", body, format="json").status_code == 200
    assert admin.delete(f"/api/vault/{entry_id}/").status_code == 204

    deleted, edited, created = _trail(admin, objectType="vault_entry")
    assert [e["action"] for e in (created, edited, deleted)] == ["created", "edited", "deleted"]
    assert {e["objectLabel"] for e in (created, edited, deleted)} == {"PORTAL_PASSWORD"}
    assert edited["changes"] == {
        "description": ["", "rotated in March"],
        "value": [SECRET_PLACEHOLDER, SECRET_PLACEHOLDER],
    }
    rows = json.dumps(list(AuditEntry.objects.values()), default=str)
    served = json.dumps([created, edited, deleted])
    for secret in (first, second):
        assert secret not in rows and secret not in served
