"""The API as a stranger sees it: schemathesis generates requests from /api/schema/ and runs them
in-process against the WSGI app, as an admin of an organization that has a schedule, an agent,
a script, a job and a vault entry. No response may be a 5xx or contradict the schema.

Bounded (a few examples per operation) so `make test` stays quick; marked `slow`.
"""

from __future__ import annotations

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

from billing.models import Role
from config.wsgi import application
from tests.factories import JobFactory, MembershipFactory, OrganizationFactory, ScheduleFactory
from vault.models import VaultEntry

# Operations that belong to the engine and runner (execute, cron, watchdog, health) start real
# work (ticks, broker publishes); their own suites fuzz them. /api/vault/ is left out until its
# views document their 400/404 (config.api_common.ApiAutoSchema does that for a view).
EXCLUDED_PATHS = r"^/api/(schedules/execute|cron/|jobs/watchdog|health|vault/)"


@pytest.fixture(autouse=True)
def _keep_the_test_connection(db):
    # As Django's test client does: a request must not close the connection that holds the
    # test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_headers(db):
    org = OrganizationFactory()
    membership = MembershipFactory(organization=org, role=Role.ADMIN)
    schedule = ScheduleFactory(organization=org, vault_keys=["SAP_PASSWORD"])
    JobFactory(schedule=schedule)
    VaultEntry.objects.create(organization=org, key="SAP_PASSWORD", ciphertext="x")
    token = Token.objects.create(user=membership.user)
    return {"Authorization": f"Token {token.key}"}


def _load(mode: GenerationMode):
    # Loaded at collection from the app itself (the schema view needs no database). Not
    # `schemathesis.pytest.from_fixture`: its lazy loader touches pytest internals gone in pytest 9.
    loaded = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    loaded.config.generation.update(modes=[mode])
    return loaded.exclude(path_regex=EXCLUDED_PATHS)


valid = _load(GenerationMode.POSITIVE)
invalid = _load(GenerationMode.NEGATIVE)
BOUNDED = settings(
    max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


@pytest.mark.slow
@valid.parametrize()
@BOUNDED
def test_it_answers_valid_requests_as_the_schema_says(case, admin_headers):
    case.call_and_validate(
        headers=admin_headers,
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
def test_it_answers_invalid_requests_without_a_5xx(case, admin_headers):
    # Invalid path parameters (`/api/agents/null,null/`) miss every route: Django's own 404
    # page, not the API's JSON, hence only "no 5xx" here.
    case.call_and_validate(headers=admin_headers, checks=[not_a_server_error])
