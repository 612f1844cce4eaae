"""The suite runs on the services production uses: PostgreSQL and Redis (SPEC §2, §13)."""

from __future__ import annotations

import redis
from django.db import connection


def test_it_runs_on_postgresql(db: None) -> None:
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_it_reaches_redis(redis_client: redis.Redis) -> None:
    assert redis_client.ping() is True


def test_it_runs_redis_without_eviction(redis_client: redis.Redis) -> None:
    # A broker that evicts keys under memory pressure silently loses queued jobs.
    assert redis_client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
