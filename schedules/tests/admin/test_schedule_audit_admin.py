"""The audit trail through the staff UI (SPEC §14): an edit, a pause with its note, a Run now
and a delete made in the admin record the staff user; the schedule's page lists its entries
(one query, whatever their number); an agent's token rotation is on the agent's page without the
token; the audit entry admin is read-only and shows each organization only its own."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import AgentStatus, Job, Trigger
from billing.audit import SECRET_PLACEHOLDER, Actor, audit_record
from billing.models import AuditEntry, Role
from schedules.tests.admin.forms import schedule_form
from tests.fixtures import form_errors

pytestmark = pytest.mark.django_db

LIST = "/app/schedules/schedule/"


def _act(client, action: str, schedules, **extra):
    data = {"action": action, "_selected_action": [str(s.pk) for s in schedules], **extra}
    return client.post(LIST, data)


def _page(client, schedule) -> str:
    response = client.get(f"{LIST}{schedule.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def test_admin_changes_record_the_staff_user_and_show_on_the_schedules_page(acme, staff_client):
    type(acme["agent"]).objects.filter(pk=acme["agent"].pk).update(
        status=AgentStatus.ONLINE, last_heartbeat_at=timezone.now()
    )
    client = staff_client(acme["org"], Role.ADMIN)
    schedule = acme["schedule"]
    old_cron = schedule.cron_expression

    response = client.post(f"{LIST}{schedule.pk}/change/", schedule_form(acme))
    assert response.status_code == 302, form_errors(response)
    pause = _act(client, "pause_schedules", [schedule], apply="1", note="month-end freeze")
    assert pause.status_code == 302
    assert _act(client, "resume_schedules", [schedule]).status_code == 302
    assert _act(client, "run_now", [schedule], index="0").status_code == 302

    entries = list(AuditEntry.objects.filter(object_id=str(schedule.pk)).order_by("at", "action"))
    assert {e.action for e in entries} == {"edited", "paused", "resumed", "forced"}
    assert {(e.actor_kind, e.actor_label) for e in entries} == {("user", client.user.username)}
    edited = next(e for e in entries if e.action == "edited")
    assert edited.changes["cron_expression"] == [old_cron, "30 2 * * *"]
    assert edited.changes["name"] == ["acme schedule", "Nightly invoice sync"]
    paused = next(e for e in entries if e.action == "paused")
    assert paused.note == "month-end freeze"
    forced = next(e for e in entries if e.action == "forced")
    job = Job.objects.get(schedule=schedule, trigger=Trigger.FORCED)
    assert forced.note == f"job {job.id}"

    page = _page(client, schedule)
    assert "Audit trail" in page
    assert "month-end freeze" in page
    assert f"{old_cron} → 30 2 * * *" in page
    assert page.count(client.user.username) >= len(entries)


def test_an_admin_delete_is_recorded(acme, staff_client):
    client = staff_client(acme["org"], Role.ADMIN)
    schedule = acme["schedule"]
    response = client.post(f"{LIST}{schedule.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.object_label, entry.actor_label) == (
        "deleted",
        "acme schedule",
        client.user.username,
    )


def test_the_schedules_page_reads_its_trail_in_constant_queries(acme, staff_client):
    client = staff_client(acme["org"], Role.ADMIN)
    schedule = acme["schedule"]
    actor = Actor.user(client.user)

    def record(n: int) -> None:
        for i in range(n):
            audit_record(
                actor=actor,
                organization_id=schedule.organization_id,
                action="edited",
                object_type="schedule",
                object_id=schedule.pk,
                object_label=schedule.name,
                now=timezone.now(),
                changes={"max_retries": [i, i + 1]},
            )

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            _page(client, schedule)
        return len(ctx.captured_queries)

    record(1)
    one = count()
    record(9)
    assert count() == one


def test_a_token_rotation_in_the_admin_is_on_the_agents_page_without_the_token(acme, staff_client):
    client = staff_client(acme["org"], Role.ADMIN)
    agent = acme["agent"]
    response = client.post(
        "/app/agents/agent/", {"action": "rotate_tokens", "_selected_action": [str(agent.pk)]}
    )
    assert response.status_code == 200
    [(_, environment)] = response.context["issued"]
    token = environment["MIMIC_AGENT_TOKEN"]

    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor_label) == ("rotated", client.user.username)
    assert entry.changes == {"token": [SECRET_PLACEHOLDER, SECRET_PLACEHOLDER]}
    page = client.get(f"/app/agents/agent/{agent.pk}/change/").content.decode()
    assert "rotated" in page and client.user.username in page
    assert token not in page


def test_the_audit_admin_is_read_only_and_scoped(acme, globex, staff_client):
    mine = audit_record(
        actor=Actor.system("auto-pause"),
        organization_id=acme["org"].id,
        action="paused",
        object_type="schedule",
        object_id=acme["schedule"].pk,
        object_label="acme schedule",
        now=timezone.now(),
    )
    theirs = audit_record(
        actor=Actor.system("auto-pause"),
        organization_id=globex["org"].id,
        action="paused",
        object_type="schedule",
        object_id=globex["schedule"].pk,
        object_label="globex schedule",
        now=timezone.now(),
    )
    client = staff_client(acme["org"], Role.OWNER)
    listing = client.get("/app/billing/auditentry/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "acme schedule" in html and "globex schedule" not in html
    assert client.get(f"/app/billing/auditentry/{mine.pk}/change/").status_code == 200
    assert client.get(f"/app/billing/auditentry/{theirs.pk}/change/").status_code == 404
    assert client.get("/app/billing/auditentry/add/").status_code == 403
    assert (
        client.post(f"/app/billing/auditentry/{mine.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert AuditEntry.objects.count() == 2
