"""The one ISO-8601 format (config.clock): UTC, `Z`, whole seconds — and its inverse."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from rest_framework import serializers

from config.api_common import UTCDateTimeField
from config.clock import iso_z, parse_iso


def test_it_writes_utc_with_z_and_whole_seconds():
    assert iso_z(datetime(2026, 3, 29, 1, 30, 5, 999_999, tzinfo=UTC)) == "2026-03-29T01:30:05Z"


def test_it_converts_an_aware_instant_in_another_zone_to_utc():
    tokyo = datetime(2026, 3, 29, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert iso_z(tokyo) == "2026-03-29T01:00:00Z"


def test_it_keeps_none_and_refuses_a_naive_datetime():
    assert iso_z(None) is None
    with pytest.raises(ValueError, match="naive"):
        iso_z(datetime(2026, 3, 29, 1, 30))


def test_it_parses_z_and_offsets_back_to_utc():
    assert parse_iso("2026-03-29T01:30:00Z") == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    east = parse_iso("2026-03-29T03:30:00.250+02:00")
    assert east == datetime(2026, 3, 29, 1, 30, 0, 250_000, tzinfo=UTC)
    assert east.utcoffset() == timedelta(0)


def test_it_refuses_text_without_an_offset():
    with pytest.raises(ValueError, match="no UTC offset"):
        parse_iso("2026-03-29T01:30:00")


def test_it_round_trips():
    instant = datetime(2026, 10, 25, 0, 59, 59, tzinfo=timezone(timedelta(hours=-5)))
    assert parse_iso(iso_z(instant)) == instant


def test_the_api_writes_instants_in_the_same_format(settings):
    tokyo = datetime(2026, 3, 29, 10, 0, 30, 123, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert serializers.DateTimeField().to_representation(tokyo) == iso_z(tokyo)


def test_it_writes_a_year_before_1000_with_four_digits():
    early = datetime(96, 12, 21, 22, 31, 39, tzinfo=UTC)
    assert iso_z(early) == "0096-12-21T22:31:39Z"
    assert parse_iso(iso_z(early)) == early
    # The API's instants too (strftime alone writes "96-12-21…").
    assert UTCDateTimeField().to_representation(early) == "0096-12-21T22:31:39Z"
