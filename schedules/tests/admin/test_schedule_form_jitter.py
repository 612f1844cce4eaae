"""The schedule form's jitter, in the "When" fieldset: saved through the services (the next run
stays the nominal occurrence), refused out of range with the message on the field."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from billing.models import Role
from schedules.jitter import jitter_offset
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
def test_it_saves_the_jitter(acme, staff_client):
    client = staff_client(acme["org"], Role.ADMIN)
    data = schedule_form(acme, name="Nine", cron_expression="0 9 * * *", timezone="UTC")
    response = client.post(ADD, {**data, "jitter_seconds": "300"})
    assert response.status_code == 302, form_errors(response)
    schedule = Schedule.objects.get(name="Nine")
    assert schedule.jitter_seconds == 300
    assert schedule.next_run_at.isoformat() == "2026-11-27T09:00:00+00:00"
    following = schedule.next_run_at + timedelta(days=1)
    offset = jitter_offset(schedule.id, schedule.next_run_at, 300, following)
    assert schedule.fire_at == schedule.next_run_at + offset


@time_machine.travel(FROZEN, tick=False)
def test_it_is_in_the_when_fieldset(acme, staff_client):
    client = staff_client(acme["org"], Role.ADMIN)
    page = client.get(ADD)
    (when,) = [fields for name, fields in page.context["adminform"].fieldsets if name == "When"]
    assert "jitter_seconds" in when["fields"]
    assert "spreads schedules that share a minute" in page.content.decode()


@time_machine.travel(FROZEN, tick=False)
@pytest.mark.parametrize(
    ("value", "message"),
    [("-1", "greater than or equal to 0"), ("3601", "less than or equal to 3600")],
)
def test_it_refuses_a_jitter_out_of_range_on_the_field(acme, staff_client, value, message):
    client = staff_client(acme["org"], Role.ADMIN)
    response = client.post(ADD, {**schedule_form(acme), "jitter_seconds": value})
    assert response.status_code == 200
    errors = form_errors(response)
    assert list(errors) == ["jitter_seconds"]
    assert message in errors["jitter_seconds"][0]
    assert Schedule.objects.count() == 1  # only the fixture's
