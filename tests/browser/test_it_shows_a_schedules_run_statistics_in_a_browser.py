"""A schedule's runtime statistics and its chart of recent runs in a real browser (SPEC §14
"Knowing what happened"): 40 seeded runs of the last days, the figures beside a bar per run
coloured by outcome (the stylesheet's colours, applied), each bar titled; the list's sparkline.
A screenshot of the page is saved under docs/screenshots/ for the README."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from agents.models import Agent, Controller, Job, JobStatus, Script, ScriptVersion
from billing.models import BillingStatus, Membership, Organization, Role
from schedules.models import Schedule
from tests.browser.conftest import screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "correct-horse-battery"
# An hourly bot's last 40 runs, oldest first: (outcome, seconds it ran or None).
RUNS = [
    *[(JobStatus.SUCCEEDED, 95 + (i * 37) % 80) for i in range(12)],
    (JobStatus.FAILED, 41),
    *[(JobStatus.SUCCEEDED, 110 + (i * 53) % 70) for i in range(9)],
    (JobStatus.TIMED_OUT, 300),
    *[(JobStatus.SUCCEEDED, 100 + (i * 29) % 90) for i in range(7)],
    (JobStatus.CANCELED, None),
    (JobStatus.LOST, 260),
    *[(JobStatus.SUCCEEDED, 90 + (i * 41) % 60) for i in range(6)],
    (JobStatus.FAILED, 33),
    (JobStatus.SUCCEEDED, 128),
]


def test_it_shows_a_schedules_run_statistics_in_a_browser(live_server, page):
    org = Organization.objects.create(
        name="Acme Operations", slug="acme-ops", billing_status=BillingStatus.ACTIVE
    )
    user = get_user_model().objects.create_user("ops", password=PASSWORD, is_staff=True)
    Membership.objects.create(user=user, organization=org, role=Role.VIEWER)
    agent = Agent.objects.create(
        organization=org, name="Invoice bot", slug="bot", controller=Controller.MANUAL
    )
    script = Script.objects.create(organization=org, name="Invoices", source="print('hi')")
    schedule = Schedule.objects.create(
        organization=org,
        name="Hourly invoice sync",
        script=script,
        agent=agent,
        cron_expression="0 * * * *",
        timezone="Europe/Paris",
        enabled=False,
    )
    now = timezone.now()
    for i, (status, seconds) in enumerate(RUNS):
        created = now - timedelta(hours=len(RUNS) - i)
        started = None if seconds is None else created + timedelta(seconds=2 + i % 5)
        Job.objects.create(
            organization=org,
            schedule=schedule,
            script=script,
            agent=agent,
            code=ScriptVersion.record(script),
            script_version=script.version,
            trigger="scheduled",
            scheduled_for=created,
            idempotency_key=f"stats-{i}",
            status=status,
            created_at=created,
            started_at=started,
            finished_at=created if started is None else started + timedelta(seconds=seconds),
        )
    base = live_server.url

    page.goto(f"{base}/app/schedules")
    page.fill("#id_username", "ops")
    page.fill("#id_password", PASSWORD)
    page.click('input[type="submit"]')
    page.wait_for_url("**/app/schedules/schedule/")
    # The list: the last ten outcomes of the row, oldest first.
    spark = page.locator("svg.mimic-sparkline rect")
    expect(spark).to_have_count(10)
    expect(spark.last).to_have_attribute("data-status", "succeeded")
    expect(spark.nth(8)).to_have_attribute("data-status", "failed")

    page.goto(f"{base}/app/schedules/schedule/{schedule.pk}/change/")
    stats = page.locator("dl.mimic-stats")
    expect(stats.locator('dd[data-stat="runs"]')).to_have_text("40")
    expect(stats.locator('dd[data-stat="success rate"]')).to_have_text("88%")  # 35 of 40
    expect(stats.locator('dd[data-stat="suggested max runtime"]')).not_to_have_text("—")

    chart = page.locator("svg.mimic-run-chart")
    expect(chart).to_be_visible()
    bars = chart.locator("rect.mimic-run")
    expect(bars).to_have_count(40)
    expect(chart.locator('rect[data-status="timed_out"]')).to_have_count(1)
    # The stylesheet's colours are applied (not the SVG's default black).
    fills = {
        status: chart.locator(f'rect[data-status="{status}"]').first.evaluate(
            "el => getComputedStyle(el).fill"
        )
        for status in ("succeeded", "failed", "timed_out")
    }
    assert fills == {
        "succeeded": "rgb(46, 139, 87)",
        "failed": "rgb(198, 40, 40)",
        "timed_out": "rgb(239, 143, 0)",
    }
    expect(bars.nth(12).locator("title")).to_contain_text("· failed")
    expect(page.locator(".mimic-run-legend")).to_contain_text("35 succeeded")

    chart.scroll_into_view_if_needed()
    screenshot(page, "schedule-stats.png")
