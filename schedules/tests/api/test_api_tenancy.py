"""Every object is scoped to the caller's organization: another organization's is a 404 for
read, update, delete, pause and resume — and nothing about it changes."""

from __future__ import annotations

import pytest

from agents.models import Agent, Script
from billing.models import Role
from schedules.models import Schedule
from tests.factories import (
    AgentFactory,
    JobFactory,
    MembershipFactory,
    ScheduleFactory,
    ScriptFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def foreign(other_org):
    schedule = ScheduleFactory(organization=other_org)
    job = JobFactory(schedule=schedule)
    return {
        "schedules": schedule,
        "agents": schedule.agent,
        "scripts": schedule.script,
        "jobs": job,
    }


@pytest.mark.parametrize("resource", ["schedules", "agents", "scripts", "jobs"])
def test_it_hides_another_organizations_objects(api, foreign, resource):
    obj = foreign[resource]

    assert api.get(f"/api/{resource}/{obj.id}/").status_code == 404
    assert api.get(f"/api/{resource}/").json()["count"] == 0


@pytest.mark.parametrize("resource", ["schedules", "agents", "scripts"])
def test_it_answers_404_to_writes_on_another_organizations_objects(
    api, foreign, assert_no_rows_written, resource
):
    obj = foreign[resource]
    before = type(obj).objects.filter(pk=obj.pk).values().get()

    with assert_no_rows_written():
        patched = api.patch(f"/api/{resource}/{obj.id}/", {"name": "mine"}, format="json")
        put = api.put(f"/api/{resource}/{obj.id}/", {"name": "mine"}, format="json")
        deleted = api.delete(f"/api/{resource}/{obj.id}/")

    assert (patched.status_code, put.status_code, deleted.status_code) == (404, 404, 404)
    assert type(obj).objects.filter(pk=obj.pk).values().get() == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/schedules/{id}/pause",
        "/api/schedules/{id}/resume",
    ],
)
def test_it_answers_404_to_pause_and_resume_of_another_organizations_schedule(api, foreign, path):
    schedule = foreign["schedules"]

    response = api.post(path.format(id=schedule.id))

    assert response.status_code == 404
    assert Schedule.objects.get(pk=schedule.pk).enabled is True


@pytest.mark.parametrize(
    "path", ["/api/schedules/{id}/events/", "/api/schedules/{id}/jobs/", "/api/jobs/{job}/log"]
)
def test_it_answers_404_to_another_organizations_history(api, foreign, path):
    url = path.format(id=foreign["schedules"].id, job=foreign["jobs"].id)

    assert api.get(url).status_code == 404


def test_it_does_not_let_a_role_elsewhere_edit_this_organization(org, other_org, client_for):
    """Viewer in org, admin in other_org: acting for other_org it cannot edit org's objects."""
    client = client_for(org, Role.VIEWER)
    MembershipFactory(user=client.user, organization=other_org, role=Role.ADMIN)
    schedule = ScheduleFactory(organization=org)

    response = client.patch(
        f"/api/schedules/{schedule.id}/",
        {"name": "hijacked"},
        format="json",
        HTTP_X_ORGANIZATION=other_org.slug,
    )

    assert response.status_code == 404
    assert Schedule.objects.get(pk=schedule.pk).name != "hijacked"


def test_it_creates_in_the_organization_named_by_the_header(org, other_org, client_for):
    client = client_for(org, Role.ADMIN)
    MembershipFactory(user=client.user, organization=other_org, role=Role.ADMIN)

    response = client.post(
        "/api/scripts/",
        {"name": "s", "source": "print(1)"},
        format="json",
        HTTP_X_ORGANIZATION=other_org.slug,
    )

    assert response.status_code == 201
    assert Script.objects.get(pk=response.json()["id"]).organization == other_org


def test_it_answers_400_to_a_superuser_creating_without_an_organization(
    superuser_client, assert_no_rows_written
):
    with assert_no_rows_written():
        response = superuser_client.post("/api/agents/", {"name": "a", "slug": "a"}, format="json")

    assert response.status_code == 400
    # Keyed by what is missing, as the vault API answers too (one acting_organization).
    assert "X-Organization" in response.json()["organization"]


def test_it_lets_a_superuser_see_every_organization(superuser_client, org, other_org):
    AgentFactory(organization=org)
    AgentFactory(organization=other_org)

    assert superuser_client.get("/api/agents/").json()["count"] == 2
    assert Agent.objects.count() == 2


def test_it_refuses_a_user_without_a_membership(db, other_org):
    from rest_framework.test import APIClient

    from tests.factories import UserFactory

    client = APIClient()
    client.force_authenticate(UserFactory())
    ScriptFactory(organization=other_org)

    assert client.get("/api/scripts/").status_code == 403


def test_it_refuses_anonymous_callers(db):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/schedules/").status_code in (401, 403)
