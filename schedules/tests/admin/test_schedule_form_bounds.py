"""The schedule form's "When": a one-time run, start and end bounds, a run budget — saved
through the services, refused with the message on the field, the stop reason shown where the
next run would be."""

from __future__ import annotations

import pytest
import time_machine

from billing.models import Role
from schedules.models import Schedule, StopReason
from schedules.tests.admin.forms import schedule_form
from tests.fixtures import form_errors

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("control_plane_clock_is_time_machines"),
]

ADD = "/app/schedules/schedule/add/"
FROZEN = "2026-11-26T14:00:00Z"


def split(name: str, date: str, time: str) -> dict:
    """The admin's split date/time inputs (read in UTC, the site's timezone)."""
    return {f"{name}_0": date, f"{name}_1": time}


@time_machine.travel(FROZEN, tick=False)
def test_it_saves_a_one_time_run(acme, staff_client):
    client = staff_client(acme["org"], Role.ADMIN)
    data = schedule_form(acme, name="Once", cron_expression="", timezone="UTC")
    response = client.post(ADD, {**data, **split("run_at", "2026-11-27", "08:00:00")})
    assert response.status_code == 302, form_errors(response)
    schedule = Schedule.objects.get(name="Once")
    assert schedule.run_at.isoformat() == "2026-11-27T08:00:00+00:00"
    assert schedule.next_run_at == schedule.run_at


@time_machine.travel(FROZEN, tick=False)
def test_it_saves_bounds_and_a_budget(acme, staff_client):
    client = staff_client(acme["org"], Role.ADMIN)
    data = {
        **schedule_form(acme, name="Bounded", cron_expression="0 * * * *", timezone="UTC"),
        **split("starts_at", "2026-11-27", "09:00:00"),
        **split("ends_at", "2026-11-28", "00:00:00"),
        "remaining_runs": "3",
    }
    response = client.post(ADD, data)
    assert response.status_code == 302, form_errors(response)
    schedule = Schedule.objects.get(name="Bounded")
    assert schedule.remaining_runs == 3
    assert schedule.next_run_at.isoformat() == "2026-11-27T09:00:00+00:00"


CASES = [
    ({**split("run_at", "2026-11-27", "08:00:00")}, "run_at", "not both"),
    ({"cron_expression": ""}, "cron_expression", "cron expression"),
    (
        {"cron_expression": "", **split("run_at", "2026-11-26", "13:00:00")},
        "run_at",
        "future",
    ),
    (
        {**split("starts_at", "2026-11-28", "00:00:00"), **split("ends_at", "2026-11-27", "0:00")},
        "ends_at",
        "after starts at",
    ),
    ({"remaining_runs": "0"}, "remaining_runs", "1 or more"),
]


@time_machine.travel(FROZEN, tick=False)
@pytest.mark.parametrize(("change", "field", "message"), CASES)
def test_it_refuses_bad_timing_on_the_field(acme, staff_client, change, field, message):
    client = staff_client(acme["org"], Role.ADMIN)
    response = client.post(ADD, {**schedule_form(acme), **change})
    assert response.status_code == 200
    errors = form_errors(response)
    assert list(errors) == [field]
    assert message.lower() in errors[field][0].lower(), errors[field]
    assert Schedule.objects.count() == 1  # only the fixture's


def test_the_list_and_the_page_say_why_a_schedule_has_no_next_run(acme, staff_client):
    schedule = acme["schedule"]
    Schedule.objects.filter(pk=schedule.pk).update(
        next_run_at=None, stopped_reason=StopReason.ENDED, ends_at="2026-01-01T00:00:00Z"
    )
    client = staff_client(acme["org"], Role.ADMIN)
    listing = client.get("/app/schedules/schedule/").content.decode()
    assert "stopped: ended (past endsAt)" in listing
    page = client.get(f"/app/schedules/schedule/{schedule.pk}/change/").content.decode()
    assert "stopped: ended (past endsAt)" in page
