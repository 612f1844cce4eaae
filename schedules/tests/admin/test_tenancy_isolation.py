"""A staff user of one organization sees nothing of another's in the staff UI: lists, counts,
filters, forms' choices, autocompletes, object pages and actions (SPEC §9, §11)."""

from __future__ import annotations

import pytest
from django.contrib import admin

from agents.models import Job
from billing.models import Role
from schedules.models import Schedule
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LISTS = [
    "/app/schedules/schedule/",
    "/app/schedules/scheduleevent/",
    "/app/agents/job/",
    "/app/agents/agent/",
    "/app/agents/script/",
    "/app/vault/vaultentry/",
]


def _other_tenant_markers(globex) -> list[str]:
    return [
        "globex",
        "Globex",
        "GLOBEX",
        str(globex["job"].pk)[:8],
        str(globex["schedule"].pk),
        str(globex["agent"].pk),
        str(globex["script"].pk),
    ]


@pytest.mark.parametrize("url", LISTS)
def test_it_lists_and_counts_only_the_users_organization(url, acme, globex, staff_client):
    client = staff_client(acme["org"], Role.ADMIN)
    response = client.get(url)
    assert response.status_code == 200
    text = response.content.decode()
    for marker in _other_tenant_markers(globex):
        assert marker not in text, (url, marker)
    changelist = response.context["cl"]
    assert changelist.result_count == 1
    assert changelist.full_result_count == 1
    assert f"1 {changelist.opts.verbose_name}" in text  # the paginator's count

    # A search that finds nothing still counts only this organization's rows.
    searched = client.get(url + "?q=no-such-thing").content.decode()
    assert "0 results" in searched
    assert "1 total" in searched


def test_it_offers_only_own_agents_and_schedules_in_the_list_filters(acme, globex, staff_client):
    client = staff_client(acme["org"], Role.VIEWER)
    for url in ("/app/schedules/schedule/", "/app/agents/job/", "/app/schedules/scheduleevent/"):
        text = client.get(url).content.decode()
        assert "acme" in text
        assert "globex agent" not in text
        assert "globex schedule" not in text


def test_it_offers_only_own_scripts_agents_and_vault_keys_in_the_schedule_form(
    acme, globex, staff_client
):
    client = staff_client(acme["org"], Role.ADMIN)
    for url in (
        "/app/schedules/schedule/add/",
        f"/app/schedules/schedule/{acme['schedule'].pk}/change/",
    ):
        response = client.get(url)
        assert response.status_code == 200
        form = response.context["adminform"].form
        assert list(form.fields["script"].queryset) == [acme["script"]]
        assert list(form.fields["agent"].queryset) == [acme["agent"]]
        assert [value for value, _ in form.fields["vault_keys"].choices] == ["ACME_PASSWORD"]
        text = response.content.decode()
        for marker in _other_tenant_markers(globex):
            assert marker not in text, (url, marker)


def test_it_refuses_another_organizations_agent_posted_into_the_form(acme, globex, staff_client):
    from schedules.tests.admin.forms import schedule_form
    from tests.fixtures import form_errors

    client = staff_client(acme["org"], Role.ADMIN)
    response = client.post(
        "/app/schedules/schedule/add/",
        schedule_form(acme, agent=str(globex["agent"].pk), script=str(globex["script"].pk)),
    )
    errors = form_errors(response)
    assert "Select a valid choice" in errors["agent"][0]
    assert "Select a valid choice" in errors["script"][0]
    assert Schedule.objects.filter(organization=acme["org"]).count() == 1


AUTOCOMPLETES = [
    ("schedules", "schedule", "agent"),
    ("schedules", "schedule", "script"),
    ("schedules", "schedule", "organization"),
    ("agents", "job", "schedule"),
    ("agents", "job", "agent"),
    ("schedules", "scheduleevent", "job"),
    ("vault", "vaultentry", "organization"),
]


@pytest.mark.parametrize(("app_label", "model_name", "field_name"), AUTOCOMPLETES)
def test_it_answers_autocompletes_with_own_objects_only(
    app_label, model_name, field_name, acme, globex, staff_client
):
    client = staff_client(acme["org"], Role.ADMIN)
    response = client.get(
        "/app/autocomplete/",
        {"app_label": app_label, "model_name": model_name, "field_name": field_name, "term": ""},
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 1
    own_ids = {str(acme[k].pk) for k in ("agent", "script", "schedule", "job")} | {
        str(acme["org"].pk)
    }
    assert results[0]["id"] in own_ids
    assert "globex" not in response.content.decode().lower()


@pytest.mark.parametrize("kind", ["schedule", "job", "agent", "script", "event"])
def test_it_404s_another_organizations_object_page(kind, acme, globex, staff_client):
    paths = {
        "schedule": "schedules/schedule",
        "job": "agents/job",
        "agent": "agents/agent",
        "script": "agents/script",
        "event": "schedules/scheduleevent",
    }
    client = staff_client(acme["org"], Role.OWNER)
    other = globex[kind]
    assert client.get(f"/app/{paths[kind]}/{other.pk}/change/").status_code == 404
    assert client.get(f"/app/{paths[kind]}/{acme[kind].pk}/change/").status_code == 200


def test_it_ignores_another_organizations_ids_posted_to_an_action(acme, globex, staff_client):
    client = staff_client(acme["org"], Role.OWNER)
    before = Job.objects.filter(organization=globex["org"]).count()
    for action in ("run_now", "pause_schedules", "dry_run"):
        client.post(
            "/app/schedules/schedule/",
            {
                "action": action,
                "_selected_action": [str(globex["schedule"].pk)],
                "apply": "1",
                "note": "x",
            },
        )
    globex["schedule"].refresh_from_db()
    assert globex["schedule"].enabled is True
    assert Job.objects.filter(organization=globex["org"]).count() == before


def test_it_shows_a_superuser_every_organization(acme, globex):
    from django.test import Client

    client = Client()
    client.force_login(UserFactory(is_superuser=True))
    response = client.get("/app/schedules/schedule/")
    assert response.context["cl"].result_count == 2
    assert admin.site.is_registered(Schedule)
