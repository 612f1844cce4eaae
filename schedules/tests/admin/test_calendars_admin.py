"""Calendars in the staff UI: the calendar admin (organization-scoped, dates refused on the field
with the entry named), a schedule's calendars in the When fieldset (its organization's only),
and the schedule page's preview marking the excluded occurrence."""

from __future__ import annotations

import json

import pytest
import time_machine

from billing.models import Role
from schedules.models import Calendar, Schedule
from schedules.tests.admin.forms import schedule_form
from tests.factories import CalendarFactory
from tests.fixtures import form_errors

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("control_plane_clock_is_time_machines"),
]

CALENDAR_ADD = "/app/schedules/calendar/add/"
ADD = "/app/schedules/schedule/add/"
FROZEN = "2026-11-26T14:00:00Z"


def test_it_adds_a_calendar(org, staff_client):
    client = staff_client(org, Role.ADMIN)
    dates = ["2026-12-25", {"from": "2026-12-31", "to": "2027-01-01"}]
    response = client.post(CALENDAR_ADD, {"name": "Holidays", "dates": json.dumps(dates)})
    assert response.status_code == 302, form_errors(response)
    calendar = Calendar.objects.get(name="Holidays")
    assert (calendar.organization, calendar.dates) == (org, dates)


def test_it_refuses_bad_dates_on_the_field(org, staff_client):
    client = staff_client(org, Role.ADMIN)
    dates = json.dumps(["2026-12-25", {"from": "2026-12-31", "to": "2026-12-30"}])
    response = client.post(CALENDAR_ADD, {"name": "Holidays", "dates": dates})
    assert response.status_code == 200
    errors = form_errors(response)
    assert list(errors) == ["dates"]
    assert errors["dates"][0].startswith("dates[1]: from (2026-12-31) must not be after")
    assert not Calendar.objects.exists()


def test_it_shows_only_the_callers_organizations_calendars(org, other_org, staff_client):
    CalendarFactory(organization=org, name="Ours")
    theirs = CalendarFactory(organization=other_org, name="Theirs")
    client = staff_client(org, Role.ADMIN)
    page = client.get("/app/schedules/calendar/").content.decode()
    assert "Ours" in page and "Theirs" not in page
    assert client.get(f"/app/schedules/calendar/{theirs.pk}/change/").status_code in (302, 404)


@time_machine.travel(FROZEN, tick=False)
def test_a_schedule_picks_its_organizations_calendars_in_the_when_fieldset(
    acme, other_org, staff_client
):
    ours = CalendarFactory(organization=acme["org"], name="Holidays")
    theirs = CalendarFactory(organization=other_org, name="Theirs")
    client = staff_client(acme["org"], Role.ADMIN)
    page = client.get(ADD)
    (when,) = [fields for name, fields in page.context["adminform"].fieldsets if name == "When"]
    assert "calendars" in when["fields"]
    assert "Holidays" in page.content.decode() and "Theirs" not in page.content.decode()

    refused = client.post(ADD, {**schedule_form(acme, name="Nine"), "calendars": [str(theirs.pk)]})
    assert refused.status_code == 200
    assert list(form_errors(refused)) == ["calendars"]
    assert not Schedule.objects.filter(name="Nine").exists()

    saved = client.post(ADD, {**schedule_form(acme, name="Nine"), "calendars": [str(ours.pk)]})
    assert saved.status_code == 302, form_errors(saved)
    assert list(Schedule.objects.get(name="Nine").calendars.all()) == [ours]


@time_machine.travel(FROZEN, tick=False)
def test_the_schedule_page_marks_the_excluded_occurrence(acme, staff_client):
    schedule = acme["schedule"]
    schedule.cron_expression, schedule.timezone = "0 9 * * *", "UTC"
    schedule.save()
    schedule.calendars.add(CalendarFactory(organization=acme["org"], dates=["2026-11-27"]))
    client = staff_client(acme["org"], Role.ADMIN)
    page = client.get(f"/app/schedules/schedule/{schedule.pk}/change/").content.decode()
    assert "not run: " in page
    skipped = page.split('class="mimic-skipped-runs"')[1].split("</ul>")[0]
    assert "2026-11-27" in skipped and "calendar_excluded" in skipped
