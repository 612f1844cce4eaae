"""The schedule form's start deadline, in the "When" fieldset: saved through the services, empty
= none, refused out of range (or not longer than the jitter) with the message on the field."""

from __future__ import annotations

import pytest
import time_machine

from billing.models import Role
from schedules.models import Schedule
from schedules.tests.admin.forms import schedule_form
from tests.fixtures import form_errors

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("control_plane_clock_is_time_machines"),
]

ADD = "/app/schedules/schedule/add/"
FROZEN = "2026-11-26T14:00:00Z"


@time_machine.travel(FROZEN, tick=False)
@pytest.mark.parametrize(("value", "stored"), [("20", 20), ("", None)])
def test_it_saves_the_start_deadline(acme, staff_client, value, stored):
    client = staff_client(acme["org"], Role.ADMIN)
    data = schedule_form(acme, name="Nine", cron_expression="0 9 * * *", timezone="UTC")
    response = client.post(ADD, {**data, "start_deadline_minutes": value})
    assert response.status_code == 302, form_errors(response)
    assert Schedule.objects.get(name="Nine").start_deadline_minutes == stored


@time_machine.travel(FROZEN, tick=False)
def test_it_is_in_the_when_fieldset(acme, staff_client):
    client = staff_client(acme["org"], Role.ADMIN)
    page = client.get(ADD)
    (when,) = [fields for name, fields in page.context["adminform"].fieldsets if name == "When"]
    assert "start_deadline_minutes" in when["fields"]
    assert "is not started late" in page.content.decode()


@time_machine.travel(FROZEN, tick=False)
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"start_deadline_minutes": "0"}, "greater than or equal to 1"),
        ({"start_deadline_minutes": "10081"}, "less than or equal to 10080"),
        ({"start_deadline_minutes": "1", "jitter_seconds": "60"}, "longer than the jitter"),
    ],
)
def test_it_refuses_a_bad_deadline_on_the_field(acme, staff_client, change, message):
    client = staff_client(acme["org"], Role.ADMIN)
    response = client.post(ADD, {**schedule_form(acme), **change})
    assert response.status_code == 200
    errors = form_errors(response)
    assert list(errors) == ["start_deadline_minutes"]
    assert message in errors["start_deadline_minutes"][0]
    assert Schedule.objects.count() == 1  # only the fixture's
