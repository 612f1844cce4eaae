"""Project-wide fixtures (loaded for every test package by the root conftest.py).

`make test` / `bin/testenv` run the suite against a throwaway PostgreSQL (DATABASE_URL) and Redis
(REDIS_URL) started for the run, so tests may use both for real.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis


def pytest_report_header(config: pytest.Config) -> list[str]:
    database = os.environ.get("DATABASE_URL", "(unset: settings default)")
    return [
        f"DATABASE_URL: {database}",
        f"REDIS_URL: {os.environ.get('REDIS_URL', '(unset)')}",
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
