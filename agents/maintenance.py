"""Agent maintenance windows (SPEC §14 "When it runs") — pure: no DB, no clock.

An agent's `maintenance_windows` is a JSON list of

- weekly windows, {"days": ["sat", "sun"], "start": "22:00", "end": "02:00"}: from `start` on
  each of `days` until `end` (exclusive); an `end` at or before `start` crosses midnight into the
  next day ("24:00" is the end of the day);
- one-off ranges, {"from": "2026-12-24T18:00", "to": "2026-12-27T06:00"}: local date-times
  without an offset, `to` exclusive.

Both are read as wall time in the agent's own timezone (an IANA name, default UTC): an instant
is in a window when its local time there is, so a window keeps its wall-clock hours across DST
changes (and a window made only of wall times a spring-forward skips contains no instant).

Lives in agents (agents never import schedules); schedules' tick and preview ask `in_maintenance`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order
MAX_WINDOWS = 100
MAX_ONE_OFF = timedelta(days=366)
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d|24:00")
_LOCAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?")
EXAMPLE = '[{"days": ["sun"], "start": "01:00", "end": "05:00"}]'


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _local(value: object, where: str) -> datetime:
    if not isinstance(value, str) or not _LOCAL.fullmatch(value):
        raise ValueError(
            f"{where}: a local date-time without offset, e.g. 2026-12-24T18:00 (read in the "
            "agent's timezone)."
        )
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{where}: {value} is not a date-time.") from None


def _window_error(window: object, where: str) -> str | None:
    if not isinstance(window, dict):
        return f'{where}: a window is an object, e.g. {{"days": ["sun"], "start": "01:00", "end": "05:00"}}.'
    keys = set(window)
    if keys == {"from", "to"}:
        start, end = _local(window["from"], f"{where}.from"), _local(window["to"], f"{where}.to")
        if end <= start:
            return f"{where}: to must be after from."
        if end - start > MAX_ONE_OFF:
            return f"{where}: a one-off window spans at most {MAX_ONE_OFF.days} days."
        return None
    if keys != {"days", "start", "end"}:
        return (
            f'{where}: either a weekly window with "days", "start" and "end", or a one-off '
            'range with "from" and "to".'
        )
    days = window["days"]
    if (
        not isinstance(days, list)
        or not days
        or not all(isinstance(d, str) and d in DAYS for d in days)
        or len(set(days)) != len(days)
    ):
        return f"{where}.days: a non-empty list of distinct days among {', '.join(DAYS)}."
    for name in ("start", "end"):
        value = window[name]
        if not isinstance(value, str) or not _HHMM.fullmatch(value):
            return f"{where}.{name}: a wall time HH:MM, 00:00..23:59 (end may be 24:00)."
    if window["start"] == "24:00":
        return f"{where}.start: 24:00 is only an end; start the window at 00:00."
    if window["start"] == window["end"]:
        return f"{where}: start and end are equal; for a whole day write 00:00 to 24:00."
    return None


def windows_error(value: object) -> str | None:
    """What is wrong with `maintenance_windows` (the window's index named), or None."""
    if not isinstance(value, list):
        return f"Must be a list of windows, e.g. {EXAMPLE}."
    if len(value) > MAX_WINDOWS:
        return f"At most {MAX_WINDOWS} windows (got {len(value)})."
    for index, window in enumerate(value):
        try:
            error = _window_error(window, f"maintenanceWindows[{index}]")
        except ValueError as exc:
            error = str(exc)
        if error:
            return error
    return None


def _in_weekly(local: datetime, window: Mapping[str, Any]) -> bool:
    start, end = _minutes(window["start"]), _minutes(window["end"])
    now = local.hour * 60 + local.minute
    today = DAYS[local.weekday()]
    yesterday = DAYS[(local.weekday() - 1) % 7]
    if start < end:  # within one day
        return today in window["days"] and start <= now < end
    # Crosses midnight: the evening of a listed day, or the morning after one.
    return (today in window["days"] and now >= start) or (yesterday in window["days"] and now < end)


def in_maintenance(
    occurrence_utc: datetime, agent_tz: str, windows: Sequence[Mapping[str, Any]]
) -> bool:
    """Whether the instant falls in one of the (valid) windows, read in the agent's timezone."""
    if not windows:
        return False
    if occurrence_utc.tzinfo is None:
        raise ValueError("occurrence_utc must be aware")
    local = occurrence_utc.astimezone(ZoneInfo(agent_tz))
    wall = local.replace(tzinfo=None, fold=0)
    for window in windows:
        if "from" in window:
            if (
                datetime.fromisoformat(window["from"])
                <= wall
                < datetime.fromisoformat(window["to"])
            ):
                return True
        elif _in_weekly(local, window):
            return True
    return False
