"""Agents in the staff UI: the effective status (a heartbeat older than the online window is not
online, whatever the row says), start and stop through the controllers, a token shown once on
creation, and a webhook secret that is never shown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from agents.models import Agent, AgentStatus, Controller, hash_token
from billing.models import Role

pytestmark = pytest.mark.django_db

LIST = "/app/agents/agent/"


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_it_shows_the_effective_status(acme, staff_client):
    agent = acme["agent"]
    stale = timezone.now() - timedelta(minutes=10)
    Agent.objects.filter(pk=agent.pk).update(status=AgentStatus.ONLINE, last_heartbeat_at=stale)
    text = staff_client(acme["org"], Role.VIEWER).get(LIST).content.decode()
    assert 'data-status="offline"' in text  # the row says online; its heartbeat says otherwise
    assert "10\xa0minutes ago" in text  # timesince keeps number and unit together

    Agent.objects.filter(pk=agent.pk).update(last_heartbeat_at=timezone.now())
    text = staff_client(acme["org"], Role.VIEWER).get(LIST).content.decode()
    assert 'data-status="online"' in text


def test_it_reports_that_a_manual_agent_cannot_be_started(acme, staff_client):
    client = staff_client(acme["org"], Role.OPERATOR)
    response = client.post(
        LIST, {"action": "start_agents", "_selected_action": [str(acme["agent"].pk)], "index": "0"}
    )
    [message] = _messages(response)
    assert "could not start" in message and "manual" in message


def test_it_stops_a_local_agent_that_is_not_running(acme, staff_client):
    agent = acme["agent"]
    Agent.objects.filter(pk=agent.pk).update(
        controller=Controller.LOCAL, status=AgentStatus.OFFLINE
    )
    client = staff_client(acme["org"], Role.OPERATOR)
    page = client.get(f"/app/agents/agent/{agent.pk}/change/").content.decode()
    assert 'name="start"' in page and 'name="stop"' in page
    response = client.post(
        LIST,
        {"action": "stop_agents", "_selected_action": [str(agent.pk)], "_return": "change"},
    )
    assert response["Location"] == f"/app/agents/agent/{agent.pk}/change/"
    agent.refresh_from_db()
    assert agent.status == AgentStatus.STOPPED


def test_it_hides_start_and_stop_from_viewers(acme, staff_client):
    client = staff_client(acme["org"], Role.VIEWER)
    assert "start_agents" not in client.get(LIST).content.decode()
    page = client.get(f"/app/agents/agent/{acme['agent'].pk}/change/").content.decode()
    assert 'name="start"' not in page


def test_it_shows_a_new_agents_token_once(acme, staff_client):
    client = staff_client(acme["org"], Role.ADMIN)
    response = client.post(
        "/app/agents/agent/add/",
        {
            "name": "Bot 2",
            "slug": "bot-2",
            "capacity": "2",
            "auto_start": "on",
            "controller": "manual",
            "controller_config": "{}",
        },
        follow=True,
    )
    agent = Agent.objects.get(slug="bot-2")
    [token_message] = [m for m in _messages(response) if "token" in m]
    token = token_message.split("<code>")[1].split("</code>")[0]
    assert hash_token(token) == agent.token_hash
    assert token not in client.get(f"/app/agents/agent/{agent.pk}/change/").content.decode()


def test_it_never_shows_a_webhook_secret_and_keeps_it_on_save(acme, staff_client, fake_dns):
    fake_dns({"hooks.example.com": ["93.184.216.34"]})
    agent = acme["agent"]
    Agent.objects.filter(pk=agent.pk).update(
        controller=Controller.WEBHOOK,
        controller_config={"url": "https://hooks.example.com/boot", "secret": "whsec-123"},
    )
    client = staff_client(acme["org"], Role.ADMIN)
    url = f"/app/agents/agent/{agent.pk}/change/"
    page = client.get(url).content.decode()
    assert "whsec-123" not in page
    assert "hooks.example.com" in page
    response = client.post(
        url,
        {
            "name": "Renamed",
            "slug": agent.slug,
            "capacity": "1",
            "controller": "webhook",
            "controller_config": '{"url": "https://hooks.example.com/boot2"}',
        },
    )
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.controller_config == {
        "url": "https://hooks.example.com/boot2",
        "secret": "whsec-123",
    }
