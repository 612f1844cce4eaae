"""config.fields.JSONField: read with orjson where that gives what json would, json otherwise."""

import json
from unittest import mock

import orjson
import pytest
from django.db import connection

from config.fields import JSONField
from schedules.models import Schedule
from tests.factories import ScheduleFactory

VALUES = [
    {"region": "eu", "n": 3, "x": 1.5, "ok": True, "none": None, "list": [1, "two", {"3": []}]},
    {"name": "Zoë ✓ 日本", "escaped": 'quote " and \\ and \n'},
    # Past 64 bits (orjson would read these as floats): json reads them exactly.
    {"big": 2**70, "small": -(2**63) - 1, "u64": 2**64 - 1, "digits": "1234567890123456789012"},
    {"float": 0.1, "exp": 1e-300, "neg": -2.5},
]


def typed(value) -> str:
    """The value with its types: 1, 1.0 and True differ here."""
    return json.dumps(value, sort_keys=True)


@pytest.mark.django_db
@pytest.mark.parametrize("variables", VALUES)
def test_a_schedule_reads_its_variables_as_json_reads_the_stored_text(variables):
    schedule = ScheduleFactory(variables=variables, vault_keys=["PORTAL_PASSWORD"])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT variables::text FROM schedules_schedule WHERE id = %s", [schedule.id]
        )
        (stored,) = cursor.fetchone()
    got = Schedule.objects.get(id=schedule.id)
    assert typed(got.variables) == typed(json.loads(stored))
    assert typed(got.variables) == typed(variables)
    assert got.vault_keys == ["PORTAL_PASSWORD"]


def test_it_reads_with_orjson_what_orjson_reads_alike_and_with_json_the_rest():
    field = JSONField()
    with mock.patch("config.fields.orjson.loads", wraps=orjson.loads) as fast:
        assert field.from_db_value('{"a": [1, 2.5, "x"]}', None, None) == {"a": [1, 2.5, "x"]}
        assert fast.call_count == 1
        # A long run of digits (an integer past 64 bits, perhaps) is json's.
        assert field.from_db_value('{"n": 1180591620717411303424}', None, None) == {"n": 2**70}
        assert fast.call_count == 1
    # What orjson refuses goes to json, which reads it (NaN) or returns the text as Django does.
    assert str(field.from_db_value('{"n": NaN}', None, None)["n"]) == "nan"
    assert field.from_db_value("not json", None, None) == "not json"
    assert field.from_db_value(None, None, None) is None
