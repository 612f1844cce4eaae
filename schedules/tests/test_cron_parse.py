"""Cron grammar (SPEC §4): what parses to what, and every rejected form with its message.

Pure: no database, no Django, no clock.
"""

from __future__ import annotations

import dataclasses
from zoneinfo import ZoneInfo

import pytest

from schedules.cron import CronError, describe, parse, validate_timezone

ALL_DOWS = frozenset(range(7))
ALL_DOMS = frozenset(range(1, 32))


# (expression, expected attributes of the CronSpec)
VALID = [
    pytest.param(
        "30 2 * * *",
        {"minutes": (30,), "hours": (2,), "is_interval": False},
        id="fixed",
    ),
    pytest.param(
        "*/15 * * * *",
        {"minutes": (0, 15, 30, 45), "hours": tuple(range(24)), "is_interval": True},
        id="every-15-minutes",
    ),
    pytest.param("0 * * * *", {"minutes": (0,), "is_interval": True}, id="hourly-is-interval"),
    pytest.param(
        "*/20 1 * * *",
        {"minutes": (0, 20, 40), "hours": (1,), "is_interval": True},
        id="minute-star-is-interval",
    ),
    pytest.param(
        "15 */6 * * *",
        {"hours": (0, 6, 12, 18), "is_interval": True},
        id="hour-star-is-interval",
    ),
    pytest.param(
        "0,15,30,45 9 * * *",
        {"minutes": (0, 15, 30, 45), "is_interval": False},
        id="list-without-star-is-fixed-time",
    ),
    pytest.param("5-10 * * * *", {"minutes": (5, 6, 7, 8, 9, 10)}, id="range"),
    pytest.param("10-50/20 * * * *", {"minutes": (10, 30, 50)}, id="range-with-step"),
    pytest.param("*/25 * * * *", {"minutes": (0, 25, 50)}, id="star-step-not-dividing"),
    pytest.param("0 0 1,15,L * *", {"days_of_month": frozenset({1, 15})}, id="list"),
    pytest.param("7 7 7 7 7", {"minutes": (7,), "months": (7,)}, id="single-values"),
    pytest.param("59 23 31 12 6", {"minutes": (59,), "hours": (23,)}, id="maxima"),
    pytest.param("0 0 1 1 0", {"days_of_week": frozenset({0})}, id="minima"),
    # Sunday is 0 and 7; names are case-insensitive and allowed in ranges.
    pytest.param("0 0 * * 0", {"days_of_week": frozenset({0})}, id="sunday-0"),
    pytest.param("0 0 * * 7", {"days_of_week": frozenset({0})}, id="sunday-7"),
    pytest.param("0 0 * * sun", {"days_of_week": frozenset({0})}, id="sunday-name-lowercase"),
    pytest.param("0 0 * * 0-7", {"days_of_week": ALL_DOWS}, id="dow-0-7-is-every-day"),
    pytest.param("0 0 * * 5-7", {"days_of_week": frozenset({5, 6, 0})}, id="dow-range-to-7"),
    pytest.param("0 0 * * mon-fri", {"days_of_week": frozenset({1, 2, 3, 4, 5})}, id="dow-names"),
    pytest.param("0 0 * * Mon-Sun", {"days_of_week": ALL_DOWS}, id="dow-range-ending-sunday"),
    pytest.param("0 0 * * FRI-SUN", {"days_of_week": frozenset({5, 6, 0})}, id="fri-sun"),
    pytest.param("0 0 * * */2", {"days_of_week": frozenset({0, 2, 4, 6})}, id="dow-star-step-2"),
    pytest.param("0 0 * * */7", {"days_of_week": frozenset({0})}, id="dow-star-step-7-is-sunday"),
    pytest.param("0 0 * * MON-FRI/2", {"days_of_week": frozenset({1, 3, 5})}, id="names-step"),
    pytest.param("0 0 1 jan-mar *", {"months": (1, 2, 3)}, id="month-names-range"),
    pytest.param("0 0 1 Jan,dec *", {"months": (1, 12)}, id="month-names-mixed-case"),
    pytest.param("0 0 1 */3 *", {"months": (1, 4, 7, 10)}, id="month-step"),
    # Extensions: L in day-of-month, DOW#n in day-of-week.
    pytest.param(
        "0 0 L * *",
        {"last_day_of_month": True, "days_of_month": frozenset()},
        id="L-alone",
    ),
    pytest.param(
        "0 0 1,L * *",
        {"last_day_of_month": True, "days_of_month": frozenset({1})},
        id="L-in-list",
    ),
    pytest.param("0 0 l * *", {"last_day_of_month": True}, id="L-lowercase"),
    pytest.param(
        "0 9 * * MON#1",
        {"nth_weekdays": frozenset({(1, 1)}), "days_of_week": frozenset()},
        id="hash-name",
    ),
    pytest.param("0 9 * * 5#3", {"nth_weekdays": frozenset({(5, 3)})}, id="hash-number"),
    pytest.param("0 9 * * 7#2", {"nth_weekdays": frozenset({(0, 2)})}, id="hash-sunday-7"),
    pytest.param(
        "0 9 * * mon#1,FRI",
        {"nth_weekdays": frozenset({(1, 1)}), "days_of_week": frozenset({5})},
        id="hash-in-list",
    ),
    # Day rule flags: the field *text* starting with '*' decides.
    pytest.param(
        "0 0 */2 * MON",
        {"dom_star": True, "dow_star": False},
        id="dom-star-step-is-and",
    ),
    pytest.param("0 0 13 * FRI", {"dom_star": False, "dow_star": False}, id="both-set-is-or"),
    pytest.param(
        "0 9 1-7 * */7",
        {"dom_star": False, "dow_star": True},
        id="dow-star-step-is-and",
    ),
    pytest.param("0 0 * * *", {"days_of_month": ALL_DOMS, "days_of_week": ALL_DOWS}, id="stars"),
    # Cannot-fire checks must not reject what does fire.
    pytest.param("0 0 31 * *", {"days_of_month": frozenset({31})}, id="31st-fires-in-long-months"),
    pytest.param("0 0 29 2 *", {"months": (2,)}, id="feb-29-fires-in-leap-years"),
    pytest.param("0 0 30 2 MON", {"months": (2,)}, id="feb-30-or-monday-fires-on-mondays"),
    pytest.param("0 0 L 2 *", {"last_day_of_month": True}, id="last-day-of-february"),
    pytest.param("0 0 */10 * MON#5", {"dom_star": True}, id="and-with-fifth-weekday-on-31st"),
]


@pytest.mark.parametrize(("expression", "expected"), VALID)
def test_it_parses_valid_expressions(expression: str, expected: dict[str, object]) -> None:
    spec = parse(expression)
    for name, value in expected.items():
        assert getattr(spec, name) == value, name


MACROS = [
    pytest.param("@yearly", "0 0 1 1 *", False, id="yearly"),
    pytest.param("@annually", "0 0 1 1 *", False, id="annually"),
    pytest.param("@monthly", "0 0 1 * *", False, id="monthly"),
    pytest.param("@weekly", "0 0 * * 0", False, id="weekly"),
    pytest.param("@daily", "0 0 * * *", False, id="daily"),
    pytest.param("@midnight", "0 0 * * *", False, id="midnight"),
    pytest.param("@hourly", "0 * * * *", True, id="hourly"),
    pytest.param("@HOURLY", "0 * * * *", True, id="uppercase"),
    pytest.param("  @Daily ", "0 0 * * *", False, id="mixed-case-and-spaces"),
]


@pytest.mark.parametrize(("macro", "fields", "is_interval"), MACROS)
def test_it_expands_macros(macro: str, fields: str, is_interval: bool) -> None:
    spec = parse(macro)
    assert spec.fields == tuple(fields.split())
    assert spec.expression == macro.strip().lower()
    assert spec.is_interval is is_interval
    # Same value as the expanded fields; only the normalized text differs.
    assert spec == dataclasses.replace(parse(fields), expression=spec.expression)


NORMALIZED = [
    pytest.param("30 2 * * *", "30 2 * * *", id="unchanged"),
    pytest.param("  30   2\t* *  mon ", "30 2 * * MON", id="whitespace-and-case"),
    pytest.param("0 0 * jan-mar mon-fri", "0 0 * JAN-MAR MON-FRI", id="names-upper-cased"),
]


@pytest.mark.parametrize(("expression", "normalized"), NORMALIZED)
def test_it_normalizes_the_expression_text(expression: str, normalized: str) -> None:
    assert parse(expression).expression == normalized


def test_it_returns_hashable_cached_specs() -> None:
    spec = parse("30 2 * * *")
    assert parse("30 2 * * *") is spec  # lru_cache: the tick parses thousands per minute
    assert {spec: 1}[parse("30  2 * * *")] == 1  # equal value, equal hash
    sunday_0, sunday_7 = parse("0 0 * * 0"), parse("0 0 * * 7")
    relabeled = dataclasses.replace(
        sunday_7, expression=sunday_0.expression, fields=sunday_0.fields
    )
    assert relabeled == sunday_0
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.minutes = (1,)  # type: ignore[misc]


# (expression, fragments the message must contain)
REJECTED = [
    pytest.param(
        "0 30 2 * * *",
        [
            "6 fields",
            "seconds/years are not supported",
            "minute hour day-of-month month day-of-week",
        ],
        id="six-fields",
    ),
    pytest.param(
        "0 30 2 * * * 2025",
        ["7 fields", "seconds/years are not supported", "use 5 fields"],
        id="seven-fields",
    ),
    pytest.param("30 2 * *", ["Expected 5 fields", "got 4"], id="four-fields"),
    pytest.param("", ["empty", "5 fields"], id="empty"),
    pytest.param("   ", ["empty"], id="blank"),
    pytest.param("@reboot", ["@reboot is not supported", "'0 0 * * *'"], id="reboot"),
    pytest.param("@every 5m", ["@every is not supported", "*/15 * * * *"], id="every"),
    pytest.param("@fortnightly", ["Unknown macro '@fortnightly'", "@daily"], id="unknown-macro"),
    pytest.param("@daily 5", ["takes no fields"], id="macro-with-fields"),
    pytest.param(
        "0 0 ? * MON",
        ["day-of-month", "'?' is not supported", "use '*'"],
        id="question",
    ),
    pytest.param("0 0 * * ?", ["day-of-week", "'?' is not supported"], id="question-dow"),
    pytest.param("0 0 15W * *", ["day-of-month", "nearest weekday", "not supported"], id="W"),
    pytest.param("0 0 LW * *", ["day-of-month", "nearest weekday"], id="LW"),
    pytest.param("H * * * *", ["minute", "hashed", "pick a fixed value"], id="H"),
    pytest.param("H/15 * * * *", ["minute", "hashed"], id="H-step"),
    pytest.param("0 H(0-5) * * *", ["hour", "hashed"], id="H-range"),
    pytest.param(
        "5/15 * * * *",
        ["minute", "needs a range", "write 5-59/15"],
        id="N-slash-S-minute",
    ),
    pytest.param("0 3/6 * * *", ["hour", "write 3-23/6"], id="N-slash-S-hour"),
    pytest.param("0 0 1/2 * *", ["day-of-month", "write 1-31/2"], id="N-slash-S-dom"),
    pytest.param("0 0 1 FEB/2 *", ["month", "write FEB-DEC/2"], id="N-slash-S-month-name"),
    pytest.param("0 0 * * 1/2", ["day-of-week", "write 1-6/2"], id="N-slash-S-dow"),
    pytest.param("60 * * * *", ["minute: 60 is out of range 0-59"], id="minute-60"),
    pytest.param("0 24 * * *", ["hour: 24 is out of range 0-23"], id="hour-24"),
    pytest.param("0 0 32 * *", ["day-of-month: 32 is out of range 1-31"], id="dom-32"),
    pytest.param("0 0 0 * *", ["day-of-month: 0 is out of range 1-31"], id="dom-0"),
    pytest.param("0 0 1 13 *", ["month: 13 is out of range 1-12"], id="month-13"),
    pytest.param("0 0 1 0 *", ["month: 0 is out of range 1-12"], id="month-0"),
    pytest.param("0 0 * * 8", ["day-of-week: 8 is out of range 0-7"], id="dow-8"),
    pytest.param("0 0-24 * * *", ["hour: 24 is out of range 0-23"], id="range-end-out-of-range"),
    pytest.param("-5 * * * *", ["minute", "negative value '-5'"], id="negative"),
    pytest.param("0 -1 * * *", ["hour", "negative"], id="negative-hour"),
    pytest.param(
        "10-5 * * * *",
        ["minute", "range 10-5 is reversed", "write 5-10"],
        id="reversed",
    ),
    pytest.param(
        "0 22-2 * * *",
        ["hour", "reversed", "write 2-22", "22-23,0-2"],
        id="reversed-wrap-around-hint",
    ),
    pytest.param("0 0 * * FRI-MON", ["day-of-week", "reversed", "MON-FRI"], id="reversed-names"),
    pytest.param(
        "0 0 1 DEC-JAN *",
        ["month", "reversed", "write JAN-DEC", "DEC,JAN"],
        id="reversed-month",
    ),
    pytest.param("1,,2 * * * *", ["minute", "empty item", "'1,,2'"], id="empty-item"),
    pytest.param("0 0 1, * *", ["day-of-month", "empty item"], id="trailing-comma"),
    pytest.param("0 0 * * ,MON", ["day-of-week", "empty item"], id="leading-comma"),
    pytest.param(
        "0 0 * * MONDAY",
        ["day-of-week", "'MONDAY'", "use the three-letter name MON"],
        id="monday",
    ),
    pytest.param("0 0 * * tuesday", ["'TUESDAY'", "TUE"], id="tuesday-lowercase"),
    pytest.param("0 0 * * THURS", ["'THURS'", "THU"], id="thurs"),
    pytest.param("0 0 1 JANUARY *", ["month", "'JANUARY'", "JAN"], id="january"),
    pytest.param("0 0 1 Sept *", ["month", "'SEPT'", "SEP"], id="sept"),
    pytest.param(
        "0 0 1 MON *",
        ["month", "'MON' is not a month", "JAN-DEC"],
        id="weekday-in-month",
    ),
    pytest.param(
        "0 0 * * JAN",
        ["day-of-week", "'JAN' is not a weekday", "SUN-SAT"],
        id="month-in-dow",
    ),
    pytest.param("0 MON * * *", ["hour", "'MON' is not a number"], id="name-in-hour"),
    pytest.param("*/0 * * * *", ["minute", "step 0", "1 or more"], id="step-0"),
    pytest.param("0 0 1-10/0 * *", ["day-of-month", "step 0"], id="range-step-0"),
    pytest.param("*/ * * * *", ["minute", "step", "not a positive number"], id="missing-step"),
    pytest.param("*/x * * * *", ["minute", "step 'X'"], id="non-numeric-step"),
    pytest.param("1-2-3 * * * *", ["minute", "not a valid range"], id="double-range"),
    pytest.param("1.5 * * * *", ["minute", "'1.5' is not a number"], id="decimal"),
    pytest.param("0 0 L-2 * *", ["day-of-month", "use L alone"], id="L-offset"),
    pytest.param("0 0 3L * *", ["day-of-month", "use L alone"], id="L-suffix"),
    pytest.param("0 0 L/2 * *", ["day-of-month", "use L alone"], id="L-step"),
    pytest.param("L * * * *", ["minute", "only allowed in day-of-month"], id="L-in-minute"),
    pytest.param("0 0 * * 5L", ["day-of-week", "'5L'", "not supported", "FRI#4"], id="L-in-dow"),
    pytest.param("0 0 * * MON#6", ["day-of-week", "'#6'", "#1 to #5"], id="hash-6"),
    pytest.param("0 0 * * MON#0", ["day-of-week", "#1 to #5"], id="hash-0"),
    pytest.param("0 0 * * MON-FRI#1", ["day-of-week", "one weekday"], id="hash-on-range"),
    pytest.param("0 0 * * 8#1", ["day-of-week: 8 is out of range 0-7"], id="hash-bad-day"),
    pytest.param("0 0 1#1 * *", ["day-of-month", "only allowed in day-of-week"], id="hash-in-dom"),
    pytest.param(
        "0 0 30 2 *",
        ["can never run", "day-of-month 30 does not occur in FEB", "Use L"],
        id="feb-30",
    ),
    pytest.param("0 0 31 2 *", ["can never run", "FEB"], id="feb-31"),
    pytest.param(
        "0 0 31 4,6,9,11 *",
        ["can never run", "day-of-month 31 does not occur in APR, JUN, SEP, NOV"],
        id="31st-in-30-day-months",
    ),
    pytest.param("0 0 30,31 FEB *", ["can never run"], id="feb-30-31-list"),
    pytest.param("0 0 30 2 */2", ["can never run"], id="feb-30-and-star-dow"),
    pytest.param(
        "0 0 */10 2 MON#5",
        ["can never run", "never fall on the same day"],
        id="and-day-rule-impossible",
    ),
]


@pytest.mark.parametrize(("expression", "fragments"), REJECTED)
def test_it_rejects_with_a_helpful_message(expression: str, fragments: list[str]) -> None:
    with pytest.raises(CronError) as excinfo:
        parse(expression)
    for fragment in fragments:
        assert fragment in str(excinfo.value)


def test_it_raises_a_value_error_subclass() -> None:
    with pytest.raises(ValueError, match="out of range"):
        parse("0 0 32 * *")


def test_it_rejects_a_non_string() -> None:
    with pytest.raises(CronError, match="must be a string"):
        parse(None)


TIMEZONES = [
    pytest.param("Europe/Paris", id="paris"),
    pytest.param("America/New_York", id="new-york"),
    pytest.param("Australia/Lord_Howe", id="lord-howe"),
    pytest.param("Asia/Kathmandu", id="kathmandu"),
    pytest.param("UTC", id="utc"),
]


@pytest.mark.parametrize("name", TIMEZONES)
def test_it_validates_iana_timezones(name: str) -> None:
    assert validate_timezone(name) == ZoneInfo(name)


BAD_TIMEZONES = [
    pytest.param("Mars/Olympus_Mons", id="unknown"),
    pytest.param("", id="empty"),
    pytest.param(" Europe/Paris", id="leading-space"),
    pytest.param("America", id="directory"),
    pytest.param("../../etc/passwd", id="path-traversal"),
    pytest.param("/etc/localtime", id="absolute-path"),
    pytest.param("CEST", id="abbreviation"),
    pytest.param(None, id="none"),
]


@pytest.mark.parametrize("name", BAD_TIMEZONES)
def test_it_rejects_unknown_timezones(name: str) -> None:
    with pytest.raises(CronError) as excinfo:
        validate_timezone(name)
    assert str(excinfo.value) == (
        f"Unknown timezone '{name}'. Use an IANA name such as 'Europe/Paris'."
    )


DESCRIPTIONS = [
    pytest.param("30 2 * * *", "At 02:30 AM", id="fixed"),
    pytest.param("*/15 * * * *", "Every 15 minutes", id="interval"),
    pytest.param("@hourly", "Every hour", id="macro-hourly"),
    pytest.param("@daily", "At 12:00 AM", id="macro-daily"),
    pytest.param("0 0 L * *", "At 12:00 AM, on the last day of the month", id="L"),
    pytest.param(
        "0 0 1,L * *",
        "At 12:00 AM, on day 1 of the month and on the last day of the month",
        id="L-in-list",
    ),
    pytest.param("0 9 * * MON#1", "At 09:00 AM, on the first Monday of the month", id="hash"),
    pytest.param(
        "0 9 * * MON#1,FRI",
        "At 09:00 AM, on Friday and on the first Monday of the month",
        id="hash-in-list",
    ),
    pytest.param(
        "0 0 13 * FRI",
        "At 12:00 AM, on day 13 of the month or on Friday",
        id="or-day-rule",
    ),
    pytest.param("0 0 * * 7", "At 12:00 AM, only on Sunday", id="sunday-7"),
    pytest.param("0 0 * * */7", "At 12:00 AM, only on Sunday", id="dow-star-step"),
    pytest.param(
        "0 0 29 2 *",
        "At 12:00 AM, on day 29 of the month, only in February",
        id="month",
    ),
]


@pytest.mark.parametrize(("expression", "description"), DESCRIPTIONS)
def test_it_describes_expressions(expression: str, description: str) -> None:
    assert describe(expression) == description
    assert describe(parse(expression)) == description


@pytest.mark.parametrize("expression", [p.values[0] for p in VALID + MACROS])
def test_it_describes_every_valid_expression_without_raising(expression: str) -> None:
    assert describe(expression)


def test_it_words_an_expression_once_however_many_rows_repeat_it(monkeypatch) -> None:
    # A page of schedules repeats a handful of expressions: cron-descriptor (about a
    # millisecond a call) runs once per expression, not once per row.
    import schedules.cron as cron_module

    calls: list[str] = []
    real = cron_module._cd

    def counting(text: str) -> str:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(cron_module, "_cd", counting)
    cron_module._describe.cache_clear()
    once = describe("17 4 * * 1-5")
    wording_one = len(calls)
    assert wording_one >= 1
    assert [describe("17 4 * * 1-5") for _ in range(49)] == [once] * 49
    assert len(calls) == wording_one
