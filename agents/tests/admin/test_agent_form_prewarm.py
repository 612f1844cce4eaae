"""The agent form's pre-warm lead (SPEC §14): grouped with the controller, 0..1440 minutes, a
form error outside; the database refuses it too, whoever writes."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from agents.models import Agent
from billing.models import Role
from tests.fixtures import form_errors

pytestmark = pytest.mark.django_db


def agent_form(**fields) -> dict:
    return {"name": "Bot", "slug": "bot", "capacity": "1", "controller": "manual", **fields}


def test_it_saves_a_lead_and_refuses_one_past_a_day(org, staff_client):
    client = staff_client(org, Role.ADMIN)

    refused = client.post("/app/agents/agent/add/", agent_form(prewarm_minutes="1441"))
    assert list(form_errors(refused)) == ["prewarm_minutes"]
    assert not Agent.objects.exists()

    saved = client.post("/app/agents/agent/add/", agent_form(prewarm_minutes="15"))
    assert saved.status_code == 302, form_errors(saved)
    agent = Agent.objects.get()
    assert agent.prewarm_minutes == 15
    page = client.get(f"/app/agents/agent/{agent.pk}/change/").content.decode()
    assert 'name="prewarm_minutes"' in page


def test_an_empty_lead_is_off(org, staff_client):
    client = staff_client(org, Role.ADMIN)
    saved = client.post("/app/agents/agent/add/", agent_form(prewarm_minutes=""))
    assert saved.status_code == 302, form_errors(saved)
    assert Agent.objects.get().prewarm_minutes == 0


@pytest.mark.parametrize("minutes", [-1, 1441])
def test_the_database_refuses_a_lead_out_of_range(agent, minutes):
    with pytest.raises(IntegrityError), transaction.atomic():
        Agent.objects.filter(pk=agent.pk).update(prewarm_minutes=minutes)
