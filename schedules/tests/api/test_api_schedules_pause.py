"""Pause with a note, resume, and a schedule's history (events) and jobs."""

from __future__ import annotations

import pytest
import time_machine

from billing.models import Role
from schedules.models import EventKind, Schedule, ScheduleEvent
from tests.factories import JobFactory, ScheduleFactory

# Time is frozen with time-machine: the control plane's clock follows it.
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("control_plane_clock_is_time_machines"),
]


@time_machine.travel("2026-11-26T14:00:00Z", tick=False)
def test_it_pauses_with_a_note_and_records_it(org, client_for):
    operator = client_for(org, Role.OPERATOR)
    schedule = ScheduleFactory(organization=org)

    response = operator.post(
        f"/api/schedules/{schedule.id}/pause", {"note": "portal down until Monday"}, format="json"
    )

    assert response.status_code == 200, response.data
    data = response.json()
    assert (data["enabled"], data["nextRunAt"]) == (False, None)
    assert data["pausedNote"] == "portal down until Monday"
    assert data["pausedAt"] == "2026-11-26T14:00:00Z"
    event = ScheduleEvent.objects.get(schedule=schedule)
    assert (event.kind, event.detail) == (EventKind.PAUSED, "portal down until Monday")
    assert event.organization_id == org.id


def test_it_pauses_without_a_body(api, org):
    schedule = ScheduleFactory(organization=org)

    response = api.post(f"/api/schedules/{schedule.id}/pause")

    assert response.status_code == 200
    assert response.json()["pausedNote"] == ""


@time_machine.travel("2026-11-26T14:07:00Z", tick=False)
def test_it_resumes_from_now_and_records_it(org, client_for):
    operator = client_for(org, Role.OPERATOR)
    schedule = ScheduleFactory(organization=org, cron_expression="*/15 * * * *")
    operator.post(f"/api/schedules/{schedule.id}/pause", {"note": "x"}, format="json")

    response = operator.post(f"/api/schedules/{schedule.id}/resume")

    assert response.status_code == 200, response.data
    data = response.json()
    assert data["enabled"] is True
    assert data["nextRunAt"] == "2026-11-26T14:15:00Z"
    assert data["pausedNote"] == "" and data["pausedAt"] is None
    kinds = list(ScheduleEvent.objects.filter(schedule=schedule).values_list("kind", flat=True))
    assert sorted(kinds) == [EventKind.PAUSED, EventKind.RESUMED]


def test_it_records_nothing_when_resuming_an_enabled_schedule(api, org):
    schedule = ScheduleFactory(organization=org)

    response = api.post(f"/api/schedules/{schedule.id}/resume")

    assert response.status_code == 200
    assert not ScheduleEvent.objects.exists()


def test_it_refuses_pause_to_a_viewer(org, client_for):
    viewer = client_for(org, Role.VIEWER)
    schedule = ScheduleFactory(organization=org)

    assert viewer.post(f"/api/schedules/{schedule.id}/pause").status_code == 403
    assert viewer.post(f"/api/schedules/{schedule.id}/resume").status_code == 403
    assert Schedule.objects.get(pk=schedule.pk).enabled is True


@pytest.mark.parametrize("note", ["x" * 501, 42, ["a"]])
def test_it_rejects_a_bad_note_and_changes_nothing(api, org, assert_no_rows_written, note):
    schedule = ScheduleFactory(organization=org)

    with assert_no_rows_written():
        response = api.post(f"/api/schedules/{schedule.id}/pause", {"note": note}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["note"]
    assert Schedule.objects.get(pk=schedule.pk).enabled is True


def test_it_lists_events_newest_first_in_the_spec_shape(api, org):
    schedule = ScheduleFactory(organization=org)
    job = JobFactory(schedule=schedule)
    ScheduleEvent.objects.create(
        organization=org,
        schedule=schedule,
        kind="triggered",
        scheduled_for="2026-11-26T13:00:00Z",
        job=job,
        trigger="scheduled",
        created_at="2026-11-26T13:00:01Z",
    )
    ScheduleEvent.objects.create(
        organization=org,
        schedule=schedule,
        kind="skipped",
        reason="vault_keys_missing",
        detail="missing: SAP_PASSWORD",
        scheduled_for="2026-11-26T14:00:00Z",
        trigger="scheduled",
        created_at="2026-11-26T14:00:01Z",
    )
    ScheduleEvent.objects.create(
        organization=org,
        schedule=ScheduleFactory(organization=org),
        kind="paused",
        created_at="2026-11-26T15:00:00Z",
    )

    response = api.get(f"/api/schedules/{schedule.id}/events/")

    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 2
    newest, oldest = data["results"]
    assert newest == {
        "id": newest["id"],
        "kind": "skipped",
        "reason": "vault_keys_missing",
        "detail": "missing: SAP_PASSWORD",
        "scheduledFor": "2026-11-26T14:00:00Z",
        "jobId": None,
        "trigger": "scheduled",
        "createdAt": "2026-11-26T14:00:01Z",
    }
    assert (oldest["kind"], oldest["reason"], oldest["jobId"]) == ("triggered", None, str(job.id))


def test_it_lists_a_schedules_jobs(api, org):
    schedule = ScheduleFactory(organization=org)
    mine = [JobFactory(schedule=schedule) for _ in range(3)]
    JobFactory(schedule=ScheduleFactory(organization=org))

    response = api.get(f"/api/schedules/{schedule.id}/jobs/")

    assert response.status_code == 200
    assert {j["id"] for j in response.json()["results"]} == {str(j.id) for j in mine}
