"""Project-wide fixtures (loaded for every test package by the root conftest.py).

`make test` / `bin/testenv` run the suite against a throwaway PostgreSQL (DATABASE_URL) and Redis
(REDIS_URL) started for the run, so tests may use both for real.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
import redis


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
