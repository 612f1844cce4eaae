"""Writes to billing records."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.db import connection

from billing.models import MonthlyUsage
from billing.selectors import month_start_utc


def usage_add_runs(*, counts: Mapping, now: datetime) -> None:
    """Add dispatched runs to each organization's counter for `now`'s UTC month.

    One upsert for any number of organizations; the increment happens in the database, so
    concurrent ticks add up instead of overwriting each other. Rows are locked in organization
    order: two batches committing at once (two evaluators, or an evaluator's two lanes) wait
    for each other instead of deadlocking.
    """
    counts = {org_id: n for org_id, n in sorted(counts.items(), key=lambda kv: str(kv[0])) if n}
    if not counts:
        return
    # Values prepared by the model's fields: a UUID is a uuid on PostgreSQL, hex text on SQLite.
    org_field = MonthlyUsage._meta.get_field("organization").target_field
    month_field = MonthlyUsage._meta.get_field("month")
    month = month_field.get_db_prep_value(month_start_utc(now).date(), connection)
    table = connection.ops.quote_name(MonthlyUsage._meta.db_table)
    values = ", ".join(["(%s, %s, %s)"] * len(counts))
    params = [
        v
        for org_id, n in counts.items()
        for v in (org_field.get_db_prep_value(org_id, connection), month, n)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (organization_id, month, runs) VALUES {values} "
            "ON CONFLICT (organization_id, month) "
            f"DO UPDATE SET runs = {table}.runs + excluded.runs",
            params,
        )
