"""Writes to schedules. Views, admin and tasks call these; they never write rows themselves."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Subquery

from agents.models import ACTIVE_JOB_STATUSES, ErrorKind, Job, JobStatus, Trigger
from agents.services import jobs_cancel_held, jobs_purge_finished
from billing.audit import Actor, audit_entry, audit_record, audit_record_many, field_changes
from billing.models import AuditAction, AuditObjectType
from config.clock import iso_z
from schedules.backfill import range_errors, range_occurrences, too_many_error
from schedules.bulk import bulk_insert
from schedules.decisions import event_row, job_row, planned_skips
from schedules.due import first_run
from schedules.gates import Candidate, Skip, agent_gate, billing_gate, vault_gate
from schedules.models import (
    Calendar,
    EventKind,
    Schedule,
    ScheduleEvent,
    SkipReason,
    StopReason,
    run_at_in_past_error,
)
from schedules.preview import Rule, SkippedRun, planned_skips_rule
from schedules.selectors import gate_context

_CALENDAR_NAME_TAKEN = "A calendar with this name already exists in the organization."


def _calendar_save(calendar: Calendar, **save_kwargs) -> Calendar:
    calendar.full_clean(validate_constraints=False)
    taken = Calendar.objects.filter(organization_id=calendar.organization_id, name=calendar.name)
    if taken.exclude(pk=calendar.pk).exists():
        raise ValidationError({"name": _CALENDAR_NAME_TAKEN})
    try:
        with transaction.atomic():
            calendar.save(**save_kwargs)
    except IntegrityError:  # two writes of the same name raced past the check
        raise ValidationError({"name": _CALENDAR_NAME_TAKEN}) from None
    return calendar


def calendar_create(*, organization, name: str, dates: list | None = None) -> Calendar:
    calendar = Calendar(organization=organization, name=name, dates=dates or [])
    return _calendar_save(calendar)


def calendar_update(*, calendar: Calendar, **fields) -> Calendar:
    for name, value in fields.items():
        setattr(calendar, name, value)
    return _calendar_save(calendar, update_fields=sorted({*fields, "updated_at"}))


def schedule_refresh_next_run(*, schedule: Schedule, now: datetime, run_at_moved: bool) -> None:
    """Set next_run_at to the first run after `now` within the bounds (on create, edit, or
    resume), and stopped_reason to why there is none. A paused schedule has no next run either;
    its stop reason is kept up to date, so resuming says the truth at once.

    A one-time schedule whose run already came due stays stopped unless `run_at_moved` (a new
    instant is a new run). Raising remaining_runs or moving ends_at re-arms a stopped one.
    It is not saved here: callers save with the rest of their change.
    """
    once_done = ""
    if not run_at_moved and schedule.stopped_reason in _ONCE_DONE:
        once_done = schedule.stopped_reason
    result = first_run(
        spec=None if schedule.run_at is not None else schedule.cron_spec,
        tz=schedule.timezone,
        bounds=schedule.bounds,
        after=now,
        once_done=once_done,
    )
    schedule.stopped_reason = result.stopped_reason
    schedule.next_run_at = result.at if schedule.enabled else None


_ONCE_DONE = (StopReason.RAN_ONCE, StopReason.ONCE_SKIPPED)


def _check_run_at_future(schedule: Schedule, now: datetime) -> None:
    error = run_at_in_past_error(schedule.run_at, now)
    if error:
        raise ValidationError({"run_at": error})


def _check_calendars(schedule: Schedule, calendars) -> list[Calendar]:
    """The calendars of a schedule are its organization's (a many-to-many cannot be checked
    by the model's clean)."""
    calendars = list(calendars)
    if any(c.organization_id != schedule.organization_id for c in calendars):
        raise ValidationError({"calendars": "This calendar belongs to another organization."})
    return calendars


def _audit_schedule(schedule: Schedule, actor: Actor | None, action: str, now, **fields) -> None:
    audit_record(
        actor=actor,
        organization_id=schedule.organization_id,
        action=action,
        object_type=AuditObjectType.SCHEDULE,
        object_id=schedule.pk,
        object_label=schedule.name,
        now=now,
        **fields,
    )


def _audited_values(schedule: Schedule, names) -> dict:
    """The values of the edited fields as the audit trail compares and names them: a reference
    by its id (`script_id`, no query), the calendars by their sorted ids (`calendar_ids`)."""
    values = {}
    for name in names:
        if name == "calendars":
            ids = schedule.calendars.values_list("pk", flat=True)
            values["calendar_ids"] = sorted(str(pk) for pk in ids)
            continue
        field = Schedule._meta.get_field(name)
        attname = getattr(field, "attname", name)  # script -> script_id (scriptId)
        values[attname] = getattr(schedule, attname)
    return values


@transaction.atomic
def schedule_create(
    *, now: datetime, calendars=(), actor: Actor | None = None, **fields
) -> Schedule:
    schedule = Schedule(**fields)
    schedule.full_clean()
    chosen = _check_calendars(schedule, calendars)
    _check_run_at_future(schedule, now)
    schedule_refresh_next_run(schedule=schedule, now=now, run_at_moved=True)
    schedule.save()
    if chosen:
        schedule.calendars.set(chosen)
    _audit_schedule(schedule, actor, AuditAction.CREATED, now)
    return schedule


# Changing any of these moves the next occurrence; anything else leaves a due row due.
_TIMING_FIELDS = (
    "cron_expression",
    "run_at",
    "timezone",
    "enabled",
    "starts_at",
    "ends_at",
    "remaining_runs",
)


@transaction.atomic
def schedule_update(
    *, schedule: Schedule, now: datetime, actor: Actor | None = None, **fields
) -> Schedule:
    """Apply an edit. next_run_at is recomputed from `now` only when the timing changed, so an
    edit of, say, the variables of an overdue schedule does not make it skip its due run.

    The row is locked and only the edited columns are written: a tick dispatching this schedule
    at the same moment keeps its lastRunAt/lastRunStatus/nextRunAt (no lost update).
    """
    schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
    edited = list(fields)
    before = _audited_values(schedule, edited) if actor is not None else {}
    calendars = fields.pop("calendars", None)
    timing_changed = any(
        name in fields and fields[name] != getattr(schedule, name) for name in _TIMING_FIELDS
    )
    run_at_moved = "run_at" in fields and fields["run_at"] != schedule.run_at
    for name, value in fields.items():
        setattr(schedule, name, value)
    schedule.full_clean()
    if calendars is not None:
        # Next runs are occurrences, excluded ones too (the tick records their skip): a new
        # set of calendars does not move nextRunAt.
        schedule.calendars.set(_check_calendars(schedule, calendars))
    if run_at_moved:
        _check_run_at_future(schedule, now)
    update_fields = {*fields, "updated_at"}
    if timing_changed:
        schedule_refresh_next_run(schedule=schedule, now=now, run_at_moved=run_at_moved)
        update_fields |= {"next_run_at", "stopped_reason"}
    if fields.get("enabled") is True and schedule.paused_at is not None:
        # Enabled again through an edit: the pause is over.
        schedule.paused_note = ""
        schedule.paused_at = None
        update_fields |= {"paused_note", "paused_at"}
    schedule.save(update_fields=sorted(update_fields))
    if actor is not None:
        changes = field_changes(before, _audited_values(schedule, edited))
        if changes:  # an edit that changed nothing is not one
            _audit_schedule(schedule, actor, AuditAction.EDITED, now, changes=changes)
    return schedule


def _schedule_set_paused(
    schedule: Schedule, *, paused: bool, note: str, now: datetime, kind: str, actor: Actor | None
) -> Schedule:
    """The one write behind pause and resume: state, nextRunAt and the history event."""
    schedule.enabled = not paused
    schedule.paused_note = note if paused else ""
    schedule.paused_at = now if paused else None
    # None while paused; on resume, the first run from now within the bounds.
    schedule_refresh_next_run(schedule=schedule, now=now, run_at_moved=False)
    schedule.save(
        update_fields=[
            "enabled",
            "paused_note",
            "paused_at",
            "next_run_at",
            "stopped_reason",
            "updated_at",
        ]
    )
    ScheduleEvent.objects.create(
        organization_id=schedule.organization_id,
        schedule=schedule,
        kind=kind,
        detail=note if paused else "",
        created_at=now,
    )
    action = AuditAction.PAUSED if paused else AuditAction.RESUMED
    _audit_schedule(schedule, actor, action, now, note=note if paused else "")
    return schedule


@transaction.atomic
def schedule_pause(
    *, schedule: Schedule, now: datetime, note: str = "", actor: Actor | None = None
) -> Schedule:
    """Disable with a note (why, until when), recorded in the schedule's history too.

    The row is locked so a tick holding it finishes its dispatch first; after this commits the
    tick no longer selects it (disabled rows are not in the due index).
    """
    schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
    return _schedule_set_paused(
        schedule, paused=True, note=note, now=now, kind=EventKind.PAUSED, actor=actor
    )


@transaction.atomic
def schedule_resume(*, schedule: Schedule, now: datetime, actor: Actor | None = None) -> Schedule:
    """Enable again; the next run is the first occurrence after `now` (no burst of the runs
    missed while paused). Resuming an enabled schedule changes nothing."""
    schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
    if schedule.enabled:
        return schedule
    return _schedule_set_paused(
        schedule, paused=False, note="", now=now, kind=EventKind.RESUMED, actor=actor
    )


HELD_ORPHANED_MESSAGE = "Its schedule was deleted before a concurrency slot freed for it."


def schedules_delete(*, schedule_ids, now: datetime, actor: Actor | None = None) -> None:
    """Delete schedules and their events; their jobs stay (schedule set to null) as history.
    Their held jobs (overlap policy, backfill) end `canceled` first, in the same transaction:
    the release walks schedules, so a held job without one would wait forever. One audit entry
    per schedule, in one statement.

    The schedules are locked first: a tick dispatching one of them commits before the delete
    collects its jobs and events (they reference the schedule without a database constraint,
    agents.Job), and a tick that comes after skips them as locked, then finds them gone."""
    with transaction.atomic():
        list(Schedule.objects.filter(id__in=schedule_ids).select_for_update().values_list("pk"))
        if actor is not None:
            named = Schedule.objects.filter(id__in=schedule_ids).values_list(
                "id", "organization_id", "name"
            )
            audit_record_many(
                [
                    audit_entry(
                        actor=actor,
                        organization_id=org_id,
                        action=AuditAction.DELETED,
                        object_type=AuditObjectType.SCHEDULE,
                        object_id=pk,
                        object_label=name,
                        now=now,
                    )
                    for pk, org_id, name in named
                ]
            )
        held = Job.objects.filter(schedule_id__in=schedule_ids, status=JobStatus.HELD)
        jobs_cancel_held(
            outcomes={
                pk: (ErrorKind.CANCELED, HELD_ORPHANED_MESSAGE)
                for pk in held.values_list("id", flat=True)
            },
            now=now,
        )
        Schedule.objects.filter(id__in=schedule_ids).delete()


def schedule_delete(*, schedule: Schedule, now: datetime, actor: Actor | None = None) -> None:
    schedules_delete(schedule_ids=[schedule.id], now=now, actor=actor)


# --- History (SPEC §10: old history is purged in batches by a daily task) ----------------------

PURGE_BATCH_SIZE = 5000


def schedule_events_purge(
    *,
    created_before: datetime,
    batch_size: int = PURGE_BATCH_SIZE,
    max_batches: int | None = None,
    dry_run: bool = False,
) -> int:
    """Delete schedule events created before `created_before`, except those whose job is still
    active. Returns how many were deleted (a dry run: how many would be, deleting nothing).

    One statement per batch, oldest first (index event_created_at):
    `DELETE … WHERE id IN (SELECT id … ORDER BY created_at LIMIT n)`, each its own short
    transaction; at most `max_batches` of them (None: until none is left)."""
    active_job = Job.objects.filter(pk=OuterRef("job_id"), status__in=ACTIVE_JOB_STATUSES)
    old = ScheduleEvent.objects.filter(created_at__lt=created_before).exclude(Exists(active_job))
    if dry_run:
        return old.count()
    deleted, batches = 0, 0
    while max_batches is None or batches < max_batches:
        batch = old.order_by("created_at").values("id")[:batch_size]
        with transaction.atomic():
            count, _ = ScheduleEvent.objects.filter(id__in=Subquery(batch)).delete()
        deleted, batches = deleted + count, batches + 1
        if count < batch_size:
            break
    return deleted


@dataclass(frozen=True)
class HistoryPurged:
    jobs: int
    events: int
    job_cutoff: datetime
    event_cutoff: datetime
    # False when `max_batches` stopped a purge with rows left: run it again.
    done: bool


def history_purge(
    *,
    now: datetime,
    dry_run: bool = False,
    batch_size: int | None = None,
    max_batches: int | None = None,
) -> HistoryPurged:
    """Schedule events older than EVENT_RETENTION_DAYS, then finished jobs older than
    JOB_RETENTION_DAYS, in batches of `batch_size` (PURGE_BATCH_SIZE). A schedule's
    lastRunAt/lastRunStatus are its own columns: purging the jobs behind them changes neither."""
    batch_size = batch_size or PURGE_BATCH_SIZE
    event_cutoff = now - timedelta(days=settings.EVENT_RETENTION_DAYS)
    job_cutoff = now - timedelta(days=settings.JOB_RETENTION_DAYS)
    events = schedule_events_purge(
        created_before=event_cutoff, batch_size=batch_size, max_batches=max_batches, dry_run=dry_run
    )
    jobs = jobs_purge_finished(
        finished_before=job_cutoff, batch_size=batch_size, max_batches=max_batches, dry_run=dry_run
    )
    # Each stops early only on a full last batch, so "at the cap" means "maybe more".
    cap = None if max_batches is None else max_batches * batch_size
    return HistoryPurged(
        jobs=jobs,
        events=events,
        job_cutoff=job_cutoff,
        event_cutoff=event_cutoff,
        done=dry_run or cap is None or (jobs < cap and events < cap),
    )


# --- Backfill (SPEC §14) ------------------------------------------------------------------------


@dataclass(frozen=True)
class Backfill:
    """What a backfill enqueued (or, dry, would), what was already there, what blocks."""

    dry_run: bool
    start: datetime
    end: datetime
    enqueued: list[datetime]  # occurrences given a held job now (dry: that would be)
    already_present: list[datetime]  # occurrences that already have a job (by idempotency key)
    skipped: list[SkippedRun]  # occurrences a rule (calendar, maintenance…) skips
    blocked_by: list[Skip]  # gates blocking now (billing, vault, agent): held jobs wait for them


class BackfillRefused(Exception):
    """The billing gate blocks: nothing is enqueued (409 in the API)."""

    def __init__(self, skip: Skip):
        super().__init__(skip.detail)
        self.skip = skip


# The gates a backfill reports. Concurrency is what holding is for (the tick releases held jobs
# as slots free), and the idempotency window does not apply to a requested range.
_BACKFILL_GATES = (billing_gate, vault_gate, agent_gate)


def schedule_backfill(
    *,
    schedule: Schedule,
    start: datetime,
    end: datetime,
    now: datetime,
    dry_run: bool,
    rules: Sequence[Rule] = (),
    actor: Actor | None = None,
) -> Backfill:
    """Enqueue each occurrence of [start, end] once, as a held job (schedules.decisions.job_row:
    the key of a scheduled occurrence, so one that ran is not run again), in one statement;
    record one `backfilled` event. A dry run writes nothing. `schedule` comes with its script
    and agent (select_related). Neither nextRunAt nor the run budget change.

    Raises ValidationError keyed by the API field (from, to, runAt) for a range that cannot be
    backfilled, BackfillRefused when billing blocks (not on a dry run: it reports it).

    Exactly once across concurrent calls: INSERT … ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id — a key another call inserted first (committed or not: PostgreSQL waits for
    it) is skipped, and answered as already present.
    """
    errors = range_errors(
        start=start,
        end=end,
        now=now,
        retention=timedelta(days=settings.JOB_RETENTION_DAYS),
        one_time=schedule.run_at is not None,
    )
    if errors:
        raise ValidationError(errors)
    ctx = gate_context(schedules=[schedule], now=now)
    # The tick's planned skips apply (calendars, the agent's maintenance windows): an occurrence
    # the tick would have skipped is answered in skippedRuns, not enqueued.
    rules = [*rules, planned_skips_rule(planned_skips(schedule, ctx))]
    occurrences = range_occurrences(schedule.cron_spec, schedule.timezone, start, end, rules=rules)
    if occurrences.too_many:
        raise ValidationError(too_many_error())
    candidate = Candidate.of(schedule, force=True)
    blocked_by = [skip for gate in _BACKFILL_GATES if (skip := gate(candidate, ctx))]
    billing = next((b for b in blocked_by if b.reason == SkipReason.BILLING_BLOCKED), None)
    if billing is not None and not dry_run:
        raise BackfillRefused(billing)
    rows = [
        job_row(
            schedule,
            code=ctx.code[schedule.script_id],
            now=now,
            scheduled_for=at,
            trigger=Trigger.BACKFILL,
        )
        for at in occurrences.runs
    ]
    if dry_run:
        keys = [row["idempotency_key"] for row in rows]
        present = set(
            Job.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True)
        )
        new = [row for row in rows if row["idempotency_key"] not in present]
    else:
        with transaction.atomic():
            # Locked like the tick locks it, so a delete cannot collect the schedule's jobs
            # before these are written (they reference it without a database constraint).
            if not Schedule.objects.filter(pk=schedule.pk).select_for_update().exists():
                raise ValidationError({"schedule": ["The schedule was deleted meanwhile."]})
            inserted = bulk_insert(Job, rows, skip_conflicts_on="idempotency_key")
            new = [row for row in rows if row["id"] in inserted]
            detail = (
                f"from {iso_z(start)} to {iso_z(end)}: {len(new)} occurrence(s) enqueued, "
                f"{len(rows) - len(new)} already present"
            )
            ScheduleEvent.objects.create(
                **event_row(
                    schedule, now, EventKind.BACKFILLED, detail=detail, trigger=Trigger.BACKFILL
                )
            )
            _audit_schedule(schedule, actor, AuditAction.BACKFILLED, now, note=detail)
    enqueued = {row["id"] for row in new}
    return Backfill(
        dry_run=dry_run,
        start=start,
        end=end,
        enqueued=[row["scheduled_for"] for row in new],
        already_present=[row["scheduled_for"] for row in rows if row["id"] not in enqueued],
        skipped=occurrences.skipped,
        blocked_by=blocked_by,
    )
