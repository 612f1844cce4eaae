"""Project-wide fixtures (loaded for every test package by the root conftest.py): the servers,
organizations and their rows, and callers by role — each defined here once, for every app's tests
and the cross-cutting suites (config/tests/test_one_set_of_fixtures.py keeps it so). An app's
conftest.py keeps only what that app's tests alone need.

`make test` / `bin/testenv` run the suite against a throwaway PostgreSQL (DATABASE_URL) and Redis
(REDIS_URL) started for the run, so tests may use both for real.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from django.apps import apps
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from billing.models import Role
from tests.factories import (
    AgentFactory,
    JobFactory,
    MembershipFactory,
    OrganizationFactory,
    ScheduleFactory,
    ScriptFactory,
    UserFactory,
    member,
)
from vault.services import vault_set

OUR_APPS = ("billing", "vault", "agents", "schedules")


def _where(url: str | None) -> str:
    """A service URL as a log may show it: scheme, host, port and path, never credentials."""
    if not url:
        return "(unset)"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port}{parts.path}"


def pytest_report_header(config: pytest.Config) -> list[str]:
    # Test output lands in CI logs: it names the servers, never their credentials (the URLs
    # are the platform's secrets, SPEC §7).
    return [
        f"DATABASE_URL: {_where(os.environ.get('DATABASE_URL'))}",
        f"REDIS_URL: {_where(os.environ.get('REDIS_URL'))}",
    ]


@pytest.fixture(scope="session")
def redis_url() -> str:
    from django.conf import settings

    url = getattr(settings, "REDIS_URL", None) or os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("no REDIS_URL: run the tests with `make test` or `bin/testenv`")
    return url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, list[str]]], None]:
    """fake_dns({"hooks.example.com": ["93.184.216.34"]}): from now on socket.getaddrinfo answers
    those names with those addresses, IP literals with themselves, `localhost` with 127.0.0.1
    and ::1, and any other name with "not found". A test that resolves webhook hosts (the
    agents.netguard checks) never asks a real DNS server; calling it again changes the answers
    (DNS that changes between a check and a connection)."""
    names: dict[str, list[str]] = {"localhost": ["127.0.0.1", "::1"]}

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002
        host = host.decode() if isinstance(host, bytes) else host
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            if host not in names:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
            addresses = names[host]
        port = int(port or 0)
        answers = []
        for address in addresses:
            if ":" in address:
                answers.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                answers.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return [a for a in answers if family in (0, a[0])]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names.update


@pytest.fixture
def control_plane_clock_is_time_machines(monkeypatch: pytest.MonkeyPatch) -> None:
    """For tests that freeze time with time-machine at a request's or task's entry: the control
    plane's clock (the database's, config.clock) follows the frozen process clock instead."""
    from django.utils import timezone

    monkeypatch.setattr("config.clock.control_plane_now", timezone.now)


# --- organizations and their rows --------------------------------------------------------------


@pytest.fixture
def org(db):
    return OrganizationFactory.create(slug="acme", name="Acme")


@pytest.fixture
def other_org(db):
    return OrganizationFactory.create(slug="globex", name="Globex")


@pytest.fixture
def agent(org):
    return AgentFactory.create(organization=org)


@pytest.fixture
def script(org):
    return ScriptFactory.create(organization=org)


def _world(organization, tag: str) -> dict:
    """An agent, a script, a schedule with a job and an event, a vault entry — names tagged."""
    agent = AgentFactory.create(organization=organization, name=f"{tag} agent", slug=f"{tag}-agent")
    script = ScriptFactory.create(organization=organization, name=f"{tag} script")
    schedule = ScheduleFactory.create(
        organization=organization, name=f"{tag} schedule", agent=agent, script=script
    )
    job = JobFactory.create(schedule=schedule, idempotency_key=f"{tag}-job")
    event = schedule.events.create(
        organization=organization, kind="triggered", job=job, created_at=job.created_at
    )
    entry = vault_set(organization=organization, key=f"{tag.upper()}_PASSWORD", value="s3cret")
    return {
        "org": organization,
        "agent": agent,
        "script": script,
        "schedule": schedule,
        "job": job,
        "event": event,
        "vault": entry,
    }


@pytest.fixture
def acme(org):
    """`org` with a bit of everything (see _world), names tagged "acme"."""
    return _world(org, "acme")


@pytest.fixture
def globex(other_org):
    """`other_org` with a bit of everything, names tagged "globex"."""
    return _world(other_org, "globex")


# --- callers by role ---------------------------------------------------------------------------


class MemberApiClient(APIClient):
    """An API client that knows the member it acts as (`.user`)."""

    user: Any


class MemberClient(Client):
    """A staff UI client that knows the member it is logged in as (`.user`)."""

    user: Any


@pytest.fixture
def client_for(db):
    """client_for(org, role) -> an APIClient authenticated as a member of `org` with `role`
    (its user as `.user`). The role is always named: what a caller may do is the point.
    token=True sends a real DRF token instead, through the API's authentication as a script
    would (one more query per request)."""

    def make(organization, role: Role, *, token: bool = False) -> MemberApiClient:
        membership = MembershipFactory.create(organization=organization, role=role)
        client = MemberApiClient()
        if token:
            key = Token.objects.create(user=membership.user).key
            client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        else:
            client.force_authenticate(membership.user)
        client.user = membership.user
        return client

    return make


@pytest.fixture
def api(org, client_for):
    """An admin of `org`, on the API."""
    return client_for(org, Role.ADMIN)


@pytest.fixture
def superuser_client(db):
    """A superuser on the API (no membership: sees every organization)."""
    user = UserFactory.create(is_superuser=True, is_staff=True)
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def staff_client(db):
    """staff_client(org, role) -> a Client logged in to the staff UI (the admin) as a staff
    member of `org` with `role` (its user as `.user`)."""

    def make(organization, role: Role) -> MemberClient:
        client = MemberClient()
        client.user = member(organization, role)
        client.force_login(client.user)
        return client

    return make


def form_errors(response) -> dict:
    """Field errors of an admin form on a re-rendered page ({} when it saved)."""
    context = response.context
    if context is None or "adminform" not in context:
        return {}
    return {k: [str(m) for m in v] for k, v in context["adminform"].form.errors.items()}


# --- writes that must leave nothing ------------------------------------------------------------


def row_counts() -> dict[str, int]:
    """Rows of every model of our apps (and auth users), to show a failed write left nothing."""
    models = [m for name in OUR_APPS for m in apps.get_app_config(name).get_models()]
    models.append(apps.get_model("auth", "User"))
    return {m._meta.label: m._default_manager.count() for m in models}


@pytest.fixture
def assert_no_rows_written(db):
    """with assert_no_rows_written(): <a write that must fail> — counts rows before and after."""

    @contextmanager
    def check():
        before = row_counts()
        yield
        assert row_counts() == before

    return check
