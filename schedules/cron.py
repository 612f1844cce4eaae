"""Cron expressions and time: parse, validate, next fire instants in a timezone, describe.

Pure Python (zoneinfo, datetime, cron-descriptor for wording). No Django, no database, and no
function here reads the clock: callers pass ``after`` and get aware UTC instants back.

Grammar (SPEC §4) — the Vixie/ISC cron rules ops people already trust
-----------------------------------------------------------------------
Exactly five fields: minute hour day-of-month month day-of-week. ``*``, ``N``, ``A-B`` (A <= B),
``*/S``, ``A-B/S`` (S >= 1) and comma lists; month and weekday names (``JAN``, ``mon``), also in
ranges; weekday 0 and 7 are both Sunday (``MON-SUN`` is read as 1-7); macros ``@yearly @annually
@monthly @weekly @daily @midnight @hourly``. Two extensions: ``L`` in day-of-month (last day of
the month, alone or in a list) and ``DOW#n`` in day-of-week (n-th such weekday, n = 1..5).
Everything else is rejected with a message naming the field, what is wrong and what to write
instead (``5/15`` -> "write 5-59/15", ``MONDAY`` -> "use MON", ``0 0 30 2 *`` never fires, ...),
because the message is shown verbatim to whoever is editing the schedule.

Day rule: when the day-of-month or day-of-week field *text* starts with ``*`` both fields must
match; otherwise either one matching is enough (``0 0 13 * FRI`` = every Friday and every 13th,
``0 9 1-7 * */7`` = the first Sunday of the month).

DST: two kinds of schedule
--------------------------
*Interval* schedules (minute or hour field text starts with ``*``: ``*/15 * * * *``,
``0 * * * *``, ``*/20 1 * * *``, ``@hourly``) mean "every so often", so they follow real time:
they fire at every real instant whose local wall time matches. In a fall-back overlap that is
both passes of the repeated hour (fold=0 and fold=1); wall times inside a spring-forward gap
never happen, so they never fire.

*Fixed-time* schedules (everything else: ``30 2 * * *``) mean "once at this time of day", so they
fire once per matching wall time, at the first instant the local clock reaches that wall time:
in an overlap only in the first pass (fold=0) -- an ``after`` inside the second pass does not fire
it again -- and in a gap at the instant the gap ends (03:00 EDT for a 02:30 job in New York on
2024-03-10), so several skipped wall times collapse into one run and Australia/Lord_Howe's
30-minute gap moves a 02:15 job to 02:30.

How: ``parse`` expands each field into a sorted tuple / frozenset of allowed values (+ the ``L``
flag and the ``#n`` pairs). ``next_after`` searches *local wall-clock* time -- months not in the
month set are skipped whole, each (year, month) gets its matching days computed once and cached
on the spec, then ``bisect`` finds the hour and minute -- so a call costs a handful of steps,
never a minute-by-minute walk. Each candidate wall time ``w`` is then mapped to real instants with
``tz.utcoffset(w)`` for fold=0 and fold=1: equal offsets = one instant; fold=0 offset larger =
overlap (two instants: ``w - off0`` first pass, ``w - off1`` second pass); fold=0 offset smaller =
gap (no instant; the gap's end is found by bisecting the transition instant). Fixed-time
schedules take the first pass or the gap end; interval schedules take every real instant, and
when a fall-back is within the next few hours the wall search starts early enough to see the
replayed wall times (see ``_next_interval``).

croniter: kept out of the runtime path on purpose (verified against croniter 7.0.0). It
double-fires fixed-time jobs in a repeated hour (01:30 EDT and again 01:30 EST), applies OR to
``*/N`` in a day field (``0 0 */2 * MON`` fires on every odd day *and* every Monday; Vixie says
AND), and its field expansion -- the part one would reuse -- accepts reversed ranges (``10-5``)
and ``N/S`` without a range, with error messages that name neither the field nor the fix. So the
grammar is owned here (about 150 lines including the messages) and the time search too. croniter
stays useful as an independent oracle in the tests, in UTC, for plain expressions where its
semantics and ours agree; a brute-force minute-by-minute walk applying the DST rules literally is
the oracle around transitions. cron-descriptor is used for ``describe``; the day fields are
worded one at a time so the OR day rule, ``L`` in a list and ``#`` in a list read right.

Where cronsim differs (verified against cronsim 2.8; the tests' third oracle, asserted case by case
in ``schedules/tests/test_cron_oracles.py``). cronsim models DST the way SPEC §4 does (interval vs
fixed-time, the same day rule) and agrees everywhere else in those tests, but:

- an ``after`` in the second pass of a repeated hour, fixed-time schedule: cronsim reads it as a
  bare wall time (the first pass) and answers an instant *before* ``after``. ``30 1 * * *`` in
  America/New_York after 2024-11-03 06:10Z (01:10 EST): ours 2024-11-04 06:30Z, cronsim
  2024-11-03 05:30Z; likewise in Antarctica/Troll's 2-hour, Australia/Lord_Howe's 30-minute and
  Pacific/Chatham's overlaps;
- an interval schedule with an hour field across a 30-minute fall-back: ``*/30 2 * * *`` in
  Australia/Lord_Howe on 2024-04-07 fires at 02:00 +10:30 (15:30Z) here; cronsim steps real hours
  from 01:00 +11:00 to 01:30 and then 02:30 +10:30, and skips it;
- macros: cronsim takes five fields only and rejects ``@weekly``, ``@monthly`` ... ("Wrong number
  of fields"); written out (``0 0 * * 0``) it agrees.
"""

from __future__ import annotations

import calendar
import functools
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cron_descriptor import Options, get_description
from cron_descriptor.Exception import (
    FormatException,
    MissingFieldException,
    WrongArgumentException,
)

__all__ = [
    "CronError",
    "CronSpec",
    "describe",
    "next_after",
    "next_n",
    "parse",
    "validate_timezone",
]

FIELDS_HELP = "minute hour day-of-month month day-of-week"

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

MONTH_NAMES = (
    "JAN",
    "FEB",
    "MAR",
    "APR",
    "MAY",
    "JUN",
    "JUL",
    "AUG",
    "SEP",
    "OCT",
    "NOV",
    "DEC",
)
DOW_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
DOW_FULL = (
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
)
ORDINALS = ("first", "second", "third", "fourth", "fifth")

# Largest real-world fall-back step is 2 h (Antarctica/Troll); 3 h leaves margin. Used to decide
# whether wall times below `after`'s wall time can still fire (second pass of a repeated hour).
_FALLBACK_LOOKAHEAD = timedelta(hours=3)
# Any pattern of (month, day, weekday) repeats within the 400-year Gregorian cycle.
_SEARCH_YEARS = 401
_MINUTE = timedelta(minutes=1)
_SECOND = timedelta(seconds=1)


class CronError(ValueError):
    """An invalid cron expression or timezone; ``str(err)`` is the message to show the user."""


@dataclass(frozen=True)
class _Field:
    name: str
    lo: int
    hi: int
    names: tuple[str, ...] = ()  # names[i] is the value lo + i (months) or i (weekdays)


_MINUTE_F = _Field("minute", 0, 59)
_HOUR_F = _Field("hour", 0, 23)
_DOM_F = _Field("day-of-month", 1, 31)
_MONTH_F = _Field("month", 1, 12, MONTH_NAMES)
_DOW_F = _Field("day-of-week", 0, 7, DOW_NAMES)


@dataclass(frozen=True)
class CronSpec:
    """A parsed cron expression: immutable, hashable, safe to share between threads."""

    expression: str  # normalized source: "@daily", or 5 single-spaced fields with names upper-cased
    fields: tuple[str, str, str, str, str]  # the five field texts (macros expanded)
    minutes: tuple[int, ...]  # sorted
    hours: tuple[int, ...]  # sorted
    days_of_month: frozenset[int]
    last_day_of_month: bool  # "L" in day-of-month
    months: tuple[int, ...]  # sorted
    days_of_week: frozenset[int]  # 0 = Sunday .. 6 = Saturday (7 folded into 0)
    nth_weekdays: frozenset[tuple[int, int]]  # (weekday, n) from "DOW#n"
    dom_star: bool  # day-of-month text starts with "*"
    dow_star: bool  # day-of-week text starts with "*"
    is_interval: bool  # minute or hour text starts with "*": follows real time across DST
    # (year, month) -> sorted matching days. A memo, not part of the value: excluded from eq/hash.
    _day_memo: dict[tuple[int, int], tuple[int, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __str__(self) -> str:
        return self.expression

    def __hash__(self) -> int:
        # Equal specs have equal (normalized) expressions, so this agrees with __eq__; the
        # generated hash would hash every field's tuple at each memoized next_after() call.
        return hash(self.expression)

    @property
    def days_both_required(self) -> bool:
        """Vixie day rule: AND when either day field starts with '*', else OR."""
        return self.dom_star or self.dow_star

    def matching_days(self, year: int, month: int) -> tuple[int, ...]:
        """Sorted days of ``year``-``month`` on which the spec fires (month field ignored)."""
        key = (year, month)
        days = self._day_memo.get(key)
        if days is None:
            if len(self._day_memo) > 1024:  # long-lived specs: keep the memo small
                self._day_memo.clear()
            days = self._day_memo[key] = self._compute_days(year, month)
        return days

    def _compute_days(self, year: int, month: int) -> tuple[int, ...]:
        first_weekday, ndays = calendar.monthrange(year, month)  # Monday = 0
        # cron weekday of day d: Python Monday=0 -> cron Monday=1, so (first_weekday + d) % 7.
        doms, dows, nth = self.days_of_month, self.days_of_week, self.nth_weekdays
        both = self.days_both_required
        out = []
        for d in range(1, ndays + 1):
            dom_ok = d in doms or (self.last_day_of_month and d == ndays)
            wd = (first_weekday + d) % 7
            dow_ok = wd in dows or (bool(nth) and (wd, (d - 1) // 7 + 1) in nth)
            if (dom_ok and dow_ok) if both else (dom_ok or dow_ok):
                out.append(d)
        return tuple(out)


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------

_DIGITS = re.compile(r"[0-9]+")
_HASHED = re.compile(r"^H(?:$|[(/])")
_NEAREST_WEEKDAY = re.compile(r"^(?:[0-9]*|L)W$")


def _err(f: _Field, message: str) -> CronError:
    return CronError(f"{f.name}: {message}")


def _value(tok: str, f: _Field, item: str) -> int:
    """One number or name of field ``f``; ``item`` is the list item it came from (for messages)."""
    if _DIGITS.fullmatch(tok):
        v = int(tok)
        if not f.lo <= v <= f.hi:
            raise _err(f, f"{v} is out of range {f.lo}-{f.hi}")
        return v
    if tok.isalpha() and tok.isascii():
        if f.names:
            if tok in f.names:
                return f.names.index(tok) + (f.lo if f is _MONTH_F else 0)
            if len(tok) > 3 and tok[:3] in f.names:
                raise (
                    _err(
                        f,
                        f"'{tok}' is not supported; use the three-letter name {tok[:3]}",
                    )
                )
            what = (
                "a month; use JAN-DEC or 1-12" if f is _MONTH_F else "a weekday; use SUN-SAT or 0-7"
            )
            raise (_err(f, f"'{tok}' is not {what}"))
        raise (_err(f, f"'{tok}' is not a number; use {f.lo}-{f.hi}"))
    if tok == "":
        raise (_err(f, f"'{item}' is missing a value"))
    raise (_err(f, f"'{tok}' is not a number; use {f.lo}-{f.hi}"))


def _check_unsupported(item: str, f: _Field) -> None:
    if "?" in item:
        raise _err(f, "'?' is not supported; use '*'")
    if _HASHED.match(item):
        raise _err(f, f"'{item}' (hashed value) is not supported; pick a fixed value, e.g. 7")
    if _NEAREST_WEEKDAY.match(item):
        raise _err(f, f"'{item}' (nearest weekday) is not supported; use a day number or L")
    if item.startswith("-"):
        raise _err(f, f"negative value '{item}' is not allowed; use {f.lo}-{f.hi}")
    if f is _DOM_F:
        if "L" in item and item != "L":
            raise _err(
                f,
                f"'{item}' is not supported; use L alone for the last day of the month",
            )
    elif item == "L" or re.fullmatch(r"[0-9]+L|L-?[0-9]+", item):
        if f is _DOW_F:
            raise _err(
                f,
                f"'{item}' (last weekday of the month) is not supported; use DOW#n such as FRI#4",
            )
        raise _err(f, "L is only allowed in day-of-month (last day of the month)")
    if "#" in item and f is not _DOW_F:
        raise _err(f, "'#' is only allowed in day-of-week (e.g. MON#1)")


def _parse_item(item: str, f: _Field, values: set[int], nth: set[tuple[int, int]]) -> bool:
    """Add the values of one list item to ``values`` (or ``nth``); True if the item is ``L``."""
    _check_unsupported(item, f)
    if f is _DOM_F and item == "L":
        return True
    if "#" in item:  # day-of-week only (checked above)
        base, _, n_text = item.partition("#")
        if "-" in base or "/" in base or "*" in base or "#" in n_text:
            raise _err(f, f"'{item}' is not supported; '#' takes one weekday, e.g. MON#1")
        wd = _value(base, f, item) % 7
        if not _DIGITS.fullmatch(n_text) or not 1 <= int(n_text) <= 5:
            raise _err(f, f"'#{n_text}' in '{item}' is out of range; use #1 to #5")
        nth.add((wd, int(n_text)))
        return False

    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if "/" in step_text:
            raise _err(f, f"'{item}' has more than one '/'")
        if not _DIGITS.fullmatch(step_text):
            raise _err(f, f"step '{step_text}' in '{item}' is not a positive number")
        step = int(step_text)
        if step == 0:
            raise _err(f, f"step 0 in '{item}' is not allowed; use a step of 1 or more")

    if base == "*":
        lo, hi = f.lo, f.hi
    elif "-" in base:
        a_text, _, b_text = base.partition("-")
        if "-" in b_text or not a_text or not b_text:
            raise _err(f, f"'{item}' is not a valid range; write A-B such as {f.lo}-{f.hi}")
        lo, hi = _value(a_text, f, item), _value(b_text, f, item)
        if f is _DOW_F and b_text == "SUN" and lo > 0:
            hi = 7  # "MON-SUN", "FRI-SUN": Sunday as the end of the week
        if lo > hi:
            # Suggest the swap, and the list that wraps around (22-2 -> 22-23,0-2).
            if f is _DOW_F:
                top = "SAT" if a_text.isalpha() else "6"
            else:
                top = f.names[-1] if a_text.isalpha() else str(f.hi)
            bottom = f.names[0] if b_text.isalpha() else str(f.lo)
            head = a_text if a_text == top else f"{a_text}-{top}"
            tail = b_text if b_text == bottom else f"{bottom}-{b_text}"
            raise _err(
                f,
                f"range {a_text}-{b_text} is reversed; write {b_text}-{a_text}, or a list "
                f"such as {head},{tail} to wrap around",
            )
    else:
        lo = _value(base, f, item)
        if slash:
            top = (
                (f.names[-1] if base.isalpha() else str(f.hi))
                if f is not _DOW_F
                else ("SAT" if base.isalpha() else "6")
            )
            raise _err(f, f"'{item}' needs a range: write {base}-{top}/{step}")
        hi = lo
    for v in range(lo, hi + 1, step):
        values.add(v % 7 if f is _DOW_F else v)
    return False


def _parse_field(text: str, f: _Field) -> tuple[frozenset[int], frozenset[tuple[int, int]], bool]:
    values: set[int] = set()
    nth: set[tuple[int, int]] = set()
    last = False
    for item in text.split(","):
        if item == "":
            raise _err(f, f"empty item in list '{text}'; remove the extra comma")
        last |= _parse_item(item, f, values, nth)
    return frozenset(values), frozenset(nth), last


def _month_days_max(month: int) -> int:
    return 29 if month == 2 else calendar.monthrange(2001, month)[1]


def _check_can_fire(spec: CronSpec) -> None:
    """Reject day-of-month/month combinations that never happen (``0 0 30 2 *``).

    Only the AND form of the day rule can be impossible: with OR, the weekday part alone fires
    (a 5th weekday exists in every month of 29+ days). Any (month, day) happens on every weekday
    over the years, so weekday alignment never makes an AND form impossible -- only ``#n``
    restricting the day number can.
    """
    if not spec.days_both_required:
        return

    def dom_ok(month: int, d: int) -> bool:
        last = spec.last_day_of_month and (d == _month_days_max(month) or (month == 2 and d == 28))
        return d in spec.days_of_month or last

    def dow_ok(d: int) -> bool:
        return bool(spec.days_of_week) or any(n == (d - 1) // 7 + 1 for _, n in spec.nth_weekdays)

    if any(
        dom_ok(m, d) and dow_ok(d) for m in spec.months for d in range(1, _month_days_max(m) + 1)
    ):
        return
    month_names = ", ".join(MONTH_NAMES[m - 1] for m in spec.months)
    if not any(dom_ok(m, d) for m in spec.months for d in range(1, _month_days_max(m) + 1)):
        hint = (
            " Use L for the last day of the month."
            if max(spec.days_of_month, default=0) >= 29
            else ""
        )
        raise CronError(
            f"'{spec.expression}' can never run: day-of-month {spec.fields[2]} does not occur "
            f"in {month_names}.{hint}"
        )
    raise CronError(
        f"'{spec.expression}' can never run: day-of-month {spec.fields[2]} and day-of-week "
        f"{spec.fields[4]} never fall on the same day."
    )


@functools.lru_cache(maxsize=16384)
def parse(expression: str) -> CronSpec:
    """Parse and validate a cron expression; raises :class:`CronError` with a readable message.

    Cached: the tick parses the expressions of thousands of schedules every minute.
    """
    if not isinstance(expression, str):
        raise CronError("Cron expression must be a string.")
    text = expression.strip()
    if not text:
        raise CronError(
            f"Cron expression is empty; use 5 fields: {FIELDS_HELP}, e.g. '30 2 * * *'."
        )

    if text.startswith("@"):
        macro, *rest = text.split()
        macro = macro.lower()
        if macro == "@reboot":
            raise CronError(
                "@reboot is not supported: schedules run on the clock, not at start-up; "
                "use 5 fields such as '0 0 * * *'."
            )
        if macro == "@every" or macro.startswith("@every"):
            raise CronError(
                "@every is not supported; use a step, e.g. '*/15 * * * *' for every 15 minutes "
                "or '0 */2 * * *' for every 2 hours."
            )
        if macro not in MACROS:
            raise CronError(f"Unknown macro '{macro}'; use one of {', '.join(MACROS)}.")
        if rest:
            raise CronError(f"{macro} takes no fields; write either '{macro}' or 5 fields.")
        normalized, parts = macro, MACROS[macro].split()
    else:
        parts = text.upper().split()
        if len(parts) in (6, 7):
            raise CronError(
                f"{len(parts)} fields given: seconds/years are not supported; "
                f"use 5 fields: {FIELDS_HELP}."
            )
        if len(parts) != 5:
            raise CronError(f"Expected 5 fields ({FIELDS_HELP}), got {len(parts)}.")
        normalized = " ".join(parts)

    minute_t, hour_t, dom_t, month_t, dow_t = parts
    minutes, _, _ = _parse_field(minute_t, _MINUTE_F)
    hours, _, _ = _parse_field(hour_t, _HOUR_F)
    doms, _, last = _parse_field(dom_t, _DOM_F)
    months, _, _ = _parse_field(month_t, _MONTH_F)
    dows, nth, _ = _parse_field(dow_t, _DOW_F)

    spec = CronSpec(
        expression=normalized,
        fields=(minute_t, hour_t, dom_t, month_t, dow_t),
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days_of_month=doms,
        last_day_of_month=last,
        months=tuple(sorted(months)),
        days_of_week=dows,
        nth_weekdays=nth,
        dom_star=dom_t.startswith("*"),
        dow_star=dow_t.startswith("*"),
        is_interval=minute_t.startswith("*") or hour_t.startswith("*"),
    )
    _check_can_fire(spec)
    return spec


@functools.lru_cache(maxsize=1024)
def validate_timezone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name; raises :class:`CronError` for unknown or empty names."""
    if isinstance(name, str) and name.strip() == name and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise CronError(f"Unknown timezone '{name}'. Use an IANA name such as 'Europe/Paris'.")


# --------------------------------------------------------------------------------------------
# Next fire instants
# --------------------------------------------------------------------------------------------


def _time_at_or_after(spec: CronSpec, hour: int, minute: int) -> tuple[int, int] | None:
    hours, minutes = spec.hours, spec.minutes
    i = bisect_left(hours, hour)
    if i < len(hours) and hours[i] == hour:
        j = bisect_left(minutes, minute)
        if j < len(minutes):
            return hour, minutes[j]
        i += 1
    if i < len(hours):
        return hours[i], minutes[0]
    return None


def _next_wall(spec: CronSpec, start: datetime) -> datetime:
    """The first matching naive local wall time >= ``start`` (a naive whole minute)."""
    year, month, day = start.year, start.month, start.day
    hour, minute = start.hour, start.minute
    months = spec.months
    last_year = year + _SEARCH_YEARS
    while year <= last_year:
        if year > 9999:  # datetime.MAXYEAR
            raise CronError(f"'{spec.expression}' has no run before the year 10000.")
        i = bisect_left(months, month)
        if i == len(months):  # no more months this year
            year, month, day, hour, minute = year + 1, months[0], 1, 0, 0
            continue
        if months[i] != month:
            month, day, hour, minute = months[i], 1, 0, 0
        days = spec.matching_days(year, month)
        k = bisect_left(days, day)
        if k < len(days):
            if days[k] == day:
                t = _time_at_or_after(spec, hour, minute)
                if t is not None:
                    return datetime(year, month, day, t[0], t[1])
                k += 1
            if k < len(days):
                return datetime(year, month, days[k], spec.hours[0], spec.minutes[0])
        month, day, hour, minute = month + 1, 1, 0, 0
        if month == 13:
            year, month = year + 1, 1
    raise CronError(f"'{spec.expression}' does not run in the {_SEARCH_YEARS} years searched.")


def _utcoffset(tz: tzinfo, dt: datetime) -> timedelta:
    """``tz``'s UTC offset at ``dt`` (its wall time and fold). A zone answers for every time;
    a tzinfo that answers None (allowed by the protocol) has no instants for cron to fire at."""
    offset = tz.utcoffset(dt)
    if offset is None:
        raise CronError(f"The time zone {tz!r} gives no UTC offset for {dt:%Y-%m-%d %H:%M}.")
    return offset


def _offset_at(tz: tzinfo, utc_naive: datetime) -> timedelta:
    return _utcoffset(tz, tz.fromutc(utc_naive.replace(tzinfo=tz)))


def _gap_end(tz: tzinfo, wall: datetime, off0: timedelta, off1: timedelta) -> datetime:
    """The UTC instant (naive) at which the spring-forward gap containing ``wall`` ends.

    For a skipped wall time, fold=0 uses the offset before the jump and fold=1 the offset after,
    so the transition lies in (wall - off1, wall - off0]; bisect it to the second.
    """
    # Whole seconds: tz transitions (and offsets) are whole seconds, and halving a timedelta
    # would drift into microseconds.
    base = wall - off1
    before = _offset_at(tz, base)
    lo, hi = 0, int((off1 - off0).total_seconds())  # offset(base + lo) == before != at hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset_at(tz, base + timedelta(seconds=mid)) == before:
            lo = mid
        else:
            hi = mid
    end = base + timedelta(seconds=hi)
    if end.second or end.microsecond:  # keep fire instants on whole minutes
        end = end.replace(second=0, microsecond=0) + _MINUTE
    return end


def _floor_minute(dt: datetime) -> datetime:
    return dt.replace(second=0, microsecond=0)


def _next_fixed(spec: CronSpec, tz: tzinfo, after: datetime, wall: datetime) -> datetime:
    """Fixed-time: the first instant the local clock *reaches* a matching wall time.

    That instant is non-decreasing in the wall time, and every wall time <= ``wall`` (the wall
    time of ``after``) has already been reached by ``after`` -- in a second pass too -- so the
    search starts at the next minute and returns the first candidate later than ``after``.
    """
    w = _next_wall(spec, _floor_minute(wall) + _MINUTE)
    while True:
        off0 = _utcoffset(tz, w)
        off1 = _utcoffset(tz, w.replace(fold=1))
        if off0 >= off1:  # exists: unique, or the first pass of an overlap (fold=0)
            instant = w - off0
        else:  # in a spring-forward gap: the first valid instant after it
            instant = _gap_end(tz, w, off0, off1)
        if instant > after:
            return instant
        w = _next_wall(spec, w + _MINUTE)


def _next_interval(spec: CronSpec, tz: tzinfo, after: datetime, wall: datetime) -> datetime:
    """Interval: the first real instant after ``after`` whose local wall time matches.

    A matching wall time yields one instant, two in an overlap (fold=0 and fold=1), none in a gap.
    Walls are visited in wall order and instants compared in UTC; the search stops once the
    earliest instant the current wall can have (``w - max(off0, off1)``) is not earlier than
    the best found, since later walls cannot be reached before that. When a fall-back happens
    within the next few hours, the second pass replays wall times *below* ``wall``, so the
    search starts that much earlier.
    """
    off_now = _utcoffset(tz, wall)  # `wall` carries its fold, so this is the offset at `after`
    off_later = _offset_at(tz, after + _FALLBACK_LOOKAHEAD)
    start = wall
    if off_later < off_now:
        start = wall - (off_now - off_later)
    w = _next_wall(spec, _floor_minute(start) + _MINUTE)
    best: datetime | None = None
    while True:
        off0 = _utcoffset(tz, w)
        off1 = _utcoffset(tz, w.replace(fold=1))
        if off0 == off1:
            candidates: tuple[datetime, ...] = (w - off0,)
        elif off0 > off1:  # overlap: both passes are real instants with this wall time
            candidates = (w - off0, w - off1)
        else:  # gap: this wall time never happens
            candidates = ()
        for c in candidates:
            if c > after and (best is None or c < best):
                best = c
                break
        if best is not None and w - max(off0, off1) >= best:
            return best
        w = _next_wall(spec, w + _MINUTE)


def _as_spec(spec: CronSpec | str) -> CronSpec:
    return spec if isinstance(spec, CronSpec) else parse(spec)


def _as_tz(tz: str | tzinfo) -> tzinfo:
    return validate_timezone(tz) if isinstance(tz, str) else tz


def next_after(spec: CronSpec | str, tz: str | tzinfo, after: datetime) -> datetime:
    """The first fire instant strictly after ``after`` (aware, any tz), as aware UTC."""
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("next_after() needs an aware datetime for 'after', got a naive one.")
    return _next_after(_as_spec(spec), _as_tz(tz), after.astimezone(UTC).replace(tzinfo=None))


# Pure, so memoized: the tick asks it for every due schedule, and a minute's due rows share a
# few expressions and timezones (a 10,000-row minute of 15 expressions x 30 timezones asks
# ~450 distinct questions). Keyed by the naive UTC instant, so equal instants share an entry.
@functools.lru_cache(maxsize=65536)
def _next_after(s: CronSpec, zone: tzinfo, after_utc: datetime) -> datetime:
    local = zone.fromutc(after_utc.replace(tzinfo=zone))
    wall = local.replace(tzinfo=None)  # keeps fold: which pass of a repeated hour we are in
    try:
        if s.is_interval:
            found = _next_interval(s, zone, after_utc, wall)
        else:
            found = _next_fixed(s, zone, after_utc, wall)
    except OverflowError:
        raise CronError(f"'{s.expression}' has no run before the year 10000.") from None
    return found.replace(tzinfo=UTC)


def next_n(spec: CronSpec | str, tz: str | tzinfo, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` fire instants after ``after`` (strictly increasing, aware UTC)."""
    if count < 0:
        raise ValueError("count must be 0 or more.")
    s, zone = _as_spec(spec), _as_tz(tz)
    out: list[datetime] = []
    for _ in range(count):
        after = next_after(s, zone, after)
        out.append(after)
    return out


# --------------------------------------------------------------------------------------------
# Describe
# --------------------------------------------------------------------------------------------


# What cron-descriptor (or our own phrasing on top of it) may raise; describe() falls back to
# plain wording instead, because it must never fail for an expression parse() accepted.
_DESCRIBE_ERRORS = (
    FormatException,
    MissingFieldException,
    WrongArgumentException,
    ValueError,
    KeyError,
    IndexError,
)


def _cd(expression: str) -> str:
    options = Options()
    options.day_of_week_start_index_zero = True
    options.verbose = False
    description: str = get_description(expression, options)  # cron-descriptor is untyped
    return description


def _tail(expression: str) -> str:
    """The phrase cron-descriptor adds for the non-time fields (after 'At 12:00 AM, ')."""
    full = _cd(expression)
    prefix = "At 12:00 AM, "
    if not full.startswith(prefix):
        raise ValueError(full)
    return full[len(prefix) :]


def _compress(values: list[int]) -> str:
    """[1, 2, 3, 5] -> '1-3,5' (weekdays, already 0..6 and sorted)."""
    out: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        out.append(str(values[i]) if j - i < 2 else f"{values[i]}-{values[j]}")
        if j - i == 1:
            out.append(str(values[j]))
        i = j + 1
    return ",".join(out)


def _dom_phrase(spec: CronSpec) -> str:
    text = spec.fields[2]
    items = text.split(",")
    others = [i for i in items if i != "L"]
    parts = []
    if others:
        parts.append(_tail(f"0 0 {','.join(others)} * *"))
    if spec.last_day_of_month:
        parts.append("on the last day of the month")
    return " and ".join(parts)


def _dow_phrase(spec: CronSpec) -> str:
    parts = []
    plain = sorted(spec.days_of_week)
    if plain:
        if len(plain) == 7:
            parts.append("every day of the week")
        else:
            phrase = _tail(f"0 0 * * {_compress(plain)}")
            # "only on Friday and on the first Monday" would read as if both had to hold.
            parts.append(phrase.removeprefix("only ") if spec.nth_weekdays else phrase)
    for wd, n in sorted(spec.nth_weekdays, key=lambda p: (p[1], p[0])):
        parts.append(f"on the {ORDINALS[n - 1]} {DOW_FULL[wd]} of the month")
    return " and ".join(parts)


def describe(spec_or_expression: CronSpec | str) -> str:
    """Human-readable wording (``"At 02:30 AM"``); never raises for a valid expression.

    cron-descriptor words the time and month fields. The day fields are worded here, one at a
    time, because cron-descriptor reads ``13 * FRI`` as "13th, only on Friday" (the Vixie rule
    is *or*), garbles ``1,L`` and ``MON#1,FRI``, and fails on ``*/7`` in day-of-week.

    Memoized per expression: a page of schedules repeats a handful of expressions, and wording
    one costs cron-descriptor's parse (about a millisecond), which no row should pay again.
    """
    return _describe(_as_spec(spec_or_expression))


@functools.lru_cache(maxsize=4096)
def _describe(spec: CronSpec) -> str:
    minute_t, hour_t, dom_t, month_t, dow_t = spec.fields
    try:
        parts = [_cd(f"{minute_t} {hour_t} * * *")]
    except _DESCRIBE_ERRORS:
        parts = [f"At minute {minute_t} past hour {hour_t}"]
    try:
        dom = _dom_phrase(spec) if dom_t != "*" else ""
    except _DESCRIBE_ERRORS:
        dom = f"on day-of-month {dom_t}"
    try:
        dow = _dow_phrase(spec) if dow_t != "*" else ""
    except _DESCRIBE_ERRORS:
        dow = f"on day-of-week {dow_t}"
    if dom and dow and not spec.days_both_required:
        parts.append(f"{dom} or {dow.removeprefix('only ')}")
    else:
        parts.extend(p for p in (dom, dow) if p)
    if month_t != "*":
        try:
            parts.append(_tail(f"0 0 * {month_t} *"))
        except _DESCRIBE_ERRORS:
            parts.append(f"in month {month_t}")
    return ", ".join(parts)
