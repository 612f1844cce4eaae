"""Schedule actions in the staff UI (operator and above): run now (force) with one message per
schedule naming the job or the skip reason, dry run rendered on the page changing nothing,
pause with a note through an intermediate page, resume. Viewers see none of them."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from agents.models import AgentStatus, Job, Trigger
from billing.models import Role
from schedules.models import EventKind, Schedule, ScheduleEvent

pytestmark = pytest.mark.django_db

LIST = "/app/schedules/schedule/"


def _online(agent) -> None:
    type(agent).objects.filter(pk=agent.pk).update(
        status=AgentStatus.ONLINE, last_heartbeat_at=timezone.now()
    )


def _act(client, action: str, schedules, **extra):
    data = {"action": action, "_selected_action": [str(s.pk) for s in schedules], **extra}
    return client.post(LIST, data)


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_it_runs_a_schedule_now_and_names_the_job(acme, staff_client):
    _online(acme["agent"])
    client = staff_client(acme["org"], Role.OPERATOR)
    response = _act(client, "run_now", [acme["schedule"]], index="0")
    assert response.status_code == 302
    job = Job.objects.exclude(pk=acme["job"].pk).get(schedule=acme["schedule"])
    assert job.trigger == Trigger.FORCED
    [message] = _messages(response)
    assert f"/app/agents/job/{job.pk}/change/" in message
    assert "dispatched" in message


def test_it_reports_why_a_run_now_was_skipped(acme, staff_client):
    # The fixture's agent is offline with a manual controller: it cannot be started.
    client = staff_client(acme["org"], Role.OPERATOR)
    response = _act(client, "run_now", [acme["schedule"]], index="0")
    [message] = _messages(response)
    assert "not run — agent_unavailable" in message
    assert Job.objects.filter(schedule=acme["schedule"]).count() == 1  # only the fixture's


def test_it_renders_the_dry_run_report_on_the_page_and_changes_nothing(acme, staff_client):
    _online(acme["agent"])
    client = staff_client(acme["org"], Role.OPERATOR)
    schedule = acme["schedule"]
    before = (Job.objects.count(), ScheduleEvent.objects.count())
    next_run_at = schedule.next_run_at

    response = _act(client, "dry_run", [schedule], index="0")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Nothing was changed" in text
    assert "If the tick ran now" in text
    assert "<code>not_due</code>" in text  # the tick would not run it yet: it is not due
    assert "If you pressed “Run now” (force)" in text
    assert "Would trigger (1)" in text  # forced, every gate passes
    assert "&quot;dryRun&quot;: true" in text  # the API's report shape, for the curious

    schedule.refresh_from_db()
    assert (Job.objects.count(), ScheduleEvent.objects.count()) == before
    assert schedule.next_run_at == next_run_at
    assert schedule.last_run_at is None


def test_it_shows_skip_reasons_and_details_in_the_dry_run(acme, staff_client):
    Schedule.objects.filter(pk=acme["schedule"].pk).update(vault_keys=["NOT_THERE"])
    _online(acme["agent"])
    client = staff_client(acme["org"], Role.OPERATOR)
    text = _act(client, "dry_run", [acme["schedule"]], index="0").content.decode()
    assert "<code>vault_keys_missing</code>" in text
    assert "missing: NOT_THERE" in text


def test_the_dry_run_lists_every_gate_that_would_block_in_order(acme, staff_client):
    # The fixture's agent is offline with a manual controller (agent_unavailable); a missing
    # vault key blocks first. The page names both, in gate order, not only the first.
    Schedule.objects.filter(pk=acme["schedule"].pk).update(vault_keys=["NOT_THERE"])
    client = staff_client(acme["org"], Role.OPERATOR)
    text = _act(client, "dry_run", [acme["schedule"]], index="0").content.decode()
    expected = (
        '<td class="mimic-reasons"><code>vault_keys_missing</code> → '
        "<code>agent_unavailable</code></td>"
    )
    assert expected in text


def test_it_asks_for_a_note_then_pauses(acme, staff_client):
    client = staff_client(acme["org"], Role.OPERATOR)
    schedule = acme["schedule"]

    page = _act(client, "pause_schedules", [schedule], index="0")
    assert page.status_code == 200
    assert 'name="note"' in page.content.decode()
    schedule.refresh_from_db()
    assert schedule.enabled is True  # nothing until confirmed

    response = _act(client, "pause_schedules", [schedule], apply="1", note="Portal freeze")
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert (schedule.enabled, schedule.paused_note, schedule.next_run_at) == (
        False,
        "Portal freeze",
        None,
    )
    assert schedule.events.filter(kind=EventKind.PAUSED, detail="Portal freeze").exists()
    assert "paused: Portal freeze" in client.get(LIST).content.decode()


def test_it_resumes(acme, staff_client):
    client = staff_client(acme["org"], Role.OPERATOR)
    schedule = acme["schedule"]
    _act(client, "pause_schedules", [schedule], apply="1", note="x")
    response = _act(client, "resume_schedules", [schedule], index="0")
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert schedule.enabled is True
    assert schedule.next_run_at is not None
    assert schedule.events.filter(kind=EventKind.RESUMED).exists()
    assert "resumed" in _messages(response)[-1]


def test_it_returns_to_the_schedule_page_from_its_buttons(acme, staff_client):
    client = staff_client(acme["org"], Role.OPERATOR)
    schedule = acme["schedule"]
    page = client.get(f"/app/schedules/schedule/{schedule.pk}/change/").content.decode()
    for name in ("run_now", "dry_run", "pause"):
        assert f'name="{name}"' in page
    response = _act(client, "resume_schedules", [schedule], _return="change")
    assert response["Location"] == f"/app/schedules/schedule/{schedule.pk}/change/"


def test_it_hides_the_actions_from_viewers(acme, staff_client):
    _online(acme["agent"])
    client = staff_client(acme["org"], Role.VIEWER)
    text = client.get(LIST).content.decode()
    assert "run_now" not in text
    assert 'name="_selected_action"' not in text
    page = client.get(f"/app/schedules/schedule/{acme['schedule'].pk}/change/").content.decode()
    assert 'name="run_now"' not in page

    for action in ("run_now", "pause_schedules", "resume_schedules"):
        _act(client, action, [acme["schedule"]], index="0", apply="1")
    acme["schedule"].refresh_from_db()
    assert acme["schedule"].enabled is True
    assert Job.objects.filter(schedule=acme["schedule"]).count() == 1


def test_deleting_schedules_in_the_list_cancels_their_held_jobs(acme, staff_client):
    # The changelist's bulk delete goes through the services like the API's: a held job
    # (overlap policy, backfill) would otherwise wait forever for a schedule that is gone.
    held = Job.objects.filter(pk=acme["job"].pk)
    held.update(status="held")
    ScheduleEvent.objects.create(  # a schedule that ran has events: they go with it
        organization=acme["org"],
        schedule=acme["schedule"],
        kind=EventKind.TRIGGERED,
        created_at=timezone.now(),
    )
    client = staff_client(acme["org"], Role.ADMIN)
    response = _act(client, "delete_selected", [acme["schedule"]], post="yes")
    assert response.status_code == 302
    assert not Schedule.objects.filter(pk=acme["schedule"].pk).exists()
    job = held.get()
    assert (job.status, job.error_kind, job.schedule_id) == ("canceled", "canceled", None)


def test_an_admin_deletes_a_schedule_that_ran_from_its_page(acme, staff_client):
    ScheduleEvent.objects.create(
        organization=acme["org"],
        schedule=acme["schedule"],
        kind=EventKind.TRIGGERED,
        created_at=timezone.now(),
    )
    client = staff_client(acme["org"], Role.ADMIN)
    url = f"{LIST}{acme['schedule'].pk}/delete/"
    assert "Yes, I’m sure" in client.get(url).content.decode()
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not Schedule.objects.filter(pk=acme["schedule"].pk).exists()
    assert Job.objects.filter(pk=acme["job"].pk, schedule=None).exists()  # history stays
