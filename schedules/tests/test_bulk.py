"""The tick's set-based writes: one statement per batch, duplicates of the idempotency key skipped
(not fatal), and the portable ORM fallback (the SQLite demo) doing the same."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import Job, ScriptVersion
from schedules.bulk import (
    Ids,
    _bulk_insert_portable,
    _columns,
    _records,
    _shared,
    bulk_insert,
    bulk_update_columns,
)
from schedules.models import Schedule
from tests.factories import JobFactory, ScheduleFactory

pytestmark = pytest.mark.django_db


def job_row(schedule, key, **kw):
    row = {
        "id": uuid.uuid4(),
        "organization_id": schedule.organization_id,
        "schedule_id": schedule.id,
        "script_id": schedule.script_id,
        "code_id": ScriptVersion.record(schedule.script).id,
        "script_version": schedule.script.version,
        "agent_id": schedule.agent_id,
        "trigger": "scheduled",
        "scheduled_for": schedule.next_run_at,
        "idempotency_key": key,
        "variables": {"region": "eu", "nested": {"n": 1}},
        "vault_keys": ["A"],
    }
    row.update(kw)
    return row


@pytest.mark.parametrize("insert", [bulk_insert, _bulk_insert_portable], ids=["unnest", "orm"])
def test_it_skips_rows_that_hit_the_idempotency_key_and_says_which_went_in(insert):
    schedule = ScheduleFactory()
    JobFactory(schedule=schedule, idempotency_key="taken")
    rows = [job_row(schedule, "taken"), job_row(schedule, "fresh-1"), job_row(schedule, "fresh-2")]
    inserted = insert(Job, rows, skip_conflicts_on="idempotency_key")
    assert inserted == {rows[1]["id"], rows[2]["id"]}
    job = Job.objects.get(id=rows[1]["id"])
    assert job.variables == {"region": "eu", "nested": {"n": 1}}
    assert job.vault_keys == ["A"]
    assert (job.status, job.attempt, job.log, job.error_kind) == ("pending", 1, "", "")


def test_a_row_carries_what_it_sets_and_its_computed_defaults_the_rest_comes_from_one_record():
    schedule = ScheduleFactory()
    row = job_row(schedule, "k")
    del row["variables"]
    base, rows = _records(_columns(Job), [row])
    # Per row: what it set, plus the defaults computed per row (a fresh dict, now) it lacked.
    assert set(rows.obj[0]) == set(job_row(schedule, "k")) | {"created_at"}
    assert rows.obj[0]["variables"] == {}
    # Once for the batch: every other column's constant default, those without one included.
    assert base.obj["status"] == "pending"
    assert (base.obj["log"], base.obj["error_kind"], base.obj["started_at"]) == ("", "", None)


def test_what_every_row_sets_alike_travels_once_in_the_base_record_and_each_row_gets_it():
    schedule = ScheduleFactory()
    rows = [job_row(schedule, f"k-{i}", attempt=1, max_attempts=2 + i) for i in range(3)]
    base, sent = _records(_columns(Job), [dict(row) for row in rows])
    # Alike in every row: once, in the base record; the rest per row (ids, keys, the creation
    # instant each row's default computed, and the variables, which are never shared: below).
    assert {"trigger", "scheduled_for", "attempt", "agent_id"} <= set(base.obj)
    assert base.obj["attempt"] == 1
    assert set(sent.obj[0]) == {
        "id",
        "idempotency_key",
        "max_attempts",
        "created_at",
        "variables",
        "vault_keys",
    }
    bulk_insert(Job, rows, skip_conflicts_on="idempotency_key")
    got = {
        job.idempotency_key: (job.attempt, job.max_attempts, job.trigger, job.agent_id)
        for job in Job.objects.all()
    }
    assert got == {f"k-{i}": (1, 2 + i, "scheduled", schedule.agent_id) for i in range(3)}


def test_equal_values_that_write_differently_stay_in_their_rows():
    """1 == True == 1.0 and {"a": True} == {"a": 1} in Python, not in JSON: a tenant's variables
    and a number's type are never merged into one row's value."""
    assert _shared([{"n": 1, "m": 2}, {"n": True, "m": 2}], exclude=()) == {"m": 2}
    assert _shared([{"n": 1.0}, {"n": 1}], exclude=()) == {}
    assert _shared([{"v": {"a": 1}}, {"v": {"a": 1}}], exclude=()) == {}
    assert _shared([{"n": 1}], exclude=()) == {}  # one row: nothing to save
    assert _shared([{"n": 1}, {"m": 1}], exclude=()) == {}  # not set by every row
    schedule = ScheduleFactory()
    rows = [
        job_row(schedule, "a", variables={"flag": True}),
        job_row(schedule, "b", variables={"flag": 1}),
    ]
    bulk_insert(Job, rows, skip_conflicts_on="idempotency_key")
    flags = {job.idempotency_key: job.variables["flag"] for job in Job.objects.all()}
    assert flags == {"a": True, "b": 1} and type(flags["a"]) is bool and type(flags["b"]) is int


def test_it_writes_a_batch_in_one_statement_whatever_its_size():
    schedule = ScheduleFactory()
    for n in (3, 300):
        rows = [job_row(schedule, f"k-{n}-{i}") for i in range(n)]
        with CaptureQueriesContext(connection) as q:
            bulk_insert(Job, rows, skip_conflicts_on="idempotency_key")
        assert len(q.captured_queries) == 1
    assert Job.objects.count() == 303


def test_it_updates_each_row_to_its_own_values():
    schedules = ScheduleFactory.create_batch(3)
    for i, s in enumerate(schedules):
        s.last_run_status = ["queued", "failed", "succeeded"][i]
        s.next_run_at = s.next_run_at.replace(year=2030 + i)
        s.consecutive_skips = 4  # alike in every row: set from the base record
    bulk_update_columns(
        Schedule, schedules, ["next_run_at", "last_run_status", "consecutive_skips"]
    )
    got = {
        s.id: (s.next_run_at.year, s.last_run_status, s.consecutive_skips)
        for s in Schedule.objects.all()
    }
    assert got == {s.id: (2030 + i, s.last_run_status, 4) for i, s in enumerate(schedules)}


def test_a_value_orjson_refuses_is_written_all_the_same():
    """A tenant's variables may hold an integer past 64 bits (JSON allows it; orjson does not):
    the batch is still written, with that value intact."""
    schedule = ScheduleFactory()
    huge = 2**70
    inserted = bulk_insert(
        Job, [job_row(schedule, "big", variables={"n": huge})], skip_conflicts_on="idempotency_key"
    )
    assert len(inserted) == 1
    assert Job.objects.get(idempotency_key="big").variables == {"n": huge}


def test_anyof_reads_the_rows_named_and_writes_an_ids_text_once_for_all_its_queries():
    a, b, _other = ScheduleFactory(), ScheduleFactory(), ScheduleFactory()
    ids = Ids([a.id, b.id])
    with CaptureQueriesContext(connection) as q:
        assert set(Schedule.objects.filter(id__anyof=ids).values_list("id", flat=True)) == {
            a.id,
            b.id,
        }
        assert Job.objects.filter(schedule_id__anyof=ids).count() == 0
    # Its text, made by the first query, is the one every query sent (a batch's thousand ids
    # are written out once, not once per query).
    assert ids.__dict__["text"] in q.captured_queries[1]["sql"]
    # Any iterable of ids does too, and none matches nothing.
    assert Schedule.objects.filter(id__anyof=[a.id]).get() == a
    assert not Schedule.objects.filter(id__anyof=Ids()).exists()
