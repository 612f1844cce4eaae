"""The leak hunt (issue 6): a full scheduled run with vault secrets, then a search for them in
every place the product keeps or shows text.

Two secrets — one stored through vault.services, one through POST /api/vault/ — are given to two
schedules that a real agent runtime (`python -m agents.runtime`) runs through schedules.engine.run_tick: one prints them
in every form a script might (plain, in JSON, base64, URL-encoded, on stderr) and succeeds; the
other raises an exception whose message holds them and exits 1. Then the secrets are looked for
in: every API response (every route under /api/, as an org admin and as a superuser, plus the
execute and cron dry-run reports and rejected vault writes), every admin page (changelists, add,
change, history and delete pages of every registered model, as a staff admin of the org and as a
superuser), every log record of the test process (every logger at DEBUG, SQL included), the agent
process's output, every schedule event, every job's and attempt's log and error, every row of
every table, and every key of the broker.

A needle is the secret's distinctive core and its base64 (tests/leaks/helpers.py), so the plain,
JSON-escaped, URL-encoded and base64 forms are all caught. Each surface is also searched for
something that must be there — the control variable the scripts print, job ids — so a search
that reads nothing fails instead of passing.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import resolve
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from agents.dispatch import agent_queue
from agents.models import Agent, Job, JobAttempt, JobStatus, Script
from billing.models import AuditEntry, Role
from config.clock import iso_z as iso
from schedules.alert_models import AlertChannel
from schedules.engine import run_tick
from schedules.models import Calendar, Schedule, ScheduleEvent
from tests.factories import MembershipFactory, UserFactory
from tests.leaks.helpers import (
    CORE_PREFIX,
    Pages,
    Secret,
    admin_urls,
    api_url_names,
    broker_dump,
    capture_all_logs,
    database_rows_containing,
    found,
)
from tests.process.helpers import FINISHED, make_agent, make_org, make_script, wait_for_status
from vault.models import VaultEntry
from vault.services import vault_set

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CRON_SECRET = "leak-hunt-cron-key"
# An alert channel's signing key: write-only, so no response may carry it.
ALERT_SECRET = "leak-hunt-alert-signing-key-0b9f2c"

PRINTS_EVERY_FORM = r"""
import base64, json, sys, urllib.parse
sys.stdout.reconfigure(encoding="utf-8")
sys.stderr.reconfigure(encoding="utf-8")
payload = json.load(sys.stdin)
print("control=" + payload["variables"]["control"])
for key, value in sorted(payload["secrets"].items()):
    raw = value.encode()
    print(f"plain {key}={value}")
    print(f"json {key}=" + json.dumps({"password": value}))
    print(f"json-utf8 {key}=" + json.dumps({"password": value}, ensure_ascii=False))
    print(f"b64 {key}=" + base64.b64encode(raw).decode())
    print(f"b64url {key}=" + base64.urlsafe_b64encode(raw).decode().rstrip("="))
    print(f"url {key}=" + urllib.parse.quote(value, safe=""))
    print(f"stderr {key}={value}", file=sys.stderr, flush=True)
"""

RAISES_WITH_IT = r"""
import json, sys
sys.stdout.reconfigure(encoding="utf-8")
sys.stderr.reconfigure(encoding="utf-8")
payload = json.load(sys.stdin)
print("control=" + payload["variables"]["control"], flush=True)
secrets = payload["secrets"]
raise RuntimeError("login rejected for " + " and ".join(secrets[k] for k in sorted(secrets)))
"""

KEYS = ("SERVICE_PASSWORD", "API_PASSWORD")


def _secret() -> Secret:
    return Secret(f"{CORE_PREFIX}{uuid.uuid4().hex}")


def _api_client(user, org=None) -> APIClient:
    client = APIClient()
    token = Token.objects.create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    if org is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_X_ORGANIZATION=org.slug)
    return client


class Responses:
    """Every API response the hunt received: (method, url, status, body)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int, str]] = []

    def call(self, client, method: str, url: str, data=None, **extra):
        if method != "get":
            extra["format"] = "json"
        response = getattr(client, method)(url, data=data, **extra)
        body = response.content.decode(errors="replace")
        self.seen.append((method.upper(), url, response.status_code, body))
        return response

    def text(self) -> str:
        return "\n".join(f"{m} {u} {s} {b}" for m, u, s, b in self.seen)

    def bodies(self, url: str) -> list[str]:
        return [b for _m, u, _s, b in self.seen if u == url]


def test_it_finds_the_secret_nowhere_after_a_full_scheduled_run(start_agent, redis_url, settings):
    settings.CRON_SECRET = CRON_SECRET
    service_secret, api_secret = _secret(), _secret()
    secrets = [service_secret, api_secret]
    control = f"control-{uuid.uuid4().hex}"
    org = make_org()
    admin_user = UserFactory(is_staff=True)
    MembershipFactory(organization=org, user=admin_user, role=Role.ADMIN)
    superuser = UserFactory(is_staff=True, is_superuser=True)
    admin_api, super_api = _api_client(admin_user, org), _api_client(superuser)
    responses = Responses()

    with capture_all_logs() as logs:
        connection.force_debug_cursor = True  # every SQL statement and its parameters, logged
        try:
            # --- the secrets go in: through the service, and through the API -----------------
            vault_set(organization=org, key="SERVICE_PASSWORD", value=service_secret.value)
            created = responses.call(
                admin_api,
                "post",
                "/api/vault/",
                {"key": "API_PASSWORD", "value": api_secret.value, "description": "portal"},
            )
            assert created.status_code == 201, created.content
            entry_url = f"/api/vault/{created.json()['id']}/"
            # Rejected and repeated writes of the value answer without it.
            for body in (
                {"key": "API_PASSWORD", "value": api_secret.value},  # duplicate name
                {"key": "not a key!", "value": api_secret.value},
                {"key": "OTHER", "value": api_secret.value, "description": ["not text"]},
            ):
                assert responses.call(admin_api, "post", "/api/vault/", body).status_code == 400
            patched = responses.call(admin_api, "patch", entry_url, {"value": api_secret.value})
            assert patched.status_code == 200, patched.content

            # --- a full scheduled run through the tick and a real agent process --------------
            agent = make_agent(org)
            agent_process = start_agent(agent, MIMIC_LOG_LEVEL="DEBUG")
            now = timezone.now()
            succeeding, failing = (
                Schedule.objects.create(
                    organization=org,
                    name=name,
                    script=make_script(org, source),
                    agent=agent,
                    cron_expression="* * * * *",
                    next_run_at=now.replace(second=0, microsecond=0),
                    variables={"control": control},
                    vault_keys=list(KEYS),
                )
                for name, source in (
                    ("Prints the secrets", PRINTS_EVERY_FORM),
                    ("Raises with the secrets", RAISES_WITH_IT),
                )
            )
            report = run_tick(now=now, use_executor_lock=False)
            assert len(report.triggered) == 2 and not report.errors, report
            ok_job = wait_for_status(succeeding.jobs.get(), FINISHED, timeout=30)
            failed_job = wait_for_status(failing.jobs.get(), FINISHED, timeout=30)
            agent_process.stop()

            # --- what the product shows: every API route, every admin page -------------------
            for client in (admin_api, super_api):
                _request_every_api_route(responses, client, org=org)
            pages = Pages()
            staff_client, super_client = Client(), Client()
            staff_client.force_login(admin_user)
            super_client.force_login(superuser)
            for client in (staff_client, super_client):
                for url in admin_urls():
                    pages.get(client, url)
        finally:
            connection.force_debug_cursor = False

    # --- the run happened as planned, and printed what the hunt looks for -------------------
    assert ok_job.status == JobStatus.SUCCEEDED, ok_job.log
    assert failed_job.status == JobStatus.FAILED and failed_job.exit_code == 1, failed_job.log
    for key in KEYS:
        marker = f"[REDACTED:{key}]"
        for form in ("plain", "b64", "b64url", "url", "stderr"):
            assert f"{form} {key}={marker}" in ok_job.log, (form, ok_job.log)
        assert f'json {key}={{"password": "{marker}"}}' in ok_job.log, ok_job.log
        assert f'json-utf8 {key}={{"password": "{marker}"}}' in ok_job.log, ok_job.log
    assert (
        "RuntimeError: login rejected for [REDACTED:API_PASSWORD] and "
        "[REDACTED:SERVICE_PASSWORD]" in failed_job.log
    ), failed_job.log
    jobs = [ok_job, failed_job]
    for job in jobs:
        assert f"control={control}" in job.log, job.log

    # --- and the hunt: each surface must show what it should, and no secret ------------------
    def assert_clean(surface: str, text: str, *, must_contain: list[str]) -> None:
        missing = [m for m in must_contain if m not in text]
        assert not missing, f"{surface}: the search cannot see {missing}; it would prove nothing"
        leaks = found(secrets, text)
        assert not leaks, f"{surface}: a secret leaked ({leaks})"

    job_ids = [str(job.id) for job in jobs]
    api_text = responses.text()
    assert_clean("API responses", api_text, must_contain=[control, "[REDACTED:", *job_ids])
    for job in jobs:  # the log endpoint itself shows the redacted log
        for body in responses.bodies(f"/api/jobs/{job.id}/log"):
            assert control in body and "[REDACTED:" in body, body
    _assert_every_api_route_was_requested(responses)

    for page in pages.pages:
        assert page.status in (200, 302, 403), (page.url, page.status)
        assert_clean(f"admin page {page.url}", page.text, must_contain=[])
    for job in jobs:  # job detail pages show the redacted log, to staff and superuser alike
        change_pages = pages.by_url(f"/app/agents/job/{job.id}/change/")
        assert len(change_pages) == 2 and all(p.status == 200 for p in change_pages)
        for page in change_pages:
            assert control in page.text and "[REDACTED:" in page.text
    assert_clean(
        "admin pages", "\n".join(p.text for p in pages.pages), must_contain=[control, *job_ids]
    )

    # The test process's logs: engine, dispatch, API, admin, vault, and every SQL statement.
    assert_clean(
        "log records of the test process",
        logs.text,
        must_contain=['INSERT INTO "vault_vaultentry"', "vault_set", *job_ids],
    )
    assert_clean(
        "the agent process's output",
        agent_process.log_path.read_text(errors="replace"),
        must_contain=["ready.", *job_ids],
    )

    events = list(ScheduleEvent.objects.filter(organization=org))
    assert events, "no schedule events to search"
    assert_clean(
        "schedule events",
        "\n".join(f"{model_to_dict(e)} {e}" for e in events),
        must_contain=job_ids,
    )
    attempts = list(JobAttempt.objects.filter(job__in=jobs))
    assert len(attempts) == 2
    assert_clean(
        "job and attempt logs and errors",
        "\n".join(
            f"{row.log}\n{row.error_message}\n{model_to_dict(row)}"
            for row in [*Job.objects.filter(organization=org), *attempts]
        ),
        must_contain=[control, "The script exited with code 1"],
    )

    # Every row of every table, as text.
    assert database_rows_containing(control), "the database search cannot see the job log"
    for secret in secrets:
        for needle in secret.needles:
            assert database_rows_containing(needle) == [], f"the database holds {needle!r}"

    # Every key of every database of the broker.
    key_count, broker_text = broker_dump(redis_url)
    assert key_count, "the broker search reads nothing"
    assert_clean("the broker", broker_text, must_contain=[agent_queue(agent.id)])


def _request_every_api_route(responses: Responses, client: APIClient, *, org) -> None:
    """GET every list and detail route for every object of the organization; the execute,
    cron and watchdog dry runs; and the control routes (their refusals)."""

    def get(url, **extra):
        response = responses.call(client, "get", url, **extra)
        assert response.status_code == 200, (url, response.status_code)  # content to search

    def post(url, data=None, **extra):
        return responses.call(client, "post", url, data, **extra)

    # A calendar of the organization (issue 13): its list and detail are searched too.
    calendar, _ = Calendar.objects.get_or_create(
        organization=org, name="leak hunt holidays", defaults={"dates": ["2026-12-25"]}
    )
    get(f"/api/calendars/{calendar.id}/")
    for url in (
        "/api/schedules/",
        "/api/agents/",
        "/api/scripts/",
        "/api/jobs/",
        "/api/vault/",
        "/api/calendars/",
    ):
        get(url)
        get(url + "?pageSize=500")
    for schedule in Schedule.objects.filter(organization=org):
        get(f"/api/schedules/{schedule.id}/")
        get(f"/api/schedules/{schedule.id}/events/")
        get(f"/api/schedules/{schedule.id}/jobs/")
        get(f"/api/schedules/{schedule.id}/stats")
        # A dry-run backfill of the last hour: its answer lists occurrences and gates.
        until = timezone.now().replace(microsecond=0)
        since = until - timedelta(hours=1)
        backfill = {"from": iso(since), "to": iso(until), "dryRun": True}
        answer = post(f"/api/schedules/{schedule.id}/backfill", backfill)
        assert answer.status_code == 200, answer.content
    for job in Job.objects.filter(organization=org):
        get(f"/api/jobs/{job.id}/")
        get(f"/api/jobs/{job.id}/log")
        post(f"/api/jobs/{job.id}/cancel")  # finished: 409
    for model, route in ((Agent, "agents"), (Script, "scripts"), (VaultEntry, "vault")):
        for pk in model.objects.filter(organization=org).values_list("id", flat=True):
            get(f"/api/{route}/{pk}/")
    for agent in Agent.objects.filter(organization=org):
        post(f"/api/agents/{agent.id}/start")  # manual: 409
        post(f"/api/agents/{agent.id}/stop")
        post(f"/api/agents/{agent.id}/token")  # a new token, shown once: not a vault secret
        # The agent API (its real use was the run above, by the runtime): refusals.
        wrong = {"HTTP_AUTHORIZATION": "Agent wrong"}
        post(f"/api/agents/{agent.id}/heartbeat", {"running": []}, **wrong)  # 401
        for job in Job.objects.filter(agent=agent):
            for verb in ("claim", "log", "finish"):
                post(f"/api/agents/{agent.id}/jobs/{job.id}/{verb}", {"attempt": 1}, **wrong)
    get("/api/schedules/preview?cron=*/5+*+*+*+*&timezone=Europe/Berlin&count=5")
    assert post("/api/schedules/execute", {"dryRun": True}).status_code == 200
    get("/api/cron/scheduled-runs?dryRun=true", HTTP_X_CRON_KEY=CRON_SECRET)
    assert post("/api/jobs/watchdog?dryRun=true", HTTP_X_CRON_KEY=CRON_SECRET).status_code == 200
    paused = Schedule.objects.filter(organization=org).first()
    assert paused is not None
    post(f"/api/schedules/{paused.id}/pause", {"note": "leak hunt"})
    post(f"/api/schedules/{paused.id}/resume")
    # An alert channel with a signing secret (write-only): listed, read, and a test alert
    # enqueued — the secret is searched for below like every other.
    channel, _ = AlertChannel.objects.get_or_create(
        organization=org,
        name="leak hunt hooks",
        defaults={
            "kind": "webhook",
            "target": "https://127.0.0.1:9/mimic",  # loopback: never sent anywhere else
            "secret": ALERT_SECRET,
            "events": ["job_failed"],
        },
    )
    get("/api/alert-channels/")
    get(f"/api/alert-channels/{channel.id}/")
    assert post(f"/api/alert-channels/{channel.id}/test").status_code == 202
    assert ALERT_SECRET not in responses.text()
    # The audit trail of what the hunt just did (token rotations, pause, resume): names, never
    # values.
    get("/api/audit/")
    entries = AuditEntry.objects.filter(organization=org).values_list("id", flat=True)
    assert entries, "the hunt's own actions are audited"
    for pk in entries[:20]:
        get(f"/api/audit/{pk}/")
    get("/api/health")
    get("/api/schema/")
    get("/api/docs/")
    get("/metrics")


def _assert_every_api_route_was_requested(responses: Responses) -> None:
    requested = {resolve(url.split("?")[0]).url_name for _m, url, _s, _b in responses.seen}
    assert api_url_names() - requested == set(), "routes the hunt did not request"
