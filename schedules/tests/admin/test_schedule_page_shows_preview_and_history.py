"""A schedule's page: grouped fieldsets, the cron in words and the next five runs in its
timezone, vault keys picked from the organization's names with missing ones flagged, and the
latest jobs and events (read-only, newest first, ten each)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from billing.models import Role
from schedules.models import Schedule
from tests.factories import JobFactory

# Time is frozen with time-machine: the control plane's clock follows it.
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("control_plane_clock_is_time_machines"),
]

NOW = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)


def _page(client, schedule) -> str:
    response = client.get(f"/app/schedules/schedule/{schedule.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def test_it_groups_the_form_what_when_guardrails_inputs(acme, staff_client):
    text = _page(staff_client(acme["org"], Role.ADMIN), acme["schedule"])
    headings = re.findall(r'<h2 id="fieldset-[^"]*" class="fieldset-heading">([^<]+)</h2>', text)
    assert headings[:4] == ["What", "When", "Guardrails", "Inputs"]
    assert "1..1320, default 720." in text  # guardrail ranges as help text
    assert "/api/schedules/preview" in text  # the live preview's endpoint
    assert "schedules/admin/cron_preview.js" in text


@time_machine.travel(NOW, tick=False)
def test_it_shows_the_next_five_runs_in_the_schedules_timezone(acme, staff_client):
    schedule = acme["schedule"]
    Schedule.objects.filter(pk=schedule.pk).update(
        cron_expression="30 2 * * *", timezone="America/New_York"
    )
    text = _page(staff_client(acme["org"], Role.VIEWER), schedule)
    assert "At 02:30 AM" in text
    runs = re.search(r'<ol class="mimic-next-runs">(.*?)</ol>', text, re.S).group(1)
    items = re.findall(r"<li>(.*?)</li>", runs, re.S)
    assert len(items) == 5
    assert items[0].startswith("2026-11-27 02:30 EST")
    assert "2026-11-27 07:30 UTC" in items[0]


@time_machine.travel(NOW, tick=False)
def test_it_lists_the_occurrence_where_the_schedule_ends_as_not_run(acme, staff_client):
    schedule = acme["schedule"]
    Schedule.objects.filter(pk=schedule.pk).update(
        cron_expression="30 2 * * *",
        timezone="America/New_York",
        ends_at=datetime(2026, 11, 29, 7, 30, tzinfo=UTC),
    )
    text = _page(staff_client(acme["org"], Role.VIEWER), schedule)
    runs = re.search(r'<ol class="mimic-next-runs">(.*?)</ol>', text, re.S).group(1)
    assert len(re.findall(r"<li>", runs)) == 2  # the 27th and the 28th
    skipped = re.search(r'<ul class="mimic-skipped-runs">(.*?)</ul>', text, re.S).group(1)
    items = re.findall(r"<li>(.*?)</li>", skipped, re.S)
    assert len(items) == 1
    assert items[0].startswith("not run: 2026-11-29 02:30 EST")
    assert "2026-11-29 07:30 UTC" in items[0]
    assert items[0].endswith("ended (past endsAt)")


@time_machine.travel(NOW, tick=False)
def test_it_lists_no_skipped_run_when_none_is_skipped(acme, staff_client):
    text = _page(staff_client(acme["org"], Role.VIEWER), acme["schedule"])
    assert '<ol class="mimic-next-runs">' in text
    assert "mimic-skipped-runs" not in text


def test_it_offers_the_organizations_vault_keys_and_flags_missing_ones(acme, staff_client):
    schedule = acme["schedule"]
    Schedule.objects.filter(pk=schedule.pk).update(vault_keys=["ACME_PASSWORD", "SAP_TOKEN"])
    response = staff_client(acme["org"], Role.ADMIN).get(
        f"/app/schedules/schedule/{schedule.pk}/change/"
    )
    field = response.context["adminform"].form.fields["vault_keys"]
    assert field.choices == [
        ("ACME_PASSWORD", "ACME_PASSWORD"),
        ("SAP_TOKEN", "SAP_TOKEN — missing from the vault"),
    ]
    text = response.content.decode()
    assert "Missing from the vault: SAP_TOKEN" in text
    assert '<span class="mimic-missing">SAP_TOKEN (missing)</span>' in text
    assert "s3cret" not in text  # names only, never a value


def test_it_shows_the_latest_ten_jobs_and_events_newest_first(acme, staff_client):
    schedule = acme["schedule"]
    base = datetime.now(UTC) + timedelta(days=1)  # newer than the fixture's job and event
    for i in range(12):
        job = JobFactory(
            schedule=schedule,
            created_at=base + timedelta(hours=i),
            idempotency_key=f"history-{i}",
            error_message=f"marker-job-{i:02d}",
        )
        schedule.events.create(
            organization=schedule.organization,
            kind="skipped",
            reason="concurrency_limit",
            detail=f"marker-event-{i:02d}",
            job=job,
            created_at=base + timedelta(hours=i),
        )
    text = _page(staff_client(acme["org"], Role.VIEWER), schedule)
    jobs = re.findall(r"marker-job-(\d\d)", text)
    events = re.findall(r"marker-event-(\d\d)", text)
    assert jobs == [f"{i:02d}" for i in range(11, 1, -1)]
    assert events == [f"{i:02d}" for i in range(11, 1, -1)]


def test_it_renders_the_page_in_a_constant_number_of_queries(
    acme, staff_client, django_assert_max_num_queries
):
    client = staff_client(acme["org"], Role.ADMIN)
    schedule = acme["schedule"]
    for i in range(30):
        JobFactory(schedule=schedule, idempotency_key=f"q-{i}")
    with django_assert_max_num_queries(25):
        _page(client, schedule)
