"""The one log format of every process: web (gunicorn, or runserver), Celery worker and beat,
management commands and the agent runtime write JSON lines, one object per record:

    {"timestamp": "2025-03-30T01:30:00.123Z", "level": "INFO", "logger": "schedules.engine",
     "process": "MainProcess", "message": "tick triggered=3 ...", "event": "tick",
     "triggered": 3, ...}

`timestamp` is the record's time in UTC (ISO-8601, milliseconds, `Z`), `process` the process's
name (Celery's pool workers are `ForkPoolWorker-<n>`), then whatever the call passed as
`extra={...}`, and `exception` with the traceback when there is one.

The product's own records go through `log_event`: an `event` name and its fields become JSON
fields of their own (an int stays an int, a text with spaces stays one value), and the message
repeats them as `<event> key=value ...` for whoever reads the line rather than parses it.

It lives with the agent runtime because two programs use it that share nothing else: the agent
runtime, which loads no Django and nothing of the control plane, and the control plane
(config/settings.py's LOGGING names `JsonFormatter` by its dotted path — config imports no app —
and Celery and gunicorn's config/gunicorn.py take that LOGGING). So: standard library and
python-json-logger only.
"""

from __future__ import annotations

import json
import logging
import re
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


# Names a field of `log_event` cannot have: the record's own attributes (logging raises KeyError
# for them in `extra`), the names the formatter writes its fields under (a field would overwrite
# or duplicate them), those the formatter drops, and `event`, which the helper sets itself.
RESERVED_FIELDS = frozenset(
    {
        *logging.makeLogRecord({}).__dict__,
        *RESERVED_ATTRS,
        *RENAMED.values(),
        *NOT_DATA,
        "event",
    }
)
# A value shown bare in the message: no space, quote or `=` that would make it ambiguous.
_BARE = re.compile(r"[^\s\"'=]+")


def log_event(
    logger: logging.Logger,
    level: int,
    event: str,
    /,
    *,
    exc_info: bool = False,
    **fields: object,
) -> None:
    """Log `event` with `fields` as JSON fields of the record. Values stay JSON's own types
    (str, int, float, bool, None); anything else is logged as its str(). Raises TypeError for a
    field name in RESERVED_FIELDS: a programming error, caught by the first test that logs it."""
    clashing = sorted(RESERVED_FIELDS.intersection(fields))
    if clashing:
        raise TypeError(f"log_event({event!r}): reserved field names {clashing}")
    data = {key: _plain(value) for key, value in fields.items()}
    # stacklevel: the record names the caller's line, not this function's.
    logger.log(
        level,
        event_message(event, data),
        exc_info=exc_info,
        extra={"event": event, **data},
        stacklevel=2,
    )


def event_message(event: str, fields: dict[str, object]) -> str:
    """`<event> key=value ...`, a value quoted as a JSON string when it has a space, a quote or
    an `=` (or is empty), so that the message reads back unambiguously."""
    return " ".join([event, *(f"{key}={_shown(value)}" for key, value in fields.items())])


def _plain(value: object) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    # str() of a str subclass too: a Django TextChoices member becomes its value.
    return str(value)


def _shown(value: object) -> str:
    if not isinstance(value, str):
        return json.dumps(value)
    return value if _BARE.fullmatch(value) else json.dumps(value, ensure_ascii=False)
