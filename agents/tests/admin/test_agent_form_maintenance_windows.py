"""The agent form's Maintenance fieldset: timezone and maintenance windows saved, bad windows
refused on the field with the window named; a form without them keeps the defaults."""

from __future__ import annotations

import json

import pytest

from agents.models import Agent
from billing.models import Role
from tests.fixtures import form_errors

pytestmark = pytest.mark.django_db

ADD = "/app/agents/agent/add/"
WINDOWS = [{"days": ["sat"], "start": "22:00", "end": "02:00"}]


def agent_form(**fields) -> dict:
    return {"name": "Bot", "slug": "bot", "capacity": "1", "controller": "manual", **fields}


def test_it_saves_the_timezone_and_windows(org, staff_client):
    client = staff_client(org, Role.ADMIN)
    response = client.post(
        ADD,
        agent_form(timezone="Europe/Berlin", maintenance_windows=json.dumps(WINDOWS)),
    )
    assert response.status_code == 302, form_errors(response)
    agent = Agent.objects.get(slug="bot")
    assert (agent.timezone, agent.maintenance_windows) == ("Europe/Berlin", WINDOWS)


def test_without_them_it_keeps_utc_and_no_windows(org, staff_client):
    response = staff_client(org, Role.ADMIN).post(ADD, agent_form())
    assert response.status_code == 302, form_errors(response)
    agent = Agent.objects.get(slug="bot")
    assert (agent.timezone, agent.maintenance_windows) == ("UTC", [])


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"maintenance_windows": json.dumps([*WINDOWS, {"days": ["sun"], "start": "9"}])},
            "maintenance_windows",
            "maintenanceWindows[1]",
        ),
        ({"timezone": "Mars/Olympus"}, "timezone", "Unknown timezone"),
    ],
)
def test_it_refuses_bad_input_on_the_field(org, staff_client, fields, field, message):
    response = staff_client(org, Role.ADMIN).post(ADD, agent_form(**fields))
    assert response.status_code == 200
    errors = form_errors(response)
    assert list(errors) == [field]
    assert message in errors[field][0]
    assert not Agent.objects.filter(slug="bot").exists()
