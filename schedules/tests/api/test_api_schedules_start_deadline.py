"""startDeadlineMinutes through the API (SPEC §14): written and read, null by default (no
deadline), cleared with null; out of range, or not longer than the jitter, a 400 naming the
field with no row written."""

from __future__ import annotations

import pytest
import time_machine

from schedules.models import Schedule
from tests.factories import ScheduleFactory, schedule_body

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("control_plane_clock_is_time_machines"),
]

FROZEN = "2026-11-26T14:00:00Z"


def nine_sharp(org):
    return schedule_body(org, name="Nine sharp", cron_expression="0 9 * * *")


@time_machine.travel(FROZEN, tick=False)
def test_it_writes_and_reads_the_start_deadline(api, org):
    body = {**nine_sharp(org), "startDeadlineMinutes": 15}
    response = api.post("/api/schedules/", body, format="json")
    assert response.status_code == 201, response.data
    assert response.json()["startDeadlineMinutes"] == 15
    schedule = Schedule.objects.get(pk=response.json()["id"])
    assert schedule.start_deadline_minutes == 15
    assert api.get(f"/api/schedules/{schedule.pk}/").json()["startDeadlineMinutes"] == 15


@time_machine.travel(FROZEN, tick=False)
def test_it_defaults_to_no_deadline_and_can_be_cleared(api, org):
    response = api.post("/api/schedules/", nine_sharp(org), format="json")
    assert response.json()["startDeadlineMinutes"] is None

    schedule = ScheduleFactory(organization=org, start_deadline_minutes=30)
    response = api.patch(
        f"/api/schedules/{schedule.pk}/", {"startDeadlineMinutes": None}, format="json"
    )
    assert response.status_code == 200, response.data
    schedule.refresh_from_db()
    assert schedule.start_deadline_minutes is None


@time_machine.travel(FROZEN, tick=False)
def test_an_edit_of_the_deadline_keeps_the_next_run(api, org):
    schedule = ScheduleFactory(organization=org, cron_expression="0 9 * * *")
    next_run = schedule.next_run_at
    response = api.patch(
        f"/api/schedules/{schedule.pk}/", {"startDeadlineMinutes": 5}, format="json"
    )
    assert response.status_code == 200, response.data
    schedule.refresh_from_db()
    assert (schedule.start_deadline_minutes, schedule.next_run_at) == (5, next_run)


BAD = [
    ({"startDeadlineMinutes": 0}, "greater than or equal to 1"),
    ({"startDeadlineMinutes": 10081}, "less than or equal to 10080"),
    ({"startDeadlineMinutes": "soon"}, "valid integer"),
    ({"startDeadlineMinutes": 5, "jitterSeconds": 300}, "longer than the jitter"),
]


@time_machine.travel(FROZEN, tick=False)
@pytest.mark.parametrize(("change", "message"), BAD)
def test_it_refuses_bad_input_naming_the_field(api, org, assert_no_rows_written, change, message):
    body = {**nine_sharp(org), **change}
    with assert_no_rows_written():
        response = api.post("/api/schedules/", body, format="json")
    assert response.status_code == 400, response.data
    errors = response.json()
    assert list(errors) == ["startDeadlineMinutes"]
    assert message.lower() in str(errors["startDeadlineMinutes"]).lower()


@time_machine.travel(FROZEN, tick=False)
def test_a_deadline_just_longer_than_the_jitter_is_accepted(api, org):
    body = {**nine_sharp(org), "startDeadlineMinutes": 5, "jitterSeconds": 299}
    response = api.post("/api/schedules/", body, format="json")
    assert response.status_code == 201, response.data
