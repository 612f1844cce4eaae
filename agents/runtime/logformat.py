"""The one log format of every process: web (gunicorn, or runserver), Celery worker and beat,
management commands and the agent runtime write JSON lines, one object per record:

    {"timestamp": "2025-03-30T01:30:00.123Z", "level": "INFO", "logger": "schedules.engine",
     "process": "MainProcess", "message": "event=tick triggered=3 ...", ...}

`timestamp` is the record's time in UTC (ISO-8601, milliseconds, `Z`), `process` the process's
name (Celery's pool workers are `ForkPoolWorker-<n>`), then whatever the call passed as
`extra={...}`, and `exception` with the traceback when there is one.

It lives with the agent runtime because two programs use it that share nothing else: the agent
runtime, which loads no Django and nothing of the control plane, and the control plane
(config/settings.py's LOGGING names `JsonFormatter` by its dotted path — config imports no app —
and Celery and gunicorn's config/gunicorn.py take that LOGGING). So: standard library and
python-json-logger only.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

FIELDS = ["asctime", "levelname", "name", "processName", "message"]
RENAMED = {
    "asctime": "timestamp",
    "levelname": "level",
    "name": "logger",
    "processName": "process",
    "exc_info": "exception",
    "stack_info": "stack",
}
# Attributes some libraries attach to records that are objects for their own handlers, not data:
# Django's `request` (its repr carries the query string) and runserver's `server_time` (the
# timestamp again, in local time).
NOT_DATA = ["request", "server_time"]


class JsonFormatter(_LibraryJsonFormatter):
    """python-json-logger's formatter with the fields above; takes no format of its own, so that
    every configuration of it writes the same fields."""

    def __init__(self) -> None:
        super().__init__(
            FIELDS,
            rename_fields=RENAMED,
            reserved_attrs=[*RESERVED_ATTRS, *NOT_DATA],
            # Non-ASCII text stays readable; a line is still one line (json escapes newlines).
            json_ensure_ascii=False,
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, tz=UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def logging_config(
    *, level: str, loggers: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A `logging.config.dictConfig` dict: every record to stderr through the JSON formatter,
    via the root logger (named loggers propagate to it and get no handler of their own)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": loggers or {},
    }
