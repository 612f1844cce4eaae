"""/api/calendars/ (SPEC §14): CRUD of an organization's excluded dates, 400s naming the field
and the entry, other organizations' calendars a 404; a schedule's calendarIds are its own
organization's (another's id is a 400 naming calendarIds)."""

from __future__ import annotations

import pytest
import time_machine

from billing.models import Role
from schedules.models import Calendar, Schedule
from tests.factories import CalendarFactory, ScheduleFactory, schedule_body

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("control_plane_clock_is_time_machines"),
]

FROZEN = "2026-11-26T14:00:00Z"
HOLIDAYS = ["2026-12-25", {"from": "2026-12-31", "to": "2027-01-02"}]


def test_it_creates_reads_edits_and_deletes_a_calendar(api):
    created = api.post("/api/calendars/", {"name": "Holidays", "dates": HOLIDAYS}, format="json")
    assert created.status_code == 201, created.data
    body = created.json()
    assert set(body) == {"id", "name", "dates"}
    assert (body["name"], body["dates"]) == ("Holidays", HOLIDAYS)

    url = f"/api/calendars/{body['id']}/"
    assert api.get(url).json() == body
    assert [c["id"] for c in api.get("/api/calendars/").json()["results"]] == [body["id"]]

    edited = api.patch(url, {"dates": ["2027-12-25"]}, format="json")
    assert edited.status_code == 200, edited.data
    assert Calendar.objects.get(pk=body["id"]).dates == ["2027-12-25"]

    assert api.delete(url).status_code == 204
    assert not Calendar.objects.exists()


@pytest.mark.parametrize(
    ("dates", "message"),
    [
        (["2026-12-25", "2026-02-30"], "dates[1]: 2026-02-30 is not a date."),
        ([{"from": "2026-12-25", "to": "2026-12-24"}], "dates[0]: from (2026-12-25)"),
        ([{"from": "2026-12-25", "to": "2026-13-01"}], "dates[0].to:"),
        ("2026-12-25", "Must be a list"),
    ],
)
def test_bad_dates_are_a_400_naming_the_field_and_the_entry(
    api, dates, message, assert_no_rows_written
):
    with assert_no_rows_written():
        response = api.post("/api/calendars/", {"name": "Holidays", "dates": dates}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["dates"]
    assert response.json()["dates"][0].startswith(message), response.json()


def test_a_name_taken_in_the_organization_is_a_400_naming_name(api, org, other_org):
    CalendarFactory(organization=org, name="Holidays")
    CalendarFactory(organization=other_org, name="Freeze")
    taken = api.post("/api/calendars/", {"name": "Holidays"}, format="json")
    assert taken.status_code == 400
    assert "already exists" in taken.json()["name"][0]
    # Another organization's name is free here.
    assert api.post("/api/calendars/", {"name": "Freeze"}, format="json").status_code == 201


def test_another_organizations_calendar_is_a_404(api, other_org):
    theirs = CalendarFactory(organization=other_org, dates=["2026-12-25"])
    url = f"/api/calendars/{theirs.pk}/"
    assert api.get(url).status_code == 404
    assert api.patch(url, {"dates": []}, format="json").status_code == 404
    assert api.delete(url).status_code == 404
    assert api.get("/api/calendars/").json()["results"] == []
    assert Calendar.objects.get(pk=theirs.pk).dates == ["2026-12-25"]


def test_a_viewer_reads_calendars_but_does_not_write_them(org, client_for):
    viewer = client_for(org, Role.VIEWER)
    calendar = CalendarFactory(organization=org)
    assert viewer.get(f"/api/calendars/{calendar.pk}/").status_code == 200
    assert viewer.post("/api/calendars/", {"name": "x"}, format="json").status_code == 403


@time_machine.travel(FROZEN, tick=False)
def test_a_schedule_names_its_calendars_by_id(api, org):
    holidays = CalendarFactory(organization=org, dates=HOLIDAYS)
    body = schedule_body(org, name="Daily", cron_expression="0 9 * * *")
    created = api.post(
        "/api/schedules/", {**body, "calendarIds": [str(holidays.pk)]}, format="json"
    )
    assert created.status_code == 201, created.data
    assert created.json()["calendarIds"] == [str(holidays.pk)]
    schedule = Schedule.objects.get(pk=created.json()["id"])
    assert list(schedule.calendars.all()) == [holidays]

    cleared = api.patch(f"/api/schedules/{schedule.pk}/", {"calendarIds": []}, format="json")
    assert cleared.status_code == 200, cleared.data
    assert cleared.json()["calendarIds"] == []
    assert not schedule.calendars.exists()


@time_machine.travel(FROZEN, tick=False)
def test_another_organizations_calendar_id_is_a_400_naming_calendar_ids(
    api, org, other_org, assert_no_rows_written
):
    theirs = CalendarFactory(organization=other_org)
    schedule = ScheduleFactory(organization=org)
    body = schedule_body(org, name="Daily", cron_expression="0 9 * * *")
    with assert_no_rows_written():
        created = api.post(
            "/api/schedules/", {**body, "calendarIds": [str(theirs.pk)]}, format="json"
        )
    assert created.status_code == 400
    assert list(created.json()) == ["calendarIds"]

    edited = api.patch(
        f"/api/schedules/{schedule.pk}/", {"calendarIds": [str(theirs.pk)]}, format="json"
    )
    assert edited.status_code == 400
    assert list(edited.json()) == ["calendarIds"]
    assert not schedule.calendars.exists()


def test_the_schedule_list_reads_calendar_ids_in_one_query_for_the_page(
    api, org, django_assert_max_num_queries
):
    calendar = CalendarFactory(organization=org)
    for _ in range(3):
        ScheduleFactory(organization=org).calendars.add(calendar)
    with django_assert_max_num_queries(20) as few:
        api.get("/api/schedules/")
    for _ in range(20):
        ScheduleFactory(organization=org).calendars.add(calendar)
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = api.get("/api/schedules/").json()
    assert {tuple(s["calendarIds"]) for s in body["results"]} == {(str(calendar.pk),)}
