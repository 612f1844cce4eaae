"""Set-based writes for the tick: one statement per batch, whatever its size.

On PostgreSQL each write is a single `INSERT … SELECT FROM json_populate_recordset(…)` or
`UPDATE … FROM json_populate_recordset(…)`: the batch travels as one JSON text parameter, which
PostgreSQL turns into rows of the table's own type. Encoding it is one `orjson.dumps` of the row
dicts (native code); typed parameter arrays (one per column) cost the driver a Python call per
value, and quoting values into SQL text cost more than everything else in a busy tick.
Elsewhere (the SQLite demo) the same calls fall back to the ORM.

What every row of a batch sets alike (a tick's instant, a job's status, trigger and attempt)
travels once, in the batch's base record, not in each row's JSON object (_shared): PostgreSQL
reads each object key by key, so a job's insert parses half the JSON it did.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import date, datetime
from operator import itemgetter
from uuid import UUID

import orjson
from django.db import IntegrityError, connection, models, transaction
from django.db.models import ForeignKey, Lookup, UUIDField
from django.db.models.lookups import In
from django.db.models.options import Options
from django.utils.functional import cached_property
from psycopg.types.json import Json


@contextmanager
def _server_bound_cursor():
    """A Django cursor (so queries are logged and counted like any other) over a psycopg cursor
    that binds parameters on the server."""
    import psycopg

    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    cursor = (
        connection.make_debug_cursor(raw)
        if connection.queries_logged
        else connection.make_cursor(raw)
    )
    try:
        yield cursor
    finally:
        cursor.close()


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def _columns(model: type[models.Model]) -> list[models.Field]:
    # Database-generated keys (BigAutoField) are left to the database.
    return [
        f
        for f in model._meta.concrete_fields
        # django-stubs declares db_returning on AutoFieldMixin only; Django has it on every Field.
        if not f.primary_key or not f.db_returning  # type: ignore[attr-defined]
    ]


def _concrete_field(meta: Options[models.Model], name: str) -> models.Field:
    field = meta.get_field(name)
    if not isinstance(field, models.Field) or not field.concrete:
        raise ValueError(f"{meta.label}.{name} is not a column")
    return field


def _defaults(fields: list[models.Field]) -> tuple[dict, list[models.Field]]:
    """The constant defaults of `fields` by column ('' for NOT NULL text), and the fields whose
    default is computed per row (uuid4, now): those are filled in Python, never shared."""
    constant, per_row = {}, []
    for f in fields:
        if f.attname != f.column:
            raise ValueError(f"{f} has a db_column: bulk.py keys rows by attname")
        # has_default(): a field without one has NOT_PROVIDED there, a class, so callable too.
        if f.has_default() and callable(f.default):
            per_row.append(f)
        else:
            constant[f.column] = f.get_default()
    return constant, per_row


def _json(value) -> Json:
    """A json parameter, sent as the bytes _dumps made (no text decoded and encoded again)."""
    return Json(value, dumps=_dumps)


def _dumps(value) -> bytes:
    """orjson: UUIDs, aware datetimes in ISO 8601 with their offset — which timestamptz reads
    exactly —, enums and nested JSON values natively."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        # What orjson refuses and json does not: an integer past 64 bits in a tenant's
        # variables. One schedule's data must not fail its whole batch.
        return json.dumps(value, default=_json_value).encode()


def _records(fields: list[models.Field], rows: list[dict]) -> tuple[Json, Json]:
    """The rows as one JSON array of objects keyed by column, and the base record that
    PostgreSQL fills their missing columns from (json_populate_recordset's first argument): the
    constant defaults, and the values every row sets alike (_shared). A row's computed default
    (id, created_at) it lacks is put into the caller's row itself; the caller's rows are
    otherwise left as they were."""
    constant, per_row = _defaults(fields)
    for f in per_row:
        for row in rows:
            if f.column not in row:
                row[f.column] = f.get_default()
    shared = _shared(rows, exclude=())
    return _json(constant | shared), _json(_without(rows, shared))


# Values that are alike when equal and of one type: their JSON is then the same in every row.
# (Not dicts or lists: {"a": True} == {"a": 1}, and a tenant's variables must keep their own.)
_PLAIN = (str, int, float, datetime, date, UUID, type(None))


def _shared(rows: list[dict], *, exclude: tuple[str, ...]) -> dict:
    """The columns that every row sets to one plain value of one type, with that value. Sent
    once for the batch: PostgreSQL builds a hash table of each row's keys and converts each
    value, so a tick's job rows, a third of whose twenty columns are the batch's own (its instant,
    status, trigger, attempt…), cost it a third less. Checked column by column in C (identical
    objects, as a batch's values mostly are, compare at once)."""
    if len(rows) < 2:
        return {}
    first, last = rows[0], rows[-1]
    shared = {}
    for column, value in first.items():
        if column in exclude or not isinstance(value, _PLAIN):
            continue
        if column not in last or last[column] != value:  # most varying columns stop here
            continue
        try:
            values = list(map(itemgetter(column), rows))
        except KeyError:
            continue
        if values.count(value) != len(values):
            continue
        # Equal numbers of two types write differently (1 and True, 1 and 1.0).
        if isinstance(value, int | float) and len(set(map(type, values))) != 1:
            continue
        shared[column] = value
    return shared


def _without(rows: list[dict], shared: dict) -> list[dict]:
    """Copies of `rows` without the `shared` columns (which every row has)."""
    if not shared:
        return rows
    slim = []
    for row in rows:
        row = row.copy()
        for column in shared:
            del row[column]
        slim.append(row)
    return slim


def _json_value(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a column value bulk.py can write")


def bulk_insert(
    model: type[models.Model], rows: list[dict], *, skip_conflicts_on: str | None = None
) -> set:
    """Insert `rows` (dicts keyed by field attname; missing fields take their defaults).

    With `skip_conflicts_on` (a unique column), rows that would violate it are skipped and the
    primary keys of the rows actually inserted are returned — the unique idempotency key is the
    tick's last line of defence, and this is how it answers without aborting the batch. The keys
    are made in Python (a uuid4 default, filled in by _records when a row lacks one). Nearly
    always every row goes in: the statement's row count says so, and the keys are the rows' own;
    only when some were skipped does a second query ask which of them are in the table (a key
    returned per row cost the tick a UUID object, a hash and a comparison for each of its jobs).
    """
    if not rows:
        return set()
    if connection.vendor != "postgresql":
        return _bulk_insert_portable(model, rows, skip_conflicts_on=skip_conflicts_on)
    fields = _columns(model)
    if skip_conflicts_on and model._meta.pk not in fields:
        raise ValueError(f"{model._meta.label}: skip_conflicts_on needs keys made in Python")
    columns = ", ".join(_quoted(f.column) for f in fields)
    table, pk = _quoted(model._meta.db_table), _quoted(model._meta.pk.column)
    sql = (
        f"INSERT INTO {table} ({columns}) SELECT {columns} FROM json_populate_recordset("
        f"json_populate_record(NULL::{table}, %s::json), %s::json)"
    )
    if skip_conflicts_on:
        sql += f" ON CONFLICT ({_quoted(skip_conflicts_on)}) DO NOTHING"
    with _server_bound_cursor() as cursor:
        cursor.execute(sql, list(_records(fields, rows)))
        if not skip_conflicts_on:
            return set()
        keys = {row[model._meta.pk.attname] for row in rows}
        if cursor.rowcount == len(keys):
            return keys
        # Some were skipped: ours are the rows of this transaction that have our keys.
        cursor.execute(f"SELECT {pk} FROM {table} WHERE {pk} = ANY(%s)", [list(keys)])
        return {row[0] for row in cursor.fetchall()}


def _bulk_insert_portable(model, rows, *, skip_conflicts_on) -> set:
    objs = [model(**row) for row in rows]
    if not skip_conflicts_on:
        model._default_manager.bulk_create(objs)
        return set()
    inserted = set()
    for obj in objs:
        try:
            with transaction.atomic():
                obj.save(force_insert=True)
            inserted.add(obj.pk)
        except IntegrityError:
            pass
    return inserted


def bulk_update_columns(model: type[models.Model], objs: Iterable[models.Model], names: list[str]):
    """UPDATE `names` of many rows, each to its own value, in one statement."""
    objs = list(objs)
    if not objs:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objs, names)
        return
    meta = model._meta
    fields = [meta.pk] + [_concrete_field(meta, n) for n in names]
    rows = [{f.attname: getattr(o, f.attname) for f in fields} for o in objs]
    # Columns every row sets alike are set from one base record (b), the rest from each row's.
    shared = _shared(rows, exclude=(meta.pk.attname,))
    rows = _without(rows, shared)
    table, pk = _quoted(meta.db_table), _quoted(meta.pk.column)
    assignments = ", ".join(
        f"{_quoted(f.column)} = {'b' if f.attname in shared else 'v'}.{_quoted(f.column)}"
        for f in fields[1:]
    )
    sql = (
        f"UPDATE {table} AS t SET {assignments} "
        f"FROM json_populate_recordset(NULL::{table}, %s::json) AS v, "
        f"json_populate_record(NULL::{table}, %s::json) AS b WHERE t.{pk} = v.{pk}"
    )
    with _server_bound_cursor() as cursor:
        cursor.execute(sql, [_json(rows), _json(shared)])


class Ids(frozenset):
    """A batch's ids, written out for `__anyof` once however many of its queries name them."""

    @cached_property
    def text(self) -> str:
        return ",".join(map(str, self))


class AnyOf(Lookup):
    """`field__anyof=ids`: the tick's "these rows of the batch", as `field = ANY(array)` with the
    ids in one text parameter on PostgreSQL. The ORM's IN list of a few thousand UUIDs is a
    parameter each — prepared one by one in Python, then bound and split into the query text
    by the driver — which cost a busy tick more than running the queries did. Elsewhere (the
    SQLite demo) it is IN. Registered on UUID columns and foreign keys to them
    (SchedulesConfig.ready). Give it a set (an Ids, whose text is made once): the ORM walks a
    list or tuple value element by element looking for expressions."""

    lookup_name = "anyof"
    prepare_rhs = False

    def get_prep_lookup(self):
        # Kept an Ids (a set, which the ORM does not walk): the text of one the caller made is
        # then written once for every query that names it.
        return self.rhs if isinstance(self.rhs, Ids) else Ids(self.rhs)

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if not self.rhs:
            return "FALSE", []
        cast = self.lhs.output_field.db_type(connection)
        return f"{lhs} = ANY(string_to_array(%s, ',')::{cast}[])", [*lhs_params, self.rhs.text]

    def as_sqlite(self, compiler, connection):
        return In(self.lhs, self.rhs).as_sql(compiler, connection)


def register_lookups() -> None:
    UUIDField.register_lookup(AnyOf)
    ForeignKey.register_lookup(AnyOf)
