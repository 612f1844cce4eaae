"""The agent form in the staff UI refuses the controllers the server does not allow (SPEC §7),
with the same check as the API (agents.controller_policy): `local` where AGENT_LOCAL_CONTROLLER
is off, and webhook URLs that are not https or do not resolve to public addresses. No test
resolves a real name or opens a connection."""

from __future__ import annotations

import json

import pytest

from agents import netguard
from agents.models import Agent, Controller
from billing.models import Role
from tests.fixtures import form_errors

pytestmark = pytest.mark.django_db

ADD = "/app/agents/agent/add/"


@pytest.fixture
def client(org, staff_client, settings, fake_dns, monkeypatch):
    settings.DEBUG = False
    settings.AGENT_LOCAL_CONTROLLER = False
    settings.AGENT_WEBHOOK_ALLOW_PRIVATE = False
    fake_dns({"internal.example.com": ["10.1.2.3"], "hooks.example.com": ["93.184.216.34"]})
    monkeypatch.setattr(netguard, "_open_socket", lambda *a, **kw: pytest.fail("connected"))
    return staff_client(org, Role.ADMIN)


def agent_form(controller: str, config: dict | None = None) -> dict:
    return {
        "name": "Bot",
        "slug": "bot",
        "capacity": "1",
        "controller": controller,
        "controller_config": json.dumps(config or {}),
    }


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/x",
        "https://10.0.0.5/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/x",
        "https://localhost/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://internal.example.com/x",
    ],
)
def test_it_refuses_a_webhook_url_that_is_not_public(client, url):
    response = client.post(ADD, agent_form("webhook", {"url": url, "secret": "s"}))

    assert form_errors(response) == {"controller_config": [netguard.NOT_PUBLIC]}
    assert "10.1.2.3" not in response.content.decode()
    assert not Agent.objects.exists()


def test_it_refuses_a_plain_http_webhook(client):
    response = client.post(ADD, agent_form("webhook", {"url": "http://hooks.example.com/boot"}))

    assert form_errors(response) == {
        "controller_config": ["The webhook URL must start with https://."]
    }


def test_it_saves_a_public_https_webhook(client):
    response = client.post(ADD, agent_form("webhook", {"url": "https://hooks.example.com/b"}))

    assert form_errors(response) == {}
    assert Agent.objects.get(slug="bot").controller == Controller.WEBHOOK


def test_it_refuses_the_local_controller_where_it_is_not_allowed(client):
    response = client.post(ADD, agent_form("local"))

    [message] = form_errors(response)["controller"]
    assert "AGENT_LOCAL_CONTROLLER" in message
    assert not Agent.objects.exists()


def test_it_saves_a_local_agent_where_the_setting_allows_it(client, settings):
    settings.AGENT_LOCAL_CONTROLLER = True

    response = client.post(ADD, agent_form("local"))

    assert form_errors(response) == {}
    assert Agent.objects.get(slug="bot").controller == Controller.LOCAL
