"""A saved schedule's next runs as the tick would run them, and the occurrences it would skip.

Pure (no database, no clock: `after` is passed in). The occurrences of the cadence (or the one
`run_at`) are walked in order and each is put to a list of rules; the first rule with a verdict
decides: a *skip* verdict lists the occurrence in `skipped` and goes on (a calendar's excluded
day or a maintenance window can be such a rule), a *stop* verdict lists it and ends the walk
(the end bound, `ended`; the run budget, `run_budget_spent`). An occurrence no rule objects to
is a run. The API's preview (GET /api/schedules/preview?scheduleId=…) and the admin's schedule
page both answer from here.

DST: `dst_transitions` finds where a zone's UTC offset changes between two instants, so the
preview can say "clocks go forward here" next to the runs that straddle it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from schedules import cron
from schedules.calendars import PlannedSkips
from schedules.models import Bounds, StopReason

# At most this many skipped occurrences are listed, and at most `count` + this many occurrences
# are looked at: a rule that skips every occurrence (a calendar excluding all of them) ends the
# walk instead of looping.
MAX_SKIPPED = 50
# Occurrences are whole minutes: "at or after t" is "strictly after t minus a microsecond".
_JUST_BEFORE = timedelta(microseconds=1)
# The scan for offset changes samples the zone this often, then bisects to the second. Two
# changes closer together than this would be seen as one (or none); no zone has had such since
# the tz database's 1970 horizon of interest for schedules.
_SCAN_STEP = timedelta(days=7)


@dataclass(frozen=True)
class Verdict:
    """What a rule says of one occurrence: skip it (`reason`), and whether none after it runs."""

    reason: str
    stops: bool = False


# A rule sees an occurrence and how many runs the walk has listed before it.
Rule = Callable[[datetime, int], Verdict | None]


@dataclass(frozen=True)
class SkippedRun:
    at: datetime
    reason: str


@dataclass(frozen=True)
class Walk:
    runs: list[datetime]
    skipped: list[SkippedRun]
    stopped_by: str = ""  # the reason of the stop verdict that ended the walk, if one did


@dataclass(frozen=True)
class Preview:
    runs: list[datetime]
    skipped: list[SkippedRun]
    # Why the schedule has no next run at all (a StopReason value), "" when it has one or more.
    stopped_reason: str = ""


@dataclass(frozen=True)
class DstTransition:
    at: datetime  # the first instant (UTC, whole second) with the new offset
    zone: str
    offset_before: timedelta
    offset_after: timedelta


def walk(occurrences: Iterator[datetime], rules: Sequence[Rule], *, count: int) -> Walk:
    """The first `count` occurrences no rule objects to, and those the rules skipped on the
    way (a stop ends the walk, listed)."""
    runs: list[datetime] = []
    skipped: list[SkippedRun] = []
    for looked_at, occurrence in enumerate(occurrences):
        if len(runs) >= count or looked_at >= count + MAX_SKIPPED:
            break
        verdict = next((v for rule in rules if (v := rule(occurrence, len(runs)))), None)
        if verdict is None:
            runs.append(occurrence)
            continue
        if len(skipped) < MAX_SKIPPED:
            skipped.append(SkippedRun(occurrence, verdict.reason))
        if verdict.stops:
            return Walk(runs, skipped, verdict.reason)
    return Walk(runs, skipped)


def ends_at_rule(ends_at: datetime | None) -> Rule:
    """No run at or after the end bound: the first occurrence there is where it stops."""

    def rule(occurrence: datetime, runs_before: int) -> Verdict | None:
        if ends_at is not None and occurrence >= ends_at:
            return Verdict(StopReason.ENDED, stops=True)
        return None

    return rule


def run_budget_rule(remaining_runs: int | None) -> Rule:
    """At most `remaining_runs` runs; the occurrence after the last one is where it stops."""

    def rule(occurrence: datetime, runs_before: int) -> Verdict | None:
        if remaining_runs is not None and runs_before >= remaining_runs:
            return Verdict(StopReason.RUN_BUDGET_SPENT, stops=True)
        return None

    return rule


def planned_skips_rule(planned: PlannedSkips) -> Rule:
    """The tick's planned skips (calendar_excluded, agent_maintenance): the same predicate as
    schedules.decisions asks, so the preview marks exactly the occurrences the tick skips."""

    def rule(occurrence: datetime, runs_before: int) -> Verdict | None:
        skip = planned.verdict(occurrence)
        return None if skip is None else Verdict(skip.reason)

    return rule


def bound_rules(bounds: Bounds) -> list[Rule]:
    # The end first: a last budgeted run that is also the last before the end stops the
    # schedule as `ended` (as the tick stores it).
    return [ends_at_rule(bounds.ends_at), run_budget_rule(bounds.remaining_runs)]


def occurrences_after(spec: cron.CronSpec | str, tz: str, after: datetime) -> Iterator[datetime]:
    """Every occurrence strictly after `after`, in order (lazily)."""
    occurrence = after
    while True:
        occurrence = cron.next_after(spec, tz, occurrence)
        yield occurrence


def schedule_preview(
    *,
    spec: cron.CronSpec | str | None,
    tz: str,
    bounds: Bounds,
    stopped_reason: str,
    after: datetime,
    count: int,
    rules: Sequence[Rule] = (),
) -> Preview:
    """A saved schedule's next `count` runs strictly after `after`, and the skipped occurrences
    among them: its bounds and run budget first, then `rules` (calendars, maintenance…).

    A stopped schedule (`stopped_reason`) has none. A one-time schedule has at most one, its
    `run_at`, if it is after `after`.
    """
    if stopped_reason:
        return Preview([], [], stopped_reason)
    all_rules = [*bound_rules(bounds), *rules]
    occurrences: Iterator[datetime]
    if bounds.run_at is not None:
        occurrences = iter([bounds.run_at] if bounds.run_at > after else [])
    elif spec is None:
        raise ValueError("a recurring schedule needs a cron spec")
    else:
        if bounds.starts_at is not None:
            after = max(after, bounds.starts_at - _JUST_BEFORE)
        occurrences = occurrences_after(spec, tz, after)
    result = walk(occurrences, all_rules, count=count)
    return Preview(result.runs, result.skipped, "" if result.runs else result.stopped_by)


def _offset(zone: tzinfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    return offset if offset is not None else timedelta(0)


def dst_transitions(zone_name: str, start: datetime, end: datetime) -> list[DstTransition]:
    """Every change of `zone_name`'s UTC offset in (start, end], in order."""
    zone = ZoneInfo(zone_name)
    found: list[DstTransition] = []
    lo = start.astimezone(UTC)
    end = end.astimezone(UTC)
    while lo < end:
        hi = min(lo + _SCAN_STEP, end)
        before, after = _offset(zone, lo), _offset(zone, hi)
        if before != after:
            # Bisect to the second: offset(a) == before, offset(b) == after.
            a, b = lo, hi
            while b - a > timedelta(seconds=1):
                mid = a + (b - a) / 2
                if _offset(zone, mid) == before:
                    a = mid
                else:
                    b = mid
            at = b.replace(microsecond=0)
            if _offset(zone, at) != after:
                at += timedelta(seconds=1)
            found.append(DstTransition(at, zone_name, before, after))
        lo = hi
    return found


def transitions_between(
    instants: Sequence[datetime], zones: Sequence[str], *, since: datetime | None = None
) -> list[DstTransition]:
    """The offset changes of each of `zones` (once each) between the first and the last of
    `instants` — or from `since` (the preview's start) to the last, so a change just before the
    first listed run, which moved it, is named too — ordered by instant then zone."""
    if not instants or (since is None and len(instants) < 2):
        return []
    start, end = min(instants) if since is None else since, max(instants)
    found = [t for zone in dict.fromkeys(zones) for t in dst_transitions(zone, start, end)]
    return sorted(found, key=lambda t: (t.at, t.zone))


def format_offset(offset: timedelta) -> str:
    """+05:30, -04:00, +00:00 (as ISO-8601 writes them)."""
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    text = f"{sign}{hours:02d}:{rest // 60:02d}"
    return text if rest % 60 == 0 else f"{text}:{rest % 60:02d}"


def in_zone(instant: datetime, zone_name: str) -> str:
    """`instant` as ISO-8601 wall time with the zone's offset there, whole seconds."""
    return instant.astimezone(ZoneInfo(zone_name)).isoformat(timespec="seconds")
