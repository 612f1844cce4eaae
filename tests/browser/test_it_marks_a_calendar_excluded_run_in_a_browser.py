"""A calendar and a jittered schedule made in a real browser (SPEC §14 "When it runs"): the
staff user adds a calendar of excluded dates, creates a schedule that names it with
jitterSeconds, and the schedule's page marks the excluded occurrences (calendar_excluded) beside
its next runs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from agents.models import Agent, Controller, Script
from billing.models import BillingStatus, Membership, Organization, Role
from schedules import cron
from schedules.calendars import local_date
from schedules.models import Calendar, Schedule

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "correct-horse-battery"


def test_it_marks_a_calendar_excluded_run_in_a_browser(live_server, page):
    org = Organization.objects.create(
        name="Acme Operations", slug="acme-ops", billing_status=BillingStatus.ACTIVE
    )
    user = get_user_model().objects.create_user("ops", password=PASSWORD, is_staff=True)
    Membership.objects.create(user=user, organization=org, role=Role.ADMIN)
    agent = Agent.objects.create(
        organization=org, name="Bot", slug="bot", controller=Controller.MANUAL, auto_start=False
    )
    script = Script.objects.create(organization=org, name="Sync", source="print('hi')")
    base = live_server.url

    page.goto(f"{base}/app/schedules")
    page.fill("#id_username", "ops")
    page.fill("#id_password", PASSWORD)
    page.click('input[type="submit"]')
    page.wait_for_url("**/app/schedules/schedule/")

    # -- a calendar excluding the local days of the next two 09:00 Auckland runs ------------
    first = cron.next_after("0 9 * * *", "Pacific/Auckland", timezone.now())
    day = local_date(first, "Pacific/Auckland")
    excluded = {"from": day.isoformat(), "to": (day + timedelta(days=1)).isoformat()}
    page.goto(f"{base}/app/schedules/calendar/add/")
    page.fill("#id_name", "Holidays")
    page.fill("#id_dates", json.dumps([excluded]))
    page.click('input[name="_save"]')
    expect(page.locator("ul.messagelist")).to_contain_text("was added successfully")
    calendar = Calendar.objects.get(name="Holidays")
    assert calendar.dates == [excluded]

    # -- a schedule naming it, with jitter -------------------------------------------------
    page.goto(f"{base}/app/schedules/schedule/add/")
    page.fill("#id_name", "Morning report")
    page.select_option("#id_script", str(script.pk))
    page.select_option("#id_agent", str(agent.pk))
    page.fill("#id_timezone", "Pacific/Auckland")
    page.fill("#id_cron_expression", "0 9 * * *")
    page.fill("#id_jitter_seconds", "300")
    page.check(f'input[name="calendars"][value="{calendar.pk}"]')
    page.click('input[name="_continue"]')
    expect(page.locator("ul.messagelist")).to_contain_text("was added successfully")

    schedule = Schedule.objects.get(name="Morning report")
    assert list(schedule.calendars.all()) == [calendar]
    assert schedule.jitter_seconds == 300
    # The saved schedule's preview: five runs, and the excluded occurrences marked (at least
    # the second of the two days is still ahead, whenever this runs).
    expect(page.locator("ol.mimic-next-runs li")).to_have_count(5)
    skipped = page.locator("ul.mimic-skipped-runs li")
    expect(skipped.last).to_contain_text("calendar_excluded")
    expect(skipped.last).to_contain_text((day + timedelta(days=1)).isoformat())
