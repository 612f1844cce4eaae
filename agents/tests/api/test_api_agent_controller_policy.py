"""Which controller an agent may be given (SPEC §7), through /api/agents/: `local` only where
AGENT_LOCAL_CONTROLLER allows it, `webhook` only with an https URL that resolves to public
addresses (unless AGENT_WEBHOOK_ALLOW_PRIVATE). A refusal is a 400 on the field, naming no
address of our network. Literal URLs; no test resolves a real name or opens a connection."""

from __future__ import annotations

import pytest

from agents import netguard
from agents.models import Agent, Controller
from billing.models import Role
from tests.factories import AgentFactory

PRIVATE_URLS = [
    "https://127.0.0.1/x",
    "https://10.0.0.5/x",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/x",
    "https://localhost/x",
    "https://[::ffff:127.0.0.1]/x",
    "https://internal.example.com/x",  # a name that resolves to a private address
]


@pytest.fixture
def policy_api(org, client_for, settings, fake_dns, monkeypatch):
    """An admin of `org` under production's controller policy, resolving names with fake_dns."""
    settings.DEBUG = False
    settings.AGENT_LOCAL_CONTROLLER = False
    settings.AGENT_WEBHOOK_ALLOW_PRIVATE = False
    fake_dns({"internal.example.com": ["10.1.2.3"], "hooks.example.com": ["93.184.216.34"]})
    monkeypatch.setattr(netguard, "_open_socket", lambda *a, **kw: pytest.fail("connected"))
    return client_for(org, Role.ADMIN)


def webhook(url: str) -> dict:
    return {
        "name": "Cloud",
        "controller": "webhook",
        "controllerConfig": {"url": url, "secret": "s"},
    }


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_it_refuses_a_webhook_url_that_is_not_public(policy_api, url):
    response = policy_api.post("/api/agents/", webhook(url), format="json")

    assert response.status_code == 400
    assert response.json() == {"controllerConfig": [netguard.NOT_PUBLIC]}
    assert not Agent.objects.exists()


def test_it_names_no_resolved_address_in_the_error(policy_api):
    response = policy_api.post(
        "/api/agents/", webhook("https://internal.example.com/x"), format="json"
    )

    assert response.status_code == 400
    assert "10.1.2.3" not in response.content.decode()


def test_it_refuses_a_plain_http_webhook(policy_api):
    response = policy_api.post(
        "/api/agents/", webhook("http://hooks.example.com/boot"), format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"controllerConfig": ["The webhook URL must start with https://."]}


def test_it_refuses_a_private_url_on_update(policy_api, org):
    agent = AgentFactory(
        organization=org,
        controller=Controller.WEBHOOK,
        controller_config={"url": "https://hooks.example.com/boot", "secret": "s"},
    )

    response = policy_api.patch(
        f"/api/agents/{agent.id}/",
        {"controllerConfig": {"url": "https://169.254.169.254/latest/meta-data"}},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["controllerConfig"]
    agent.refresh_from_db()
    assert agent.controller_config["url"] == "https://hooks.example.com/boot"


def test_it_accepts_a_public_https_webhook(policy_api):
    response = policy_api.post(
        "/api/agents/", webhook("https://hooks.example.com/boot"), format="json"
    )

    assert response.status_code == 201, response.json()


def test_it_accepts_a_loopback_webhook_where_private_addresses_are_allowed(policy_api, settings):
    settings.AGENT_WEBHOOK_ALLOW_PRIVATE = True

    response = policy_api.post("/api/agents/", webhook("http://127.0.0.1:8080/boot"), format="json")

    assert response.status_code == 201, response.json()


def test_it_refuses_the_local_controller_where_it_is_not_allowed(policy_api):
    response = policy_api.post(
        "/api/agents/", {"name": "Here", "controller": "local"}, format="json"
    )

    assert response.status_code == 400
    [message] = response.json()["controller"]
    assert "AGENT_LOCAL_CONTROLLER" in message
    assert list(response.json()) == ["controller"]
    assert not Agent.objects.exists()


def test_it_refuses_switching_an_agent_to_local_where_it_is_not_allowed(policy_api, org):
    agent = AgentFactory(organization=org, controller=Controller.MANUAL)

    response = policy_api.patch(f"/api/agents/{agent.id}/", {"controller": "local"}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["controller"]
    agent.refresh_from_db()
    assert agent.controller == Controller.MANUAL


def test_it_allows_the_local_controller_where_the_setting_allows_it(policy_api, settings):
    settings.AGENT_LOCAL_CONTROLLER = True

    response = policy_api.post(
        "/api/agents/", {"name": "Here", "controller": "local"}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["controller"] == "local"


def test_it_still_edits_other_fields_of_an_existing_local_agent(policy_api, org):
    agent = AgentFactory(organization=org, controller=Controller.LOCAL)

    response = policy_api.patch(f"/api/agents/{agent.id}/", {"capacity": 3}, format="json")

    assert response.status_code == 200, response.json()


def test_it_refuses_to_start_a_local_agent_where_it_is_not_allowed(policy_api, org):
    agent = AgentFactory(organization=org, controller=Controller.LOCAL, auto_start=True)

    response = policy_api.post(f"/api/agents/{agent.id}/start")

    assert response.status_code == 409
    assert "AGENT_LOCAL_CONTROLLER" in response.json()["detail"]
