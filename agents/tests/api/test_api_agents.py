"""Agents CRUD: the token is shown once and stored hashed; slugs unique per organization;
controller secrets never leave the server."""

from __future__ import annotations

import pytest

from agents.models import Agent, hash_token
from billing.models import Role
from tests.factories import AgentFactory, ScheduleFactory

pytestmark = pytest.mark.django_db


def test_it_creates_an_agent_and_shows_its_token_once(api, org, settings):
    settings.AGENT_LOCAL_CONTROLLER = True
    response = api.post(
        "/api/agents/",
        {
            "name": "Bot 1",
            "slug": "bot-1",
            "capacity": 2,
            "autoStart": False,
            "controller": "local",
        },
        format="json",
    )

    assert response.status_code == 201, response.data
    data = response.json()
    token = data["token"]
    assert len(token) >= 40
    agent = Agent.objects.get(pk=data["id"])
    assert agent.organization == org
    assert agent.token_hash == hash_token(token)
    assert token not in str(agent.__dict__)
    assert data["status"] == "offline" and data["lastHeartbeatAt"] is None
    assert (data["capacity"], data["autoStart"], data["controller"]) == (2, False, "local")
    read = api.get(f"/api/agents/{agent.id}/").json()
    assert "token" not in read and token not in str(read)
    assert "token" not in api.get("/api/agents/").json()["results"][0]


def test_it_derives_the_slug_from_the_name(api):
    response = api.post("/api/agents/", {"name": "Finance Bot"}, format="json")

    assert response.status_code == 201, response.data
    assert response.json()["slug"] == "finance-bot"


def test_it_rejects_a_slug_taken_in_the_organization(api, org, other_org, assert_no_rows_written):
    AgentFactory(organization=org, slug="bot")
    AgentFactory(organization=other_org, slug="other")

    with assert_no_rows_written():
        response = api.post("/api/agents/", {"name": "B", "slug": "bot"}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["slug"]
    # Another organization's slug is free here.
    assert (
        api.post("/api/agents/", {"name": "O", "slug": "other"}, format="json").status_code == 201
    )


def test_it_rejects_renaming_onto_a_taken_slug(api, org):
    AgentFactory(organization=org, slug="taken")
    agent = AgentFactory(organization=org, slug="mine")

    response = api.patch(f"/api/agents/{agent.id}/", {"slug": "taken"}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["slug"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"capacity": 0}, "capacity"),
        ({"capacity": 65}, "capacity"),
        ({"controller": "ssh"}, "controller"),
        ({"controllerConfig": ["x"]}, "controllerConfig"),
        ({"controller": "webhook", "controllerConfig": {}}, "controllerConfig"),
        ({"slug": "not a slug"}, "slug"),
        ({"name": ""}, "name"),
        ({"prewarmMinutes": -1}, "prewarmMinutes"),
        ({"prewarmMinutes": 1441}, "prewarmMinutes"),
        ({"prewarmMinutes": "soon"}, "prewarmMinutes"),
        ({"prewarmMinutes": None}, "prewarmMinutes"),
    ],
)
def test_it_rejects_bad_agent_fields(api, assert_no_rows_written, data, field):
    with assert_no_rows_written():
        response = api.post("/api/agents/", {"name": "B", **data}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_it_keeps_the_prewarm_lead_off_by_default_and_takes_one(api):
    created = api.post("/api/agents/", {"name": "Warm Bot"}, format="json").json()
    assert created["prewarmMinutes"] == 0

    response = api.patch(f"/api/agents/{created['id']}/", {"prewarmMinutes": 1440}, format="json")

    assert response.status_code == 200, response.data
    assert response.json()["prewarmMinutes"] == 1440
    assert Agent.objects.get(pk=created["id"]).prewarm_minutes == 1440


def test_it_never_shows_the_webhook_secret_and_keeps_it_on_edit(api, org, fake_dns):
    fake_dns({"boot.example": ["93.184.216.34"]})
    response = api.post(
        "/api/agents/",
        {
            "name": "Cloud",
            "controller": "webhook",
            "controllerConfig": {"url": "https://boot.example/vm", "secret": "s3cr3t-value"},
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.json()["controllerConfig"] == {"url": "https://boot.example/vm"}
    agent_id = response.json()["id"]

    read = api.get(f"/api/agents/{agent_id}/")
    edited = api.patch(
        f"/api/agents/{agent_id}/",
        {"controllerConfig": {"url": "https://boot.example/vm2"}},
        format="json",
    )

    assert "s3cr3t-value" not in read.content.decode()
    assert "s3cr3t-value" not in edited.content.decode()
    agent = Agent.objects.get(pk=agent_id)
    assert agent.controller_config == {"url": "https://boot.example/vm2", "secret": "s3cr3t-value"}


def test_it_ignores_status_and_heartbeat_on_write(api, org):
    agent = AgentFactory(organization=org)

    response = api.patch(
        f"/api/agents/{agent.id}/",
        {"status": "online", "lastHeartbeatAt": "2026-01-01T00:00:00Z", "capacity": 3},
        format="json",
    )

    assert response.status_code == 200
    agent.refresh_from_db()
    assert (agent.status, agent.last_heartbeat_at, agent.capacity) == ("offline", None, 3)


def test_it_deletes_an_unused_agent_and_refuses_one_in_use(api, org):
    unused = AgentFactory(organization=org)
    used = ScheduleFactory(organization=org).agent

    assert api.delete(f"/api/agents/{unused.id}/").status_code == 204
    response = api.delete(f"/api/agents/{used.id}/")

    assert response.status_code == 409
    assert "schedule" in response.json()["detail"]
    assert Agent.objects.filter(pk=used.pk).exists()


def test_it_lets_only_admins_write_agents(org, client_for):
    operator = client_for(org, Role.OPERATOR)
    agent = AgentFactory(organization=org)

    assert operator.get(f"/api/agents/{agent.id}/").status_code == 200
    assert operator.post("/api/agents/", {"name": "x"}, format="json").status_code == 403
    assert (
        operator.patch(f"/api/agents/{agent.id}/", {"name": "x"}, format="json").status_code == 403
    )
    assert operator.delete(f"/api/agents/{agent.id}/").status_code == 403
    owner = client_for(org, Role.OWNER)
    assert owner.patch(f"/api/agents/{agent.id}/", {"name": "x"}, format="json").status_code == 200
