"""Reads for the tick, batched: a constant number of queries per batch, whatever its size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast
from uuid import UUID

from django.conf import settings
from django.db.models import (
    BooleanField,
    Count,
    Max,
    Min,
    Q,
)
from django.db.models.expressions import RawSQL

from agents.models import ACTIVE_JOB_STATUSES, PREWARM_MAX_MINUTES, Agent, Job
from agents.readiness import AgentState
from billing.selectors import billing_states_for
from schedules.calendars import PlannedSkips
from schedules.gates import GateContext
from schedules.lease import TICK_LEASE
from schedules.models import Schedule, TickHeartbeat
from vault.selectors import vault_key_names_for


def schedule_due_page(
    *,
    now: datetime,
    organization_id: UUID | None,
    after: tuple[UUID, datetime] | None,
    size: int,
) -> list[tuple[UUID, datetime]]:
    """(id, fire_at) of due schedules, oldest first, after the keyset cursor `after`.

    Due is "its fire instant has come": fire_at is next_run_at plus the occurrence's jitter
    offset (equal without jitter), so a jittered schedule is not selected before it.
    Served by the partial index `schedule_due_idx` (enabled rows by fire_at): the scan starts
    at the oldest due row and stops after `size`, so its cost follows the number due.
    A keyset cursor (not OFFSET) lets one tick walk past rows it could not lock.
    """
    qs = Schedule.objects.filter(enabled=True, fire_at__lte=now)
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    if after is not None:
        pk, at = after
        # A row-value comparison, so PostgreSQL walks the (fire_at, id) index from the cursor
        # instead of re-reading every row that shares the cursor's instant.
        qs = qs.alias(
            after_cursor=RawSQL('("fire_at", "id") > (%s, %s)', (at, pk), BooleanField())
        ).filter(after_cursor=True)
    page = qs.order_by("fire_at", "id").values_list("id", "fire_at")[:size]
    # fire_at__lte above leaves out NULLs, which the field's type cannot know.
    return cast("list[tuple[UUID, datetime]]", list(page))


def prewarm_candidates(*, now: datetime) -> list[tuple[Agent, datetime]]:
    """Agents with pre-warm on, each with the earliest fire instant at or after `now` of its
    enabled schedules, in one grouped query.

    It starts from the agents (few have pre-warm on) and reaches their schedules through the
    agent foreign key's index. Only agents whose earliest run is within the longest possible
    lead come back; schedules.prewarm judges the rest (its own lead, status, auto-start). The
    bound is a plain instant, not `now + prewarm_minutes` in SQL: duration arithmetic is not
    portable to the embedded demo's SQLite, and the earliest run decides either way."""
    agents = (
        Agent.objects.filter(prewarm_minutes__gt=0)
        .annotate(
            next_fire_at=Min(
                "schedules__fire_at",
                filter=Q(schedules__enabled=True, schedules__fire_at__gte=now),
            )
        )
        .filter(next_fire_at__lte=now + timedelta(minutes=PREWARM_MAX_MINUTES))
        .order_by()
    )
    return [(a, a.next_fire_at) for a in agents]


def gate_context(*, schedules: list[Schedule], now: datetime) -> GateContext:
    """Everything the gates need for this batch: 2 billing queries + at most 4 more."""
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

    # The calendars of the batch's schedules: one join, whatever the batch size (the planned
    # skips of schedules.calendars; the agents' windows come with the agents, loaded already).
    calendars: dict[UUID, list[tuple[str, list]]] = {}
    links = Schedule.calendars.through.objects.filter(schedule_id__in=schedule_ids)
    for schedule_id, name, dates in links.values_list(
        "schedule_id", "calendar__name", "calendar__dates"
    ).order_by("calendar__name"):
        calendars.setdefault(schedule_id, []).append((name, dates))

    return GateContext(
        now=now,
        billing=billing_states_for(org_ids, now=now),
        grace_days=settings.BILLING_PAST_DUE_GRACE_DAYS,
        active_jobs=active,
        last_job_at=last_job_at,
        vault_names=vault_names,
        # The engine attached each schedule's agent (one in_bulk query per batch,
        # engine._with_scripts_and_agents): no query here.
        agents={s.agent_id: AgentState.from_agent(s.agent) for s in schedules},
        online_seconds=settings.AGENT_ONLINE_SECONDS,
        calendars=calendars,
        maintenance={
            s.agent_id: (s.agent.timezone, s.agent.maintenance_windows) for s in schedules
        },
    )


def schedule_planned_skips(schedule: Schedule) -> PlannedSkips:
    """A saved schedule's calendars and its agent's maintenance windows (for its preview): one
    query for the calendars unless they are prefetched, one for the agent unless it is loaded."""
    # .all(), sorted here: it reads the prefetched calendars where the caller prefetched them.
    calendars = sorted((c.name, c.dates) for c in schedule.calendars.all())
    agent = schedule.agent
    return PlannedSkips(
        tz=schedule.timezone,
        calendars=calendars,
        agent_tz=agent.timezone,
        windows=agent.maintenance_windows,
    )


# Executor-lock errors in a row after which the tick is reported degraded (another evaluator
# keeps the lease: a stuck process, or two beats).
DEGRADED_AFTER_LOCK_ERRORS = 3
# A tick older than this is late: beat (or the external cron) is not running.
TICK_LATE_AFTER_SECONDS = 180


@dataclass(frozen=True)
class TickHealth:
    """The every-minute tick as /api/health and the admin index report it."""

    last_tick_at: datetime | None
    age_seconds: int | None
    consecutive_lock_errors: int

    @property
    def state(self) -> str:
        """degraded (the executor lock held elsewhere, tick after tick) · never (no tick has
        succeeded yet) · late · ok"""
        if self.consecutive_lock_errors >= DEGRADED_AFTER_LOCK_ERRORS:
            return "degraded"
        if self.last_tick_at is None or self.age_seconds is None:
            return "never"
        if self.age_seconds > TICK_LATE_AFTER_SECONDS:
            return "late"
        return "ok"


def tick_health(*, now: datetime) -> TickHealth:
    """One query: the tick lease's heartbeat row."""
    beat = TickHeartbeat.objects.filter(name=TICK_LEASE).first()
    if beat is None:
        return TickHealth(last_tick_at=None, age_seconds=None, consecutive_lock_errors=0)
    last = beat.last_success_at
    return TickHealth(
        last_tick_at=last,
        age_seconds=None if last is None else int((now - last).total_seconds()),
        consecutive_lock_errors=beat.consecutive_lock_errors,
    )
