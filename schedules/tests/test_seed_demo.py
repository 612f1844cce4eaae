"""manage.py seed_demo: idempotent, one JSON line with --json, a login that works."""

import json
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from agents.models import Agent, Script
from billing.models import Membership, Organization
from schedules.models import Schedule

pytestmark = pytest.mark.django_db


def seed(**kw) -> dict:
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out, **kw)
    (line,) = out.getvalue().strip().splitlines()
    return json.loads(line)


def counts():
    return [m.objects.count() for m in (Organization, Membership, Agent, Script, Schedule)]


def test_it_seeds_the_demo_once_and_finds_it_again(settings):
    settings.DEMO_ADMIN_PASSWORD = "demo-pass-123"
    settings.AGENT_LOCAL_CONTROLLER = True
    first = seed()
    before = counts()
    second = seed()
    assert counts() == before == [1, 1, 1, 1, 1]
    assert set(first) == {
        "username",
        "password",
        "token",
        "organization",
        "agentId",
        "scriptId",
        "scheduleId",
    }
    assert {k: v for k, v in first.items()} == second
    assert authenticate(username=first["username"], password="demo-pass-123") is not None
    schedule = Schedule.objects.get(id=first["scheduleId"])
    assert schedule.cron_expression == "* * * * *"
    assert schedule.next_run_at is not None
    assert str(schedule.agent_id) == first["agentId"]
    assert Agent.objects.get(id=first["agentId"]).controller == "local"


def test_it_prints_the_login_and_token(settings):
    settings.DEMO_ADMIN_PASSWORD = "demo-pass-123"
    out = StringIO()
    call_command("seed_demo", "--base-url", "http://127.0.0.1:9999", stdout=out)
    text = out.getvalue()
    assert "admin / demo-pass-123" in text
    assert "http://127.0.0.1:9999/app/" in text
    assert "API token:" in text


def test_it_seeds_a_manual_agent_where_the_local_controller_is_not_allowed(settings):
    settings.AGENT_LOCAL_CONTROLLER = False
    out = StringIO()
    call_command("seed_demo", stdout=out)
    agent = Agent.objects.get(slug="demo-agent")
    assert (agent.controller, agent.auto_start) == ("manual", False)
    assert "The demo agent is manual" in out.getvalue()
    assert "AGENT_LOCAL_CONTROLLER=true" in out.getvalue()
