"""Reading timestamps from PostgreSQL at the speed of psycopg's C build.

Django loads every `timestamptz` through a loader of its own (a subclass of psycopg's pure-Python
one that sets the connection's timezone on each value): some 7 µs a value, six of them in every
schedule row, where psycopg's C loader takes one. The C loader gives the same value when the
session's TimeZone is UTC — an aware datetime in `datetime.timezone.utc`, which is what Django
sets on it — and Django keeps a loader whose `timezone` is already its own (create_cursor). So a
new connection gets the C loader, behind that attribute, whenever both are UTC (always here:
settings.TIME_ZONE and USE_TZ); otherwise, or without the C build, Django's loader stays.
"""

from __future__ import annotations

import datetime

from django.db.backends.signals import connection_created

_UTC = datetime.UTC


def _native_loader():
    """psycopg's C timestamptz text loader, or None without the C build (or without psycopg)."""
    try:
        from psycopg import adapters
        from psycopg.pq import Format
        from psycopg.types.datetime import TimestamptzLoader as PythonLoader
    except ImportError:
        return None
    native = adapters.get_loader(adapters.types["timestamptz"].oid, Format.TEXT)
    if native is None or issubclass(native, PythonLoader):
        return None
    from psycopg.adapt import Loader

    class UtcTimestamptzLoader(Loader):
        """psycopg's C loader for a session in UTC; `timezone` is what Django compares."""

        timezone = _UTC

        def __init__(self, oid, context=None):
            super().__init__(oid, context)
            # The C class cannot be subclassed: its bound load() replaces the method below.
            self.load = native(oid, context).load

        def load(self, data):  # the instance's C load() is used instead (__init__)
            raise NotImplementedError

    return UtcTimestamptzLoader


_LOADER = _native_loader()


def use_native_timestamptz_loader(sender, connection, **kwargs) -> None:
    """connection_created receiver (connected by SchedulesConfig.ready)."""
    if _LOADER is None or connection.vendor != "postgresql":
        return
    if connection.timezone is not _UTC or connection.timezone_name != "UTC":
        return
    connection.connection.adapters.register_loader("timestamptz", _LOADER)


def connect() -> None:
    connection_created.connect(
        use_native_timestamptz_loader, dispatch_uid="use_native_timestamptz_loader"
    )
