"""The executor lease: one full tick at a time, and a crashed holder cannot wedge it.

A lease is a row (name, holder, expires_at). Taking it is one atomic statement: insert it, or
take it over if it has expired — `INSERT … ON CONFLICT DO UPDATE … WHERE expires_at <= now`
on PostgreSQL; Django's update-then-insert elsewhere (the SQLite demo has one beat process).

The holder keeps it by renewing it between steps of its work (`lease_renew`): a compare-and-swap
on the holder token, so a holder whose lease expired and was taken over learns it there (zero
rows updated) and stops. Times are the caller's: the tick renews at its `now` plus the time it
has run, so the lease lives on the same timeline as the tick that took it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg
from django.db import IntegrityError, connection, transaction

from schedules.models import ExecutorLease

TICK_LEASE = "tick"


# The first statement of a coordination write: synchronous_commit off for its transaction only.
_NOT_WAITING = "SELECT set_config('synchronous_commit', 'off', true)"


def commit_not_waiting_for_disk(statements: Sequence[tuple[str, Sequence[Any]]]) -> list[tuple]:
    """Run `statements` as one transaction whose commit does not wait for its WAL to reach the
    disk (PostgreSQL's `synchronous_commit = off`, for this transaction only), for the tick's
    coordination rows: the lease and the heartbeat, rewritten every minute. Returns the last
    statement's rows.

    One round trip: the statements go as one query, which PostgreSQL runs as one transaction,
    the setting made local to it first (`set_config(…, true)`). An idle tick is then three round
    trips — the lease, the question of what to do, the heartbeat with the lease's release —
    where BEGIN, SET LOCAL and COMMIT around each write made it ten.

    A crash of PostgreSQL can lose the last such commit — never corrupt anything: the lease is
    then free (row locks and the unique idempotency key keep two ticks apart anyway) and the
    heartbeat a minute older. Inside a caller's transaction (or on SQLite, the demo) the
    statements run one by one and the commit is the caller's."""
    with connection.cursor() as cursor:
        one_query = (
            connection.vendor == "postgresql"
            and not connection.in_atomic_block
            # Client-side binding (Django's default): a query of several statements is allowed.
            and isinstance(getattr(cursor, "cursor", None), psycopg.ClientCursor)
        )
        if one_query:
            cursor.execute(
                "; ".join([_NOT_WAITING, *(sql for sql, _ in statements)]),
                [param for _, params in statements for param in params],
            )
            while cursor.nextset():  # to the last statement's result
                pass
        else:
            for sql, params in statements:
                cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def lease_acquire(*, name: str, now: datetime, ttl_seconds: int) -> str | None:
    """Return a holder token when the lease is ours, None when someone else holds it."""
    holder = uuid.uuid4().hex
    expires = now + timedelta(seconds=ttl_seconds)
    if connection.vendor == "postgresql":
        table = ExecutorLease._meta.db_table
        rows = commit_not_waiting_for_disk(
            [
                (
                    f"INSERT INTO {table} (name, holder, acquired_at, expires_at) "
                    "VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, "
                    "acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at "
                    f"WHERE {table}.expires_at <= %s RETURNING holder",
                    [name, holder, now, expires, now],
                )
            ]
        )
        return holder if rows and rows[0][0] == holder else None
    taken = ExecutorLease.objects.filter(name=name, expires_at__lte=now).update(
        holder=holder, acquired_at=now, expires_at=expires
    )
    if taken:
        return holder
    try:
        with transaction.atomic():
            ExecutorLease.objects.create(
                name=name, holder=holder, acquired_at=now, expires_at=expires
            )
    except IntegrityError:
        return None
    return holder


def lease_renew(*, name: str, holder: str, now: datetime, ttl_seconds: float) -> bool:
    """Extend our lease to `now + ttl`; False when it is no longer ours (stop at once).

    Renewing a lease that expired but was not taken over is sound: nobody else acted on it, and
    a concurrent take-over is serialized by the row lock of this UPDATE (one of the two wins)."""
    return bool(
        ExecutorLease.objects.filter(name=name, holder=holder).update(
            expires_at=now + timedelta(seconds=ttl_seconds)
        )
    )


def lease_release(*, name: str, holder: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(*lease_release_statement(name=name, holder=holder))


def lease_release_statement(*, name: str, holder: str) -> tuple[str, list[Any]]:
    """Only our own lease: if it expired and someone took it over, it is theirs now. One
    statement (QuerySet.delete() wraps even a fast delete in a transaction of its own), which
    the tick sends with its heartbeat's (commit_not_waiting_for_disk)."""
    return (
        f"DELETE FROM {ExecutorLease._meta.db_table} WHERE name = %s AND holder = %s",
        [name, holder],
    )


def lease_holder_until(*, name: str) -> datetime | None:
    return ExecutorLease.objects.filter(name=name).values_list("expires_at", flat=True).first()
