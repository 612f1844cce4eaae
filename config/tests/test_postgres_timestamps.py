"""Timestamps are read with psycopg's C loader (config/postgres.py) and come out exactly as
Django's own loader gives them: aware, in datetime.timezone.utc, to the microsecond."""

import datetime

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader  # type: ignore[import-untyped]
from psycopg.postgres import types

from config import postgres

pytestmark = pytest.mark.django_db

INSTANTS = (
    "'2026-03-29 01:30:00.123456+02'",  # an offset other than UTC: the same instant, in UTC
    "'2026-10-25 00:59:59.999999+00'",
    "'0001-01-01 00:00:00+00'",
    "'9999-12-31 23:59:59.999999+00'",
    "NULL",
)
SQL = "SELECT " + ", ".join(f"{v}::timestamptz" for v in INSTANTS)


def _read(cursor):
    cursor.execute(SQL)
    return cursor.fetchone()


def test_connections_read_timestamptz_with_the_native_loader():
    connection.ensure_connection()
    oid = types["timestamptz"].oid
    loader = connection.connection.adapters.get_loader(oid, 0)
    assert loader is postgres._LOADER is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")  # Django's create_cursor kept it: its timezone agrees
        assert cursor.cursor.adapters.get_loader(oid, 0) is postgres._LOADER


def test_the_native_loader_reads_what_djangos_loader_reads():
    with connection.cursor() as cursor:
        native = _read(cursor)
    with connection.cursor() as cursor:
        register_tzloader(datetime.UTC, cursor.cursor)  # Django's, on this cursor only
        djangos = _read(cursor)
    assert native == djangos
    assert [type(v) for v in native] == [type(v) for v in djangos]
    assert all(v.tzinfo is datetime.UTC for v in native[:-1])
    assert native[0] == datetime.datetime(2026, 3, 28, 23, 30, 0, 123456, datetime.UTC)
    assert native[-1] is None
