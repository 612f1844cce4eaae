"""/api/schema/ is a valid OpenAPI 3 document describing our endpoints; /api/docs/ renders."""

from __future__ import annotations

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_it_serves_an_openapi_schema_with_every_crud_path(api):
    response = api.get("/api/schema/?format=json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in [
        "/api/schedules/",
        "/api/schedules/{id}/",
        "/api/schedules/{id}/pause",
        "/api/schedules/{id}/resume",
        "/api/schedules/{id}/events/",
        "/api/schedules/{id}/jobs/",
        "/api/schedules/preview",
        "/api/agents/",
        "/api/agents/{id}/",
        "/api/scripts/",
        "/api/scripts/{id}/",
        "/api/jobs/",
        "/api/jobs/{id}/",
        "/api/jobs/{id}/log",
    ]:
        assert path in schema["paths"], path
    schedule = schema["components"]["schemas"]["Schedule"]["properties"]
    assert {"cronExpression", "scriptId", "nextRunAt", "missingVaultKeys"} <= set(schedule)
    params = {p["name"] for p in schema["paths"]["/api/schedules/"]["get"]["parameters"]}
    assert {"agentId", "enabled", "lastRunStatus", "page", "pageSize"} <= params
    created = schema["paths"]["/api/agents/"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"]["$ref"].endswith("/AgentCreated")


def test_it_documents_error_responses(api):
    schema = api.get("/api/schema/?format=json").json()

    update = schema["paths"]["/api/schedules/{id}/"]["patch"]["responses"]
    assert {"200", "400", "401", "403", "404"} <= set(update)


def test_it_serves_the_docs_page(api):
    response = api.get("/api/docs/")

    assert response.status_code == 200
    assert b"/api/schema/" in response.content


def test_it_generates_the_schema_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml"))
