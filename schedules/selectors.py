"""Reads for the tick, batched: a constant number of queries per batch, whatever its size."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import connection
from django.db.models import (
    Aggregate,
    BooleanField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    Q,
    Window,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import RowNumber

from agents.models import (
    ACTIVE_JOB_STATUSES,
    FINISHED_JOB_STATUSES,
    PREWARM_MAX_MINUTES,
    Agent,
    Job,
    JobStatus,
    ScriptVersion,
)
from agents.readiness import AgentState
from billing.selectors import billing_states_for
from schedules import charts, stats
from schedules.bulk import Ids
from schedules.calendars import PlannedSkips
from schedules.gates import GateContext
from schedules.lease import TICK_LEASE
from schedules.models import Schedule, TickHeartbeat
from vault.selectors import vault_key_names_for


def _due(*, now: datetime, organization_id: UUID | None, after: tuple[UUID, datetime] | None):
    """Due schedules after the keyset cursor `after` (id, fire_at), in the order of the partial
    index `schedule_due_idx` (enabled rows by fire_at, id).

    Due is "its fire instant has come": fire_at is next_run_at plus the occurrence's jitter
    offset (equal without jitter), so a jittered schedule is not selected before it. A keyset
    cursor (not OFFSET) lets one tick walk past rows it could not lock."""
    qs = Schedule.objects.filter(enabled=True, fire_at__lte=now, next_run_at__lte=now)
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    if after is not None:
        # A row-value comparison, so PostgreSQL walks the (fire_at, id) index from the cursor
        # instead of re-reading every row that shares the cursor's instant.
        qs = qs.alias(after_cursor=_row_value(">", after)).filter(after_cursor=True)
    return qs.order_by("fire_at", "id")


def _row_value(op: str, cursor: tuple[UUID, datetime]) -> RawSQL:
    """`(fire_at, id) <op> cursor`, its values prepared as their columns store them (raw SQL
    gets no field conversion: SQLite, the embedded demo's, keeps a UUID as hex text)."""
    pk, at = cursor
    params = (
        connection.ops.adapt_datetimefield_value(at),
        Schedule._meta.pk.get_db_prep_value(pk, connection),
    )
    return RawSQL(f'("fire_at", "id") {op} (%s, %s)', params, BooleanField())


def schedule_due_claim(
    *,
    now: datetime,
    organization_id: UUID | None,
    after: tuple[UUID, datetime] | None,
    size: int,
    lock: bool,
) -> list[Schedule]:
    """The next `size` due schedules after the cursor, oldest first — with `lock`, locked for
    the caller's transaction (FOR UPDATE SKIP LOCKED): a row another evaluator holds is passed
    over, so evaluators (and an evaluator's lanes) each take rows nobody has, instead of trying
    the same rows in turn. The index scan starts at the cursor and stops after `size` rows."""
    qs = _due(now=now, organization_id=organization_id, after=after)
    if lock:
        qs = qs.select_for_update(skip_locked=True)
    return list(qs[:size])


def schedule_due_held_elsewhere(
    *,
    now: datetime,
    organization_id: UUID | None,
    after: tuple[UUID, datetime] | None,
    upto: tuple[UUID, datetime],
    claimed: Collection[UUID],
) -> list[UUID]:
    """The due schedules a claim passed over — in its range, after the cursor `after` up to and
    including its last row `upto`, but not among the `claimed` rows it took: rows another
    evaluator holds. A count first (one evaluator: always equal), the ids only when it is not."""
    between = _due(now=now, organization_id=organization_id, after=after)
    between = between.alias(upto=_row_value("<=", upto)).filter(upto=True)
    if between.count() <= len(claimed):
        return []
    taken = set(claimed)
    return [pk for pk in between.values_list("id", flat=True) if pk not in taken]


@dataclass(frozen=True)
class TickWork:
    """Which of a full tick's steps may have something to do (tick_work)."""

    republish: bool  # jobs owed a message (pending, retrying)
    release: bool  # held jobs
    due: bool  # due schedules
    prewarm: bool  # agents with pre-warm on


def tick_work(*, now: datetime) -> TickWork:
    """One statement, four EXISTS on the steps' own indexes: an idle tick — most ticks — then
    skips the steps' queries, whose building in the ORM costs several times their running.

    Each condition is the step's own or looser (never stricter): a step it lets through may
    still find nothing (a retry not yet due), a step it skips has nothing to find. Plain SQL
    on both databases (the embedded demo's SQLite too); `now` goes in as its column type."""
    job, schedule, agent = (m._meta.db_table for m in (Job, Schedule, Agent))
    sql = (
        f"SELECT EXISTS (SELECT 1 FROM {job} WHERE status IN (%s, %s)), "
        f"EXISTS (SELECT 1 FROM {job} WHERE status = %s AND schedule_id IS NOT NULL), "
        f"EXISTS (SELECT 1 FROM {schedule} WHERE enabled AND fire_at <= %s), "
        f"EXISTS (SELECT 1 FROM {agent} WHERE prewarm_minutes > 0)"
    )
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(sql, [JobStatus.PENDING, JobStatus.RETRYING, JobStatus.HELD, at])
        republish, release, due, prewarm = cursor.fetchone()
    return TickWork(bool(republish), bool(release), bool(due), bool(prewarm))


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


def _with_windows(schedules: list[Schedule], ids: Ids) -> Ids:
    """The batch's schedules with an idempotency window (often all of them: `ids` then)."""
    windowed = [s.id for s in schedules if s.idempotency_window_minutes]
    return ids if len(windowed) == len(ids) else Ids(windowed)


def gate_context(*, schedules: list[Schedule], now: datetime) -> GateContext:
    """Everything the gates need for this batch: 2 billing queries + at most 4 more."""
    schedule_ids = Ids(s.id for s in schedules)  # written out once for all the queries below
    # The batch's organizations, scripts and agents (a few each), in one pass over its rows. The
    # engine attached each schedule's agent (one query per batch, engine._with_agents): an
    # agent's object is taken from its first schedule, its state then built once.
    org_ids: set[UUID] = set()
    script_ids: set[UUID] = set()
    needs_vault: set[UUID] = set()
    agents: dict[UUID, Agent] = {}
    for s in schedules:
        org_ids.add(s.organization_id)
        script_ids.add(s.script_id)
        if s.vault_keys:
            needs_vault.add(s.organization_id)
        if s.agent_id not in agents:
            agents[s.agent_id] = s.agent

    active = dict(
        Job.objects.filter(schedule_id__anyof=schedule_ids, status__in=ACTIVE_JOB_STATUSES)
        .values("schedule_id")
        .annotate(n=Count("id"))
        .values_list("schedule_id", "n")
    )

    widest = max((s.idempotency_window_minutes for s in schedules), default=0)
    last_job_at: dict[UUID, datetime] = {}
    if widest:
        last_job_at = dict(
            Job.objects.filter(
                schedule_id__anyof=_with_windows(schedules, schedule_ids),
                created_at__gte=now - timedelta(minutes=widest),
            )
            .values("schedule_id")
            .annotate(last=Max("created_at"))
            .values_list("schedule_id", "last")
        )

    vault_names = vault_key_names_for(needs_vault) if needs_vault else {}

    # The calendars of the batch's schedules: one join, whatever the batch size (the planned
    # skips of schedules.calendars; the agents' windows come with the agents, loaded already).
    calendars: dict[UUID, list[tuple[str, list]]] = {}
    links = Schedule.calendars.through.objects.filter(schedule_id__anyof=schedule_ids)
    for schedule_id, name, dates in links.values_list(
        "schedule_id", "calendar__name", "calendar__dates"
    ).order_by("calendar__name"):
        calendars.setdefault(schedule_id, []).append((name, dates))

    # The current version of each script of the batch (a job references it): one join.
    versions = {
        script_id: (code_id, version)
        for script_id, code_id, version in ScriptVersion.objects.filter(
            script_id__anyof=script_ids, version=F("script__version")
        ).values_list("script_id", "id", "version")
    }
    billing = billing_states_for(org_ids, now=now)

    # The per-organization and per-script maps are keyed by the rows' own id objects, which the
    # engine made one per value (engine._share_ids): a lookup then finds its key by identity.
    return GateContext(
        now=now,
        billing={pk: billing[pk] for pk in org_ids if pk in billing},
        grace_days=settings.BILLING_PAST_DUE_GRACE_DAYS,
        active_jobs=active,
        last_job_at=last_job_at,
        vault_names=vault_names,
        agents={pk: AgentState.from_agent(a) for pk, a in agents.items()},
        online_seconds=settings.AGENT_ONLINE_SECONDS,
        calendars=calendars,
        maintenance={pk: (a.timezone, a.maintenance_windows) for pk, a in agents.items()},
        code={pk: versions[pk] for pk in script_ids if pk in versions},
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


# --- Runtime statistics (SPEC §14 "Knowing what happened"; what they mean: schedules.stats) ---


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate `PERCENTILE_CONT(f) WITHIN GROUP (ORDER BY expr)`.

    The fraction is a literal of the SQL (it is not a parameter: PostgreSQL needs it constant
    per group), checked to be a float in [0, 1] first. PostgreSQL only: the SQLite demo computes
    percentiles in Python (schedules.stats.percentile_cont)."""

    function = "PERCENTILE_CONT"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, *, fraction: float, **extra):
        fraction = float(fraction)
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction must be within [0, 1], not {fraction}")
        super().__init__(expression, fraction=repr(fraction), **extra)


_FINISHED = Q(status__in=FINISHED_JOB_STATUSES)
# Finished jobs that started: their duration is finished_at - started_at.
_RAN = _FINISHED & Q(started_at__isnull=False, finished_at__isnull=False)
# Jobs that started on their first attempt: their queue wait is started_at - created_at.
_WAITED = Q(started_at__isnull=False, attempt=1)


def _window_jobs(*, schedule_id: UUID, now: datetime):
    # Served by the index job_schedule_recent (schedule, -created_at).
    return Job.objects.filter(
        schedule_id=schedule_id, created_at__gt=now - stats.WINDOW, created_at__lte=now
    ).order_by()


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def schedule_stats(
    *, schedule_id: UUID, now: datetime, in_sql: bool | None = None
) -> stats.ScheduleStats:
    """A schedule's runtime statistics over the 30 days before `now`, in one query.

    PostgreSQL computes them all in SQL (percentile_cont over intervals); elsewhere — the
    SQLite demo, or `in_sql=False` — one query reads the window's timestamps and Python
    computes the same figures (interval arithmetic is not portable to SQLite)."""
    if in_sql is None:
        in_sql = connection.vendor == "postgresql"
    jobs = _window_jobs(schedule_id=schedule_id, now=now)
    if not in_sql:
        return _stats_in_python(jobs)
    duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    wait = ExpressionWrapper(F("started_at") - F("created_at"), output_field=DurationField())
    row = jobs.aggregate(
        runs=Count("id"),
        finished=Count("id", filter=_FINISHED),
        succeeded=Count("id", filter=Q(status=JobStatus.SUCCEEDED)),
        p50=PercentileCont(duration, fraction=0.5, filter=_RAN, output_field=DurationField()),
        p95=PercentileCont(duration, fraction=0.95, filter=_RAN, output_field=DurationField()),
        wait50=PercentileCont(wait, fraction=0.5, filter=_WAITED, output_field=DurationField()),
    )
    return stats.ScheduleStats(
        runs=row["runs"],
        success_rate=stats.success_rate(succeeded=row["succeeded"], finished=row["finished"]),
        p50_duration_seconds=_seconds(row["p50"]),
        p95_duration_seconds=_seconds(row["p95"]),
        p50_queue_wait_seconds=_seconds(row["wait50"]),
    )


def _stats_in_python(jobs) -> stats.ScheduleStats:
    runs = finished = succeeded = 0
    durations: list[float] = []
    waits: list[float] = []
    rows = jobs.values_list("status", "attempt", "created_at", "started_at", "finished_at")
    for status, attempt, created_at, started_at, finished_at in rows:
        runs += 1
        if status in FINISHED_JOB_STATUSES:
            finished += 1
            succeeded += status == JobStatus.SUCCEEDED
            if started_at is not None and finished_at is not None:
                durations.append((finished_at - started_at).total_seconds())
        if started_at is not None and attempt == 1:
            waits.append((started_at - created_at).total_seconds())
    return stats.ScheduleStats(
        runs=runs,
        success_rate=stats.success_rate(succeeded=succeeded, finished=finished),
        p50_duration_seconds=_microseconds(stats.percentile_cont(durations, 0.5)),
        p95_duration_seconds=_microseconds(stats.percentile_cont(durations, 0.95)),
        p50_queue_wait_seconds=_microseconds(stats.percentile_cont(waits, 0.5)),
    )


def _microseconds(seconds: float | None) -> float | None:
    # PostgreSQL's interpolated interval is whole microseconds; rounded the same, both
    # databases answer the same figure (590.5, not 590.4999999999991).
    return None if seconds is None else round(seconds, 6)


def schedule_recent_runs(*, schedule_id: UUID, limit: int) -> list[charts.RunBar]:
    """The schedule's last `limit` finished jobs, oldest first, for its chart: one query."""
    rows = (
        Job.objects.filter(_FINISHED, schedule_id=schedule_id)
        .order_by("-created_at", "-id")
        .values_list("id", "created_at", "started_at", "finished_at", "status")[:limit]
    )
    return [
        charts.RunBar(
            job_id=job_id,
            at=started_at or created_at,
            seconds=(finished_at - started_at).total_seconds()
            if started_at is not None and finished_at is not None
            else None,
            status=status,
        )
        for job_id, created_at, started_at, finished_at, status in reversed(list(rows))
    ]


def _recent_outcomes_lateral(schedule_ids: list[UUID], limit: int) -> list[tuple[UUID, str]]:
    table = connection.ops.quote_name(Job._meta.db_table)
    sql = f"""
        SELECT s.id, j.status
        FROM unnest(%s::uuid[]) AS s(id)
        CROSS JOIN LATERAL (
            SELECT status, created_at, id FROM {table}
            WHERE schedule_id = s.id AND status = ANY(%s)
            ORDER BY created_at DESC, id DESC
            LIMIT %s
        ) AS j
        ORDER BY s.id, j.created_at, j.id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(schedule_ids), [str(s) for s in FINISHED_JOB_STATUSES], limit])
        return [(row[0], row[1]) for row in cursor.fetchall()]


def schedule_recent_outcomes(*, schedule_ids: list[UUID], limit: int) -> dict[UUID, list[str]]:
    """The last `limit` outcomes (finished jobs' statuses) of each schedule, oldest first, in
    one query whatever the number of schedules.

    On PostgreSQL a LATERAL join reads, per schedule, only its newest finished jobs through the
    (schedule, -created_at) index: `limit` rows each, however long the history of an
    every-minute schedule. Elsewhere (the SQLite demo, small by nature) ROW_NUMBER() per
    schedule, newest first, kept up to `limit`."""
    if not schedule_ids:
        return {}
    rows: Iterable[tuple[UUID, str]]
    if connection.vendor == "postgresql":
        rows = _recent_outcomes_lateral(schedule_ids, limit)
    else:
        rows = (
            Job.objects.filter(_FINISHED, schedule_id__in=schedule_ids)
            .annotate(
                recent=Window(
                    RowNumber(),
                    partition_by=[F("schedule_id")],
                    order_by=[F("created_at").desc(), F("id").desc()],
                )
            )
            .filter(recent__lte=limit)
            .order_by("schedule_id", "-recent")
            .values_list("schedule_id", "status")
        )
    outcomes: dict[UUID, list[str]] = {}
    for schedule_id, status in rows:
        outcomes.setdefault(schedule_id, []).append(status)
    return outcomes
