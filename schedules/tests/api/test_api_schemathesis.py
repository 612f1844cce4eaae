"""The API as a stranger sees it: schemathesis generates requests from /api/schema/ for EVERY
operation in it and runs them in-process against the WSGI app. No response may be a 5xx or
contradict the schema.

Each request carries the credentials its endpoint expects: an org admin's DRF token and
`X-Organization` for the user endpoints, `x-cron-key` for the cron and watchdog endpoints, the
agent's own token for its heartbeat. Half the generated ids in paths are swapped for real ones
of the caller's organization, so detail, update, pause, start, cancel and log operations reach
real objects and not only their 404s.

No request can spawn a process: the agent the paths name is `manual` (start and stop answer
409), and the schedule's agent is a `webhook` one pointed at a closed port, so the engine's
auto-start fails fast (the job fails as agent_start_failed) when execute or the cron endpoint
runs a real tick against the test database and the test Redis. A `scheduleId` in the execute
body is aimed at the real schedule like path ids are.

Bounded (a few examples per operation) so `make test` stays quick; marked `slow`.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from agents.models import Controller
from agents.services import agent_create
from billing.models import Role
from config.wsgi import application
from tests.factories import (
    JobFactory,
    MembershipFactory,
    OrganizationFactory,
    ScheduleFactory,
    ScriptFactory,
)
from vault.services import vault_set

CRON_SECRET = "schemathesis-cron-key"
REFERENCES = {"scheduleId": "schedules", "scriptId": "scripts", "agentId": "agents"}


@pytest.fixture(autouse=True)
def _keep_the_test_connection(db):
    # As Django's test client does: a request must not close the connection that holds the
    # test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class World:
    """One organization with one of everything, and the credentials to reach it."""

    user_headers: dict[str, str]
    agent_token: str
    ids: dict[str, str]  # first path segment after /api/ -> a real object's id
    calls: int = 0

    def headers_for(self, path: str) -> dict[str, str]:
        # schemathesis's WSGI transport asks for gzip, as HTTP libraries do, but reads the body
        # as it comes, undecoded: plain JSON here (gzip is config/tests/test_api_gzip.py's).
        plain = {"Accept-Encoding": "identity"}
        if path in ("/api/cron/scheduled-runs", "/api/jobs/watchdog"):
            return {"x-cron-key": CRON_SECRET} | plain
        if path.endswith("/heartbeat"):
            return {"Authorization": f"Agent {self.agent_token}"} | plain
        return self.user_headers | plain

    def aim(self, case) -> None:
        """Swap generated ids for real ones in every other case (hypothesis often repeats one
        UUID, so a coin tossed on the value itself would land the same way every time)."""
        self.calls += 1
        if self.calls % 2:
            return
        resource = case.path.split("/")[2]
        if resource in self.ids and "id" in (case.path_parameters or {}):
            case.path_parameters["id"] = self.ids[resource]
        if isinstance(case.body, dict):  # references in a body: execute's, a schedule's
            for field, target in REFERENCES.items():
                if isinstance(case.body.get(field), str):
                    case.body[field] = self.ids[target]


@pytest.fixture
def api_world(db, settings) -> World:
    settings.CRON_SECRET = CRON_SECRET
    org = OrganizationFactory.create()
    membership = MembershipFactory.create(organization=org, role=Role.ADMIN)
    agent, agent_token = agent_create(
        organization=org, name="Manual agent", slug="manual-agent", controller=Controller.MANUAL
    )
    webhook_agent, _ = agent_create(
        organization=org,
        name="Webhook agent",
        slug="webhook-agent",
        controller=Controller.WEBHOOK,
        controller_config={"url": f"http://127.0.0.1:{_closed_port()}/", "secret": "s"},
        auto_start=True,
    )
    script = ScriptFactory.create(organization=org)
    schedule = ScheduleFactory.create(
        organization=org, agent=webhook_agent, script=script, vault_keys=["SAP_PASSWORD"]
    )
    job = JobFactory.create(schedule=schedule)
    entry = vault_set(organization=org, key="SAP_PASSWORD", value="not-the-point-here")
    token = Token.objects.create(user=membership.user)
    return World(
        user_headers={"Authorization": f"Token {token.key}", "X-Organization": org.slug},
        agent_token=agent_token,
        ids={
            "schedules": str(schedule.id),
            "agents": str(agent.id),
            "scripts": str(script.id),
            "jobs": str(job.id),
            "vault": str(entry.id),
        },
    )


def _load(mode: GenerationMode):
    # Loaded at collection from the app itself (the schema view needs no database). Not
    # `schemathesis.pytest.from_fixture`: its lazy loader touches pytest internals gone in pytest 9.
    loaded = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    loaded.config.generation.update(modes=[mode])
    return loaded


valid = _load(GenerationMode.POSITIVE)
invalid = _load(GenerationMode.NEGATIVE)
BOUNDED = settings(
    max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


@pytest.mark.slow
@valid.parametrize()
@BOUNDED
def test_it_answers_valid_requests_as_the_schema_says(case, api_world):
    api_world.aim(case)
    case.call_and_validate(
        headers=api_world.headers_for(case.path),
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )


@pytest.mark.slow
@invalid.parametrize()
@BOUNDED
def test_it_answers_invalid_requests_without_a_5xx(case, api_world):
    # Invalid path parameters (`/api/agents/null,null/`) miss every route: the JSON 404 of
    # config.exceptions.not_found, which no operation documents, hence only "no 5xx" here.
    api_world.aim(case)
    case.call_and_validate(headers=api_world.headers_for(case.path), checks=[not_a_server_error])
