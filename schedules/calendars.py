"""Organization calendars of excluded dates (SPEC §14 "When it runs") — pure: no DB, no clock.

A calendar's `dates` is a JSON list whose entries are a day, "YYYY-MM-DD", or an inclusive range
of days, {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}. A day is a *local* day of the schedule's
timezone: an occurrence is excluded when its wall-clock date there is one of them, so a holiday
in Pacific/Auckland covers its local midnight to midnight — whatever the UTC offset is that day
(SPEC §4's DST rules: the wall clock decides, as for the cron itself).

The tick (schedules.decisions) and the preview (schedules.preview) both ask `excluded`, so the
preview marks exactly the occurrences the tick skips.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from agents.maintenance import in_maintenance

# An entry as stored: "YYYY-MM-DD" or {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}.
DateEntry = str | dict[str, str]

MAX_ENTRIES = 1000
# A range longer than a year is more likely a typo in the year than a freeze.
MAX_RANGE_DAYS = 366
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _day(value: object, where: str) -> date:
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise ValueError(f"{where}: write a date as YYYY-MM-DD, e.g. 2026-12-25.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{where}: {value} is not a date.") from None


def dates_error(value: object) -> str | None:
    """What is wrong with a calendar's `dates` (the entry's index named), or None."""
    if not isinstance(value, list):
        return 'Must be a list of dates, e.g. ["2026-12-25", {"from": "2026-08-01", "to": "2026-08-15"}].'
    if len(value) > MAX_ENTRIES:
        return f"At most {MAX_ENTRIES} entries (got {len(value)}): use date ranges."
    for index, entry in enumerate(value):
        where = f"dates[{index}]"
        try:
            if isinstance(entry, dict):
                if set(entry) != {"from", "to"}:
                    return f'{where}: a range has exactly the keys "from" and "to".'
                start = _day(entry["from"], f"{where}.from")
                end = _day(entry["to"], f"{where}.to")
                if end < start:
                    return f"{where}: from ({start}) must not be after to ({end})."
                if (end - start).days + 1 > MAX_RANGE_DAYS:
                    return f"{where}: a range spans at most {MAX_RANGE_DAYS} days."
            else:
                _day(entry, where)
        except ValueError as exc:
            return str(exc)
    return None


def local_date(occurrence_utc: datetime, tz: str) -> date:
    """The wall-clock date of an instant in `tz` (DST-aware: zoneinfo's offset at that instant)."""
    if occurrence_utc.tzinfo is None:
        raise ValueError("occurrence_utc must be aware")
    return occurrence_utc.astimezone(ZoneInfo(tz)).date()


def excluded(occurrence_utc: datetime, tz: str, dates: Sequence[DateEntry]) -> bool:
    """Whether the occurrence falls on an excluded day: its local date in `tz` (the schedule's
    timezone) is one of `dates` or within one of its ranges (inclusive)."""
    if not dates:
        return False
    day = local_date(occurrence_utc, tz)
    for entry in dates:
        if isinstance(entry, dict):
            if date.fromisoformat(entry["from"]) <= day <= date.fromisoformat(entry["to"]):
                return True
        elif date.fromisoformat(entry) == day:
            return True
    return False


# Reasons of the planned skips (SkipReason's values; defined here so this module stays free of
# the models).
CALENDAR_EXCLUDED = "calendar_excluded"
AGENT_MAINTENANCE = "agent_maintenance"


@dataclass(frozen=True)
class PlannedSkips:
    """What decides a schedule's planned skips: its calendars (name, dates), read in its
    timezone, and its agent's maintenance windows, read in the agent's. The tick
    (schedules.decisions) and the preview (schedules.preview) both ask `verdict`."""

    tz: str = "UTC"
    calendars: Sequence[tuple[str, Sequence[DateEntry]]] = ()
    agent_tz: str = "UTC"
    windows: Sequence[Mapping[str, Any]] = ()

    def verdict(self, occurrence_utc: datetime, *, manual: bool = False) -> Skip | None:
        """Calendars first, then maintenance. A manual (forced) run is not held back by a
        calendar — someone chose to run it that day — but an agent under maintenance is."""
        if not manual:
            for name, dates in self.calendars:
                if excluded(occurrence_utc, self.tz, dates):
                    day = local_date(occurrence_utc, self.tz)
                    return Skip(
                        CALENDAR_EXCLUDED,
                        f"{day} ({self.tz}) is an excluded date of calendar '{name}'",
                    )
        if in_maintenance(occurrence_utc, self.agent_tz, self.windows):
            wall = occurrence_utc.astimezone(ZoneInfo(self.agent_tz))
            return Skip(
                AGENT_MAINTENANCE,
                f"the agent is in a maintenance window at {wall:%Y-%m-%d %H:%M} ({self.agent_tz})",
            )
        return None


@dataclass(frozen=True)
class Skip:
    reason: str
    detail: str
