"""Reads for the billing gate, batched for the tick."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from billing.gate import BillingState
from billing.models import AuditEntry, MonthlyUsage, Organization


def month_start_utc(now: datetime) -> datetime:
    """Midnight UTC on the first day of `now`'s UTC month: quotas are per calendar month, UTC."""
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def billing_states_for(
    organization_ids: Iterable, *, now: datetime
) -> dict[uuid.UUID, BillingState]:
    """Billing state of each organization, in exactly two queries whatever their number.

    Organizations that do not exist are absent from the result; callers treat absence as
    blocked. Runs this month come from the MonthlyUsage counters, one row per organization.
    """
    # `__anyof` (the tick's batch lookup, schedules.bulk): a tick's batch names hundreds of
    # organizations, one text parameter rather than a parameter each.
    ids = frozenset(organization_ids)
    if not ids:
        return {}
    rows = Organization.objects.filter(pk__anyof=ids).values_list(
        "id", "billing_status", "trial_ends_at", "past_due_since", "monthly_run_quota"
    )
    counts = dict(
        MonthlyUsage.objects.filter(
            organization_id__anyof=ids, month=month_start_utc(now).date()
        ).values_list("organization_id", "runs")
    )
    return {
        org_id: BillingState(
            organization_id=org_id,
            status=status,
            trial_ends_at=trial_ends_at,
            past_due_since=past_due_since,
            monthly_run_quota=quota,
            runs_this_month=counts.get(org_id, 0),
        )
        for org_id, status, trial_ends_at, past_due_since, quota in rows
    }


def audit_entries_of(*, organization_id, object_type: str, object_id, limit: int) -> list:
    """An object's latest audit entries, newest first (one query; index audit_org_object)."""
    return list(
        AuditEntry.objects.filter(
            organization_id=organization_id, object_type=object_type, object_id=str(object_id)
        ).order_by("-at", "-id")[:limit]
    )
