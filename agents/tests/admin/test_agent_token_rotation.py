"""An org admin issues an agent a new token from the staff UI: shown once on the page that
answers the action (never in a message, never again), the previous token refused at once;
operators do not get the action."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from agents.models import Agent, hash_token
from billing.models import Role

pytestmark = pytest.mark.django_db

LIST = "/app/agents/agent/"


def rotate(client, agent):
    return client.post(LIST, {"action": "rotate_tokens", "_selected_action": [str(agent.pk)]})


def test_an_org_admin_gets_a_new_token_shown_once(acme, staff_client):
    agent = acme["agent"]
    before = Agent.objects.get(pk=agent.pk).token_hash
    client = staff_client(acme["org"], Role.ADMIN)
    assert 'name="rotate"' in client.get(f"{LIST}{agent.pk}/change/").content.decode()

    response = rotate(client, agent)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    token_hash = Agent.objects.get(pk=agent.pk).token_hash
    assert token_hash != before
    [token] = [
        line.split("=", 1)[1] for line in page.splitlines() if line.startswith("MIMIC_AGENT_TOKEN=")
    ]
    assert hash_token(token) == token_hash
    assert f"MIMIC_AGENT_ID={agent.pk}" in page and "MIMIC_BROKER_URL=" in page
    # Never shown again: not on the agent's page, not in a message.
    assert token not in client.get(f"{LIST}{agent.pk}/change/").content.decode()
    assert token not in client.get(LIST).content.decode()
    # The agent API takes the new token, not the old one.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Agent {token}")
    assert api.post(f"/api/agents/{agent.pk}/heartbeat", {}, format="json").status_code == 200


def test_an_operator_cannot_rotate_a_token(acme, staff_client):
    agent = acme["agent"]
    before = Agent.objects.get(pk=agent.pk).token_hash
    client = staff_client(acme["org"], Role.OPERATOR)
    assert 'name="rotate"' not in client.get(f"{LIST}{agent.pk}/change/").content.decode()
    rotate(client, agent)
    assert Agent.objects.get(pk=agent.pk).token_hash == before


def test_another_organizations_agent_is_out_of_reach(acme, globex, staff_client):
    theirs = globex["agent"]
    before = Agent.objects.get(pk=theirs.pk).token_hash
    rotate(staff_client(acme["org"], Role.ADMIN), theirs)
    assert Agent.objects.get(pk=theirs.pk).token_hash == before
