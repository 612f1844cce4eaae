"""An agent's timezone and maintenance windows through the API (SPEC §14): written and read in
camelCase, default UTC and none; bad input a 400 naming the field (and the window), nothing
written."""

from __future__ import annotations

import pytest

from agents.models import Agent
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db

WINDOWS = [
    {"days": ["sat", "sun"], "start": "22:00", "end": "02:00"},
    {"from": "2026-12-24T18:00", "to": "2026-12-27T06:00"},
]


def test_it_writes_and_reads_the_timezone_and_windows(api):
    created = api.post(
        "/api/agents/",
        {"name": "Bot", "timezone": "Europe/Berlin", "maintenanceWindows": WINDOWS},
        format="json",
    )
    assert created.status_code == 201, created.data
    body = created.json()
    assert (body["timezone"], body["maintenanceWindows"]) == ("Europe/Berlin", WINDOWS)
    agent = Agent.objects.get(pk=body["id"])
    assert (agent.timezone, agent.maintenance_windows) == ("Europe/Berlin", WINDOWS)

    edited = api.patch(f"/api/agents/{agent.pk}/", {"maintenanceWindows": []}, format="json")
    assert edited.status_code == 200, edited.data
    agent.refresh_from_db()
    assert (agent.timezone, agent.maintenance_windows) == ("Europe/Berlin", [])


def test_it_defaults_to_utc_and_no_windows(api):
    body = api.post("/api/agents/", {"name": "Bot"}, format="json").json()
    assert (body["timezone"], body["maintenanceWindows"]) == ("UTC", [])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus", "Unknown timezone"),
        ("timezone", "", "This field may not be blank."),
        ("maintenanceWindows", {"days": ["sun"]}, "Must be a list of windows"),
        (
            "maintenanceWindows",
            [WINDOWS[0], {"days": ["sun"], "start": "25:00", "end": "02:00"}],
            "maintenanceWindows[1].start:",
        ),
        (
            "maintenanceWindows",
            [{"from": "2026-12-27T06:00", "to": "2026-12-24T18:00"}],
            "maintenanceWindows[0]: to must be after from.",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, org, field, value, message):
    agent = AgentFactory(organization=org)
    response = api.patch(f"/api/agents/{agent.pk}/", {field: value}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert response.json()[field][0].startswith(message), response.json()
    agent.refresh_from_db()
    assert (agent.timezone, agent.maintenance_windows) == ("UTC", [])
