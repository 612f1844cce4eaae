"""The staff UI in a real browser, end to end (SPEC §11): log in, replace a vault value (never
shown), create a schedule through the form (an invalid cron refused first), see its preview,
run it now and watch the job succeed on a real agent process, dry-run it and read the report,
pause it with a note and resume it. Screenshots of the list, the form and a job page are saved
under docs/screenshots/ for the README."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from agents.models import FINISHED_JOB_STATUSES, Agent, Controller, Job, JobStatus, Script
from billing.models import BillingStatus, Membership, Organization, Role
from schedules import services
from schedules.models import Schedule
from tests.browser.conftest import screenshot
from tests.process.helpers import FAST_CONTROL_PLANE, AgentProcess, runtime_env
from vault.models import VaultEntry
from vault.selectors import vault_decrypt_for_job
from vault.services import vault_set

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "correct-horse-battery"
OLD_SECRET = "old-portal-s3cret"
NEW_SECRET = "n3w-portal-s3cret-2026"
FINISHED = {str(s) for s in FINISHED_JOB_STATUSES}

SCRIPT = """\
import json, sys
payload = json.load(sys.stdin)
print("Logging in to the invoice portal, region " + payload["variables"]["region"])
secret = payload["secrets"]["PORTAL_PASSWORD"]
print("password=" + secret)
print("secret_length=" + str(len(secret)))
print("Downloaded 42 invoices; assertions passed")
"""


@pytest.fixture
def world(transactional_db, live_server, settings, tmp_path):
    org = Organization.objects.create(
        name="Acme Operations", slug="acme-ops", billing_status=BillingStatus.ACTIVE
    )
    user = get_user_model().objects.create_user("ops", password=PASSWORD, is_staff=True)
    Membership.objects.create(user=user, organization=org, role=Role.ADMIN)
    # A manual agent: only the process this test starts can run its jobs.
    agent = Agent.objects.create(
        organization=org,
        name="Invoice bot 1",
        slug="invoice-bot-1",
        controller=Controller.MANUAL,
        auto_start=False,
    )
    script = Script.objects.create(organization=org, name="Invoice portal sync", source=SCRIPT)
    vault_set(organization=org, key="PORTAL_PASSWORD", value=OLD_SECRET)
    vault_set(organization=org, key="SAP_PASSWORD", value="unused")
    # The live server is the control plane the agent runtime talks to.
    for name, value in FAST_CONTROL_PLANE.items():
        setattr(settings, name, value)
    settings.AGENT_CONTROL_PLANE_URL = live_server.url
    process = AgentProcess(agent, tmp_path / "agent.log", runtime_env(agent))
    try:
        yield {"org": org, "agent": agent, "script": script, "process": process}
    finally:
        process.stop()


def _neighbours(world) -> None:
    """A few other schedules so the list screenshot shows the columns doing their job."""
    now = timezone.now()
    common = {"organization": world["org"], "script": world["script"], "agent": world["agent"]}
    month_end = services.schedule_create(
        now=now,
        name="Month-end close report",
        cron_expression="0 18 L * *",
        timezone="America/New_York",
        **common,
    )
    Schedule.objects.filter(pk=month_end.pk).update(last_run_at=now, last_run_status="failed")
    services.schedule_create(
        now=now,
        name="First-Monday payroll export",
        cron_expression="0 9 * * MON#1",
        timezone="Asia/Tokyo",
        **common,
    )
    health = services.schedule_create(
        now=now, name="Portal health check", cron_expression="*/15 * * * *", **common
    )
    Schedule.objects.filter(pk=health.pk).update(last_run_at=now, last_run_status="timed_out")
    services.schedule_pause(schedule=health, now=now, note="Vendor maintenance until Monday")


def _run_action_from_list(page, schedule_id, action: str) -> None:
    page.check(f'input[name="_selected_action"][value="{schedule_id}"]')
    page.select_option('select[name="action"]', action)
    page.click('button[name="index"]')


def test_it_creates_runs_and_pauses_a_schedule_in_a_browser(live_server, page, world):
    base = live_server.url
    started = time.monotonic()

    # -- log in; /app/schedules is the schedules list -------------------------------------
    page.goto(f"{base}/app/schedules")
    page.fill("#id_username", "ops")
    page.fill("#id_password", PASSWORD)
    page.click('input[type="submit"]')
    page.wait_for_url("**/app/schedules/schedule/")
    expect(page.locator("#content h1")).to_contain_text("schedule")
    # The navigation sidebar folded, as a returning user may keep it: wider pages to screenshot.
    page.evaluate("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")

    # -- the vault: a value is set or replaced, never shown ---------------------------------
    page.goto(f"{base}/app/vault/vaultentry/")
    assert OLD_SECRET not in page.content()
    page.click("text=PORTAL_PASSWORD")
    value = page.locator("#id_value")
    expect(value).to_have_attribute("type", "password")
    expect(value).to_have_value("")
    assert OLD_SECRET not in page.content()
    value.fill(NEW_SECRET)
    page.click('input[name="_save"]')
    expect(page.locator("ul.messagelist")).to_contain_text("PORTAL_PASSWORD")
    assert NEW_SECRET not in page.content()
    entry = VaultEntry.objects.get(organization=world["org"], key="PORTAL_PASSWORD")
    assert NEW_SECRET not in str(entry.ciphertext)
    assert vault_decrypt_for_job(organization_id=world["org"].pk, keys=["PORTAL_PASSWORD"]) == {
        "PORTAL_PASSWORD": NEW_SECRET
    }

    # -- create a schedule: an invalid cron is refused first --------------------------------
    page.goto(f"{base}/app/schedules/schedule/")
    page.click(".object-tools a.addlink")
    page.fill("#id_name", "Nightly invoice sync")
    page.select_option("#id_script", str(world["script"].pk))
    page.select_option("#id_agent", str(world["agent"].pk))
    page.fill("#id_timezone", "Europe/Paris")
    page.fill("#id_cron_expression", "*/5 * * *")
    # The live preview already says what is wrong…
    expect(page.locator("#mimic-cron-preview .mimic-preview-error")).to_contain_text(
        "Expected 5 fields"
    )
    page.click('input[name="_save"]')
    # …and the server refuses it with the same readable message on the field.
    expect(page.locator("p.errornote")).to_be_visible()
    expect(page.locator(".field-cron_expression .errorlist")).to_contain_text(
        "Expected 5 fields (minute hour day-of-month month day-of-week), got 4."
    )
    assert not Schedule.objects.filter(name="Nightly invoice sync").exists()

    # -- fix it: the preview shows the cron in words and the next five runs ------------------
    page.fill("#id_cron_expression", "30 2 * * 1-5")
    preview = page.locator("#mimic-cron-preview")
    expect(preview.locator(".mimic-preview-description")).to_have_text(
        "At 02:30 AM, Monday through Friday"
    )
    expect(preview.locator("li")).to_have_count(5)
    expect(preview.locator("li").first).to_contain_text("02:30")
    page.fill("#id_variables", '{"region": "eu-west"}')
    page.check('input[name="vault_keys"][value="PORTAL_PASSWORD"]')
    page.fill("#id_max_retries", "2")
    page.click('input[name="_continue"]')
    expect(page.locator("ul.messagelist")).to_contain_text("was added successfully")

    schedule = Schedule.objects.get(name="Nightly invoice sync")
    assert (schedule.cron_expression, schedule.timezone) == ("30 2 * * 1-5", "Europe/Paris")
    assert schedule.variables == {"region": "eu-west"}
    assert schedule.vault_keys == ["PORTAL_PASSWORD"]
    assert schedule.next_run_at is not None
    # The saved schedule's page previews the next five runs server-side too.
    expect(page.locator("ol.mimic-next-runs li")).to_have_count(5)

    # -- run it now on a real agent and watch the job succeed --------------------------------
    world["process"].wait_online()
    page.click('button[name="run_now"]')
    message = page.locator("ul.messagelist li.success")
    expect(message).to_contain_text("dispatched")
    message.locator("a").click()
    page.wait_for_url("**/app/agents/job/*/change/")
    status = page.locator(".field-job_status .mimic-badge")
    deadline = time.monotonic() + 60
    while status.get_attribute("data-status") not in FINISHED:
        assert time.monotonic() < deadline, world["process"].output()
        time.sleep(1)
        page.reload()
    job = Job.objects.get(schedule=schedule)
    assert job.status == JobStatus.SUCCEEDED, (job.error_message, job.log)
    expect(status).to_have_text("succeeded")
    log = page.locator(".field-log_text pre")
    expect(log).to_contain_text("region eu-west")
    expect(log).to_contain_text("password=[REDACTED:PORTAL_PASSWORD]")
    expect(log).to_contain_text(f"secret_length={len(NEW_SECRET)}")  # the replaced value
    assert NEW_SECRET not in page.content()
    expect(page.locator(".inline-group")).to_contain_text("succeeded")  # the attempt
    screenshot(page, "job-page.png")

    # The schedule's page now shows the run in its status, recent jobs and events.
    page.goto(f"{base}/app/schedules/schedule/{schedule.pk}/change/")
    expect(page.locator(".field-recent_jobs")).to_contain_text("succeeded")
    expect(page.locator(".field-recent_events")).to_contain_text("triggered")
    expect(page.locator("#mimic-cron-preview li")).to_have_count(5)
    screenshot(page, "schedule-form.png")

    # -- dry run from the list: the report on the page, nothing changed ----------------------
    jobs_before = Job.objects.count()
    page.goto(f"{base}/app/schedules/schedule/")
    _run_action_from_list(page, schedule.pk, "dry_run")
    expect(page.locator("#content h1")).to_have_text("Dry run")
    expect(page.locator("#content-main")).to_contain_text("Nothing was changed")
    tick_now = page.locator('.mimic-report-mode[data-force="false"]')
    expect(tick_now.locator("table.mimic-skipped")).to_contain_text("not_due")
    forced = page.locator('.mimic-report-mode[data-force="true"]')
    expect(forced.locator("table.mimic-triggered")).to_contain_text("Nightly invoice sync")
    assert Job.objects.count() == jobs_before

    # -- pause with a note, then resume ------------------------------------------------------
    page.goto(f"{base}/app/schedules/schedule/{schedule.pk}/change/")
    page.click('button[name="pause"]')
    page.fill("#id_note", "Portal maintenance until Monday")
    page.click('input[name="confirm_pause"]')
    expect(page.locator("ul.messagelist")).to_contain_text(
        "Paused 1 schedule(s): Portal maintenance until Monday"
    )
    expect(page.locator(".field-paused")).to_contain_text("Portal maintenance until Monday")
    schedule.refresh_from_db()
    assert (schedule.enabled, schedule.paused_note) == (False, "Portal maintenance until Monday")

    page.goto(f"{base}/app/schedules/schedule/")
    expect(page.locator("#result_list")).to_contain_text("paused: Portal maintenance until Monday")
    _run_action_from_list(page, schedule.pk, "resume_schedules")
    expect(page.locator("ul.messagelist")).to_contain_text("resumed")
    schedule.refresh_from_db()
    assert schedule.enabled and schedule.next_run_at is not None

    # -- the list, for the README ------------------------------------------------------------
    _neighbours(world)
    page.goto(f"{base}/app/schedules/schedule/")
    expect(page.locator("#result_list tbody tr")).to_have_count(4)
    expect(page.locator("#result_list")).to_contain_text("At 02:30 AM, Monday through Friday")
    screenshot(page, "schedules-list.png")

    assert time.monotonic() - started < 120
