"""jitterSeconds through the API: written and read, default 0, nextRunAt still the nominal
occurrence; out of range a 400 naming the field with no row written. Also the two inputs that
used to answer 500 or break the schema: a NUL in variables, a year before 1000."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from schedules.jitter import jitter_offset
from schedules.models import Schedule
from tests.factories import ScheduleFactory, schedule_body

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("control_plane_clock_is_time_machines"),
]

FROZEN = "2026-11-26T14:00:00Z"


def nine_sharp(org):
    """A new schedule's body, daily at 9:00 UTC."""
    return schedule_body(org, name="Nine sharp", cron_expression="0 9 * * *")


@time_machine.travel(FROZEN, tick=False)
def test_it_writes_and_reads_the_jitter_with_the_nominal_next_run(api, org):
    response = api.post("/api/schedules/", {**nine_sharp(org), "jitterSeconds": 300}, format="json")

    assert response.status_code == 201, response.data
    body = response.json()
    assert (body["jitterSeconds"], body["nextRunAt"]) == (300, "2026-11-27T09:00:00Z")
    schedule = Schedule.objects.get(pk=body["id"])
    assert schedule.jitter_seconds == 300
    following = schedule.next_run_at + timedelta(days=1)
    offset = jitter_offset(schedule.id, schedule.next_run_at, 300, following)
    assert schedule.fire_at == schedule.next_run_at + offset
    assert "fireAt" not in body  # the tick's business; the API speaks of occurrences
    read = api.get(f"/api/schedules/{schedule.pk}/").json()
    assert read["jitterSeconds"] == 300


@time_machine.travel(FROZEN, tick=False)
def test_it_defaults_to_no_jitter(api, org):
    response = api.post("/api/schedules/", nine_sharp(org), format="json")
    assert response.status_code == 201, response.data
    assert response.json()["jitterSeconds"] == 0
    schedule = Schedule.objects.get(pk=response.json()["id"])
    assert schedule.fire_at == schedule.next_run_at


@time_machine.travel(FROZEN, tick=False)
def test_an_edit_of_the_jitter_keeps_the_next_run(api, org):
    schedule = ScheduleFactory(organization=org, cron_expression="0 9 * * *", timezone="UTC")
    next_run = schedule.next_run_at

    response = api.patch(f"/api/schedules/{schedule.pk}/", {"jitterSeconds": 3600}, format="json")

    assert response.status_code == 200, response.data
    schedule.refresh_from_db()
    assert (schedule.jitter_seconds, schedule.next_run_at) == (3600, next_run)
    following = next_run + timedelta(days=1)
    assert schedule.fire_at == next_run + jitter_offset(schedule.id, next_run, 3600, following)


BAD = [
    ({"jitterSeconds": -1}, "jitterSeconds", "greater than or equal to 0"),
    ({"jitterSeconds": 3601}, "jitterSeconds", "less than or equal to 3600"),
    ({"jitterSeconds": "soon"}, "jitterSeconds", "valid integer"),
    ({"variables": {"a\u0000": 1}}, "variables", "nul"),
    ({"variables": {"a": ["x\u0000"]}}, "variables", "nul"),
]


@time_machine.travel(FROZEN, tick=False)
@pytest.mark.parametrize(("change", "field", "message"), BAD)
def test_it_refuses_bad_input_naming_the_field(
    api, org, assert_no_rows_written, change, field, message
):
    body = {**nine_sharp(org), **change}
    with assert_no_rows_written():
        response = api.post("/api/schedules/", body, format="json")
    assert response.status_code == 400, response.data
    errors = response.json()
    assert list(errors) == [field]
    assert message.lower() in str(errors[field]).lower()


@time_machine.travel(FROZEN, tick=False)
def test_an_early_instant_is_written_with_a_four_digit_year(api, org):
    response = api.post(
        "/api/schedules/", {**nine_sharp(org), "startsAt": "0096-12-21T22:31:39Z"}, format="json"
    )
    assert response.status_code == 201, response.data
    assert response.json()["startsAt"] == "0096-12-21T22:31:39Z"
