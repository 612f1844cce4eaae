"""Reads for the tick, batched: a constant number of queries per batch, whatever its size."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast
from uuid import UUID

from django.conf import settings
from django.db.models import BooleanField, Count, Max
from django.db.models.expressions import RawSQL

from agents.models import ACTIVE_JOB_STATUSES, Job
from agents.readiness import AgentState
from billing.selectors import billing_states_for
from schedules.gates import GateContext
from schedules.models import Schedule
from vault.selectors import vault_key_names_for


def schedule_due_page(
    *,
    now: datetime,
    organization_id: UUID | None,
    after: tuple[UUID, datetime] | None,
    size: int,
) -> list[tuple[UUID, datetime]]:
    """(id, next_run_at) of due schedules, oldest first, after the keyset cursor `after`.

    Served by the partial index `schedule_due_idx` (enabled rows by next_run_at): the scan
    starts at the oldest due row and stops after `size`, so its cost follows the number due.
    A keyset cursor (not OFFSET) lets one tick walk past rows it could not lock.
    """
    qs = Schedule.objects.filter(enabled=True, next_run_at__lte=now)
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    if after is not None:
        pk, at = after
        # A row-value comparison, so PostgreSQL walks the (next_run_at, id) index from the
        # cursor instead of re-reading every row that shares the cursor's minute.
        qs = qs.alias(
            after_cursor=RawSQL('("next_run_at", "id") > (%s, %s)', (at, pk), BooleanField())
        ).filter(after_cursor=True)
    page = qs.order_by("next_run_at", "id").values_list("id", "next_run_at")[:size]
    # next_run_at__lte above leaves out NULLs, which the field's type cannot know.
    return cast("list[tuple[UUID, datetime]]", list(page))


def gate_context(*, schedules: list[Schedule], now: datetime) -> GateContext:
    """Everything the gates need for this batch: 2 billing queries + at most 3 more."""
    schedule_ids = [s.id for s in schedules]
    org_ids = {s.organization_id for s in schedules}

    active = dict(
        Job.objects.filter(schedule_id__in=schedule_ids, status__in=ACTIVE_JOB_STATUSES)
        .values("schedule_id")
        .annotate(n=Count("id"))
        .values_list("schedule_id", "n")
    )

    widest = max((s.idempotency_window_minutes for s in schedules), default=0)
    last_job_at: dict[UUID, datetime] = {}
    if widest:
        last_job_at = dict(
            Job.objects.filter(
                schedule_id__in=[s.id for s in schedules if s.idempotency_window_minutes],
                created_at__gte=now - timedelta(minutes=widest),
            )
            .values("schedule_id")
            .annotate(last=Max("created_at"))
            .values_list("schedule_id", "last")
        )

    needs_vault = {s.organization_id for s in schedules if s.vault_keys}
    vault_names = vault_key_names_for(needs_vault) if needs_vault else {}

    return GateContext(
        now=now,
        billing=billing_states_for(org_ids, now=now),
        grace_days=settings.BILLING_PAST_DUE_GRACE_DAYS,
        active_jobs=active,
        last_job_at=last_job_at,
        vault_names=vault_names,
        # Agents arrive with the schedules (select_related): no query here.
        agents={s.agent_id: AgentState.from_agent(s.agent) for s in schedules},
        online_seconds=settings.AGENT_ONLINE_SECONDS,
    )
