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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction

from schedules.models import ExecutorLease

TICK_LEASE = "tick"


@contextmanager
def not_waiting_for_disk() -> Iterator[None]:
    """A transaction whose commit does not wait for its WAL to reach the disk (PostgreSQL's
    `synchronous_commit = off`, for this transaction only), for the tick's coordination rows:
    the lease and the heartbeat, rewritten every minute. A crash of PostgreSQL can lose the last
    such commit — never corrupt anything: the lease is then free (row locks and the unique
    idempotency key keep two ticks apart anyway) and the heartbeat a minute older. With it an
    idle tick waits for no disk flush (three of them took it from ~3 ms to ~20 ms with fsync
    on). Inside a caller's transaction it changes nothing: that commit is the caller's."""
    if connection.in_atomic_block or connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
        yield


def lease_acquire(*, name: str, now: datetime, ttl_seconds: int) -> str | None:
    """Return a holder token when the lease is ours, None when someone else holds it."""
    holder = uuid.uuid4().hex
    expires = now + timedelta(seconds=ttl_seconds)
    if connection.vendor == "postgresql":
        table = ExecutorLease._meta.db_table
        with not_waiting_for_disk(), connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {table} (name, holder, acquired_at, expires_at)
                VALUES (%s, %s, %s, %s)
                ON CONFLICT (name) DO UPDATE
                   SET holder = EXCLUDED.holder,
                       acquired_at = EXCLUDED.acquired_at,
                       expires_at = EXCLUDED.expires_at
                 WHERE {table}.expires_at <= %s
                RETURNING holder
                """,
                [name, holder, now, expires, now],
            )
            row = cursor.fetchone()
        return holder if row and row[0] == holder else None
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
    # Only our own lease: if it expired and someone took it over, it is theirs now. One
    # statement (QuerySet.delete() wraps even a fast delete in a transaction of its own).
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {ExecutorLease._meta.db_table} WHERE name = %s AND holder = %s",
            [name, holder],
        )


def lease_holder_until(*, name: str) -> datetime | None:
    return ExecutorLease.objects.filter(name=name).values_list("expires_at", flat=True).first()
