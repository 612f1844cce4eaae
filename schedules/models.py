"""Schedules and the history of every decision taken about them."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

from agents.models import JobStatus
from config.fields import JSONField
from schedules import calendars, cron
from schedules.jitter import JITTER_MAX_SECONDS, jitter_offset

# Guardrail ranges (SPEC §3), in one place: field validators, CheckConstraints, the API and the
# admin all read them from here.
GUARDRAILS: dict[str, tuple[int, int, int]] = {
    # field: (default, min, max)
    "max_runtime_minutes": (720, 1, 1320),
    "max_retries": (0, 0, 10),
    "retry_delay_seconds": (60, 0, 86400),
    "concurrency_limit": (1, 1, 100),
    "idempotency_window_minutes": (0, 0, 10080),
    "catch_up_window_minutes": (60, 0, 10080),
    # SPEC §14: pause after this many failed runs in a row (0 = off).
    "auto_pause_after_failures": (0, 0, 100),
}

# When a schedule runs (SPEC §14 "When it runs"), in the order the API, the admin form and its
# "When" fieldset list them: one list, so a new timing field appears in all three.
WHEN_FIELDS: tuple[str, ...] = (
    "cron_expression",
    "run_at",
    "timezone",
    "starts_at",
    "ends_at",
    "remaining_runs",
    "jitter_seconds",
    "start_deadline_minutes",
    "overlap_policy",
    "calendars",
    "enabled",
)


# startDeadlineMinutes (SPEC §14): one minute to one week, like the other windows.
START_DEADLINE_MIN, START_DEADLINE_MAX = 1, 10080


def validate_cron_expression(value: str) -> None:
    try:
        cron.parse(value)
    except cron.CronError as exc:
        raise ValidationError(str(exc), code="invalid_cron") from None


def validate_timezone_name(value: str) -> None:
    try:
        cron.validate_timezone(value)
    except cron.CronError as exc:
        raise ValidationError(str(exc), code="invalid_timezone") from None


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


VARIABLES_NUL_MESSAGE = "Variables must not contain the NUL character (\\u0000)."


def validate_variables(value) -> None:
    if not isinstance(value, dict):
        raise ValidationError('Variables must be a JSON object, e.g. {"region": "us-east"}.')
    # PostgreSQL's jsonb cannot store it: refused here rather than failing the write.
    if _has_nul(value):
        raise ValidationError(VARIABLES_NUL_MESSAGE)


def validate_vault_keys(value) -> None:
    from vault.models import key_name_validator

    if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
        raise ValidationError('Vault keys must be a list of key names, e.g. ["SAP_PASSWORD"].')
    for key in value:
        key_name_validator(key)
    if len(set(value)) != len(value):
        raise ValidationError("Vault keys must not repeat.")


def _guardrail_field(name: str, verbose: str) -> models.PositiveIntegerField:
    default, low, high = GUARDRAILS[name]
    return models.PositiveIntegerField(
        verbose,
        default=default,
        validators=[MinValueValidator(low), MaxValueValidator(high)],
        help_text=f"{low}..{high}, default {default}.",
    )


class OverlapPolicy(models.TextChoices):
    """What an occurrence does when the concurrency limit blocks it (SPEC §14, `overlapPolicy`).

    skip: it is skipped (concurrency_limit) — the default, the behaviour before the policy.
    queue_one: it waits as a `held` job and runs when a slot frees; a newer blocked occurrence
    supersedes it, so at most one waits (Temporal's BufferOne, Kubernetes has no equivalent).
    replace: like queue_one, and the schedule's active jobs are canceled (a running one's process
    tree killed by its runner); the held job starts only once they have ended (K8s Replace).
    """

    SKIP = "skip"
    QUEUE_ONE = "queue_one"
    REPLACE = "replace"


class StopReason(models.TextChoices):
    """Why an enabled schedule has no next run (SPEC §14 "When it runs")."""

    ENDED = "ended", "ended (past endsAt)"
    RUN_BUDGET_SPENT = "run_budget_spent", "run budget spent"
    RAN_ONCE = "ran_once", "one-time run dispatched"
    # Its one occurrence came due and was skipped (missed, or a gate): the event says why.
    ONCE_SKIPPED = "once_skipped", "one-time run skipped"


@dataclass(frozen=True)
class Bounds:
    """When a schedule may run besides its cadence: the one-time instant, the start and end
    instants, the scheduled runs left (None = unlimited). Pure data for schedules.due."""

    run_at: datetime | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    remaining_runs: int | None = None


def timing_errors(
    *,
    cron_expression: str,
    run_at: datetime | None,
    starts_at: datetime | None,
    ends_at: datetime | None,
    remaining_runs: int | None,
) -> dict[str, str]:
    """The rules tying the timing fields together, keyed by the field to blame (the model's
    clean, hence the API and the admin form). "runAt in the past" needs `now`: the services
    check it (run_at_in_past_error)."""
    errors = {}
    if cron_expression and run_at is not None:
        errors["run_at"] = (
            "Give either a cron expression or a one-time run at, not both "
            "(clear the cron expression to make this a one-time run)."
        )
    elif not cron_expression and run_at is None:
        errors["cron_expression"] = (
            "Give a cron expression, or a one-time run at instead (e.g. 30 2 * * *)."
        )
    if run_at is not None:
        for name, value in (
            ("starts_at", starts_at),
            ("ends_at", ends_at),
            ("remaining_runs", remaining_runs),
        ):
            if value is not None:
                errors[name] = "A one-time run (run at) has no start, end or run budget."
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        errors["ends_at"] = "Must be after starts at."
    return errors


def run_at_in_past_error(run_at: datetime | None, now: datetime) -> str | None:
    """A new (or moved) one-time run must be in the future: one in the past would only ever be
    skipped `missed`, or fire at once where "Run now" is the way to say that."""
    if run_at is not None and run_at < now:
        return "Must be in the future (for a run right now, use Run now)."
    return None


def validate_calendar_dates(value) -> None:
    error = calendars.dates_error(value)
    if error:
        raise ValidationError(error, code="invalid_dates")


class Calendar(models.Model):
    """An organization's named list of excluded dates (holidays, month-end freezes): a schedule
    that names it skips its occurrences on them (`calendar_excluded`), read in the schedule's
    timezone (schedules.calendars)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "billing.Organization", on_delete=models.CASCADE, related_name="calendars"
    )
    name = models.CharField(max_length=200)
    dates = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_calendar_dates],
        help_text='Days "YYYY-MM-DD" and inclusive ranges {"from": "YYYY-MM-DD", "to": '
        f'"YYYY-MM-DD"}}, at most {calendars.MAX_ENTRIES}.',
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="calendar_unique_org_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


# `last_run_status` is the status of the schedule's latest job (SPEC §3: it follows its jobs).
RunStatus = JobStatus


@cache
def _attnames(model: type[models.Model]) -> tuple[str, ...]:
    """The model's columns in the order the ORM reads them (Model.from_db's `values`)."""
    return tuple(f.attname for f in model._meta.concrete_fields)


class ScheduleQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        # bulk_create skips save(): give each new row the fire instant save() would have.
        objs = list(objs)
        for obj in objs:
            if obj.fire_at is None:
                obj.fire_at = obj.fire_at_for(obj.next_run_at)
        return super().bulk_create(objs, *args, **kwargs)


class Schedule(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by schedule_org_name (organization first): no index of its own to rewrite when
    # the tick moves a row's next run.
    organization = models.ForeignKey(
        "billing.Organization", on_delete=models.CASCADE, related_name="schedules", db_index=False
    )
    name = models.CharField(max_length=200)
    script = models.ForeignKey("agents.Script", on_delete=models.PROTECT, related_name="schedules")
    agent = models.ForeignKey("agents.Agent", on_delete=models.PROTECT, related_name="schedules")
    # Exactly one of a cron expression (a recurring schedule) and run_at (a one-time run,
    # EventBridge `at()`): schedule_cron_xor_run_at below.
    cron_expression = models.CharField(
        max_length=200, blank=True, default="", validators=[validate_cron_expression]
    )
    run_at = models.DateTimeField("run at (one-time)", null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone_name])
    enabled = models.BooleanField(default=True)
    # Bounds of a recurring schedule (SPEC §14 "When it runs"), instants, so DST cannot move them:
    # its first run is the first occurrence at or after starts_at; none at or after ends_at.
    starts_at = models.DateTimeField("starts at", null=True, blank=True)
    ends_at = models.DateTimeField("ends at", null=True, blank=True)
    # Scheduled runs left: null = unlimited. Each scheduled dispatch takes one (forced runs take
    # none); the dispatch that takes the last one stores 0 and stops the schedule. 0 is only ever
    # stored by the tick, on a stopped row (schedule_spent_budget_is_stopped); the API and the
    # admin ask for >= 1.
    remaining_runs = models.PositiveIntegerField(
        "remaining runs", null=True, blank=True, validators=[MinValueValidator(0)]
    )
    # Each occurrence fires a deterministic 0..jitter_seconds later (schedules.jitter), never
    # past the next one; scheduled_for stays the occurrence.
    jitter_seconds = models.PositiveIntegerField(
        "jitter (seconds)",
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(JITTER_MAX_SECONDS)],
        help_text=f"0..{JITTER_MAX_SECONDS}, default 0.",
    )

    # SPEC §14 start deadline (Kubernetes' startingDeadlineSeconds), counted from the nominal
    # scheduled time: an occurrence the tick would dispatch later than that is skipped
    # (start_deadline_exceeded), and its job snapshots the instant (Job.start_deadline_at) so
    # the watchdog cancels it, and the claim refuses it, if it is still waiting then. Null: none.
    start_deadline_minutes = models.PositiveIntegerField(
        "start deadline (minutes)",
        null=True,
        blank=True,
        validators=[MinValueValidator(START_DEADLINE_MIN), MaxValueValidator(START_DEADLINE_MAX)],
        help_text=f"{START_DEADLINE_MIN}..{START_DEADLINE_MAX}, empty = no deadline.",
    )

    overlap_policy = models.CharField(
        "overlap policy",
        max_length=20,
        choices=OverlapPolicy.choices,
        default=OverlapPolicy.SKIP,
    )

    # SPEC §14 calendars of excluded dates, of the schedule's organization (the services check
    # it: a many-to-many cannot be checked in clean()).
    calendars = models.ManyToManyField(Calendar, blank=True, related_name="schedules")

    max_runtime_minutes = _guardrail_field("max_runtime_minutes", "max runtime (minutes)")
    max_retries = _guardrail_field("max_retries", "max retries")
    retry_delay_seconds = _guardrail_field("retry_delay_seconds", "retry delay (seconds)")
    concurrency_limit = _guardrail_field("concurrency_limit", "concurrency limit")
    idempotency_window_minutes = _guardrail_field(
        "idempotency_window_minutes", "idempotency window (minutes)"
    )
    catch_up_window_minutes = _guardrail_field(
        "catch_up_window_minutes", "catch-up window (minutes)"
    )
    auto_pause_after_failures = _guardrail_field(
        "auto_pause_after_failures", "auto-pause after N failed runs in a row"
    )
    # Occurrences skipped in a row for a reason that is not planned (schedules.alert_rules): the
    # tick keeps it on the locked row; an alert channel's runs_skipped fires as it reaches N.
    consecutive_skips = models.PositiveIntegerField(default=0, editable=False)

    variables = JSONField(default=dict, blank=True, validators=[validate_variables])
    vault_keys = JSONField(default=list, blank=True, validators=[validate_vault_keys])

    last_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_run_status = models.CharField(
        max_length=20, choices=RunStatus.choices, blank=True, editable=False
    )
    next_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When the tick may run next_run_at's occurrence: next_run_at plus its jitter offset (equal
    # without jitter), null with it. The tick selects on it (schedule_due_idx); everything else
    # (scheduled_for, catch-up, the API's nextRunAt) reads next_run_at. Kept in step by save()
    # and by the engine's bulk update: a queryset .update() of next_run_at must set it too.
    fire_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Why next_run_at is null on an enabled schedule (blank: it is not stopped; a paused one says
    # so itself). Cleared when an edit or a resume re-arms the schedule.
    stopped_reason = models.CharField(
        max_length=20, choices=StopReason.choices, blank=True, default="", editable=False
    )
    paused_note = models.CharField(max_length=500, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScheduleQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [
            # Used by schedules.selectors.schedule_due_claim (the tick's "select due"): only enabled
            # rows are indexed, ordered by due time, so a tick reads the due head of the index and
            # its cost follows the number due, not the number of schedules.
            # With the id, the index matches the keyset cursor (fire_at, id): a page after a
            # cursor is an index range scan even when thousands share one due minute.
            # fire_at, not next_run_at: a jittered occurrence is not due before its offset.
            models.Index(
                fields=["fire_at", "id"], name="schedule_due_idx", condition=Q(enabled=True)
            ),
            models.Index(fields=["organization", "name"], name="schedule_org_name"),
        ]
        constraints = [
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{f}__gte": lo, f"{f}__lte": hi}), name=f"schedule_{f}_range"
                )
                for f, (_, lo, hi) in GUARDRAILS.items()
            ),
            models.CheckConstraint(
                condition=(Q(cron_expression="") & Q(run_at__isnull=False))
                | (~Q(cron_expression="") & Q(run_at__isnull=True)),
                name="schedule_cron_xor_run_at",
            ),
            models.CheckConstraint(
                # A one-time run has one instant and one run: bounds and budget are for cron.
                condition=Q(run_at__isnull=True)
                | Q(starts_at__isnull=True, ends_at__isnull=True, remaining_runs__isnull=True),
                name="schedule_run_at_unbounded",
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True)
                | Q(ends_at__isnull=True)
                | Q(ends_at__gt=F("starts_at")),
                name="schedule_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(remaining_runs__isnull=True)
                | Q(remaining_runs__gt=0)
                # Stopped, with a reason: `run_budget_spent`, or `ended` when the run that
                # spent the budget was also the last before ends_at.
                | (Q(next_run_at__isnull=True) & ~Q(stopped_reason="")),
                name="schedule_spent_budget_is_stopped",
            ),
            models.CheckConstraint(
                condition=Q(stopped_reason="") | Q(next_run_at__isnull=True),
                name="schedule_stopped_has_no_next_run",
            ),
            models.CheckConstraint(
                condition=Q(jitter_seconds__gte=0, jitter_seconds__lte=JITTER_MAX_SECONDS),
                name="schedule_jitter_seconds_range",
            ),
            models.CheckConstraint(
                condition=Q(start_deadline_minutes__isnull=True)
                | Q(
                    start_deadline_minutes__gte=START_DEADLINE_MIN,
                    start_deadline_minutes__lte=START_DEADLINE_MAX,
                ),
                name="schedule_start_deadline_minutes_range",
            ),
            models.CheckConstraint(
                condition=Q(overlap_policy__in=OverlapPolicy.values),
                name="schedule_overlap_policy_valid",
            ),
            models.CheckConstraint(
                # A next run has a fire instant: without one the tick would never select it.
                condition=Q(next_run_at__isnull=True) | Q(fire_at__isnull=False),
                name="schedule_next_run_has_fire_at",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        # fire_at follows next_run_at (and the jitter), whoever saves: the services, the admin,
        # a factory. The tick's bulk update sets it itself (schedules.engine._apply).
        update_fields = kwargs.get("update_fields")
        if update_fields is None or {"next_run_at", "jitter_seconds"} & set(update_fields):
            self.fire_at = self.fire_at_for(self.next_run_at)
            if update_fields is not None:
                kwargs["update_fields"] = sorted({*update_fields, "fire_at"})
        super().save(*args, **kwargs)

    @classmethod
    def from_db(cls, db, field_names, values):
        """A row read whole is set straight into the new instance. Django's __init__ sets each
        column through its descriptor and sends pre_init/post_init: for the thousand rows of a
        tick's batch that is a Python cost of its own. Anything else — fields left out
        (.only()), a pre_init or post_init receiver — goes Django's way."""
        attnames = _attnames(cls)
        if len(values) != len(attnames) or (
            # No receiver at all (the usual case) is one look at two lists; has_listeners
            # (which asks each receiver about this sender) only when there are some.
            (pre_init.receivers or post_init.receivers)
            and (pre_init.has_listeners(cls) or post_init.has_listeners(cls))
        ):
            return super().from_db(db, field_names, values)
        new = cls.__new__(cls)
        new._state = ModelState()
        new._state.adding, new._state.db = False, db
        new.__dict__.update(zip(attnames, values, strict=True))
        return new

    @property
    def is_one_time(self) -> bool:
        return self.run_at is not None

    @property
    def cron_spec(self) -> cron.CronSpec:
        return cron.parse(self.cron_expression)

    @property
    def bounds(self) -> Bounds:
        return Bounds(
            run_at=self.run_at,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            remaining_runs=self.remaining_runs,
        )

    def fire_at_for(self, occurrence: datetime | None) -> datetime | None:
        """When the tick may run `occurrence`: it plus this schedule's jitter offset, capped
        before the following occurrence (schedules.jitter). No cron arithmetic without jitter."""
        if occurrence is None or not self.jitter_seconds:
            return occurrence
        following = None
        if self.run_at is None:
            following = cron.next_after(self.cron_spec, self.timezone, occurrence)
        return occurrence + jitter_offset(self.id, occurrence, self.jitter_seconds, following)

    def start_deadline_for(self, scheduled_for: datetime) -> datetime | None:
        """The instant by which the run of `scheduled_for` must have started; None: no deadline."""
        if self.start_deadline_minutes is None:
            return None
        return scheduled_for + timedelta(minutes=self.start_deadline_minutes)

    def clean(self) -> None:
        super().clean()
        errors = timing_errors(
            cron_expression=self.cron_expression,
            run_at=self.run_at,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            remaining_runs=self.remaining_runs,
        )
        deadline = self.start_deadline_minutes
        if deadline is not None and self.jitter_seconds and deadline * 60 <= self.jitter_seconds:
            # Counted from the nominal time: a run jittered past it would always be skipped.
            errors["start_deadline_minutes"] = (
                f"Must be longer than the jitter ({self.jitter_seconds} s): the deadline counts "
                "from the scheduled time, and each run may start up to the jitter after it."
            )
        # Script and agent must belong to the schedule's organization.
        org_id = self.organization_id
        if org_id and self.script_id and self.script.organization_id != org_id:
            errors["script"] = "This script belongs to another organization."
        if org_id and self.agent_id and self.agent.organization_id != org_id:
            errors["agent"] = "This agent belongs to another organization."
        if errors:
            raise ValidationError(errors)


class EventKind(models.TextChoices):
    TRIGGERED = "triggered"
    SKIPPED = "skipped"
    ERROR = "error"
    PAUSED = "paused"
    RESUMED = "resumed"
    # SPEC §14: a range of past occurrences enqueued on request (one event per backfill, its
    # range and counts in the detail; the jobs carry trigger `backfill`).
    BACKFILLED = "backfilled"


class SkipReason(models.TextChoices):
    NOT_DUE = "not_due"
    DISABLED = "disabled"
    MISSED = "missed"
    BILLING_BLOCKED = "billing_blocked"
    CONCURRENCY_LIMIT = "concurrency_limit"
    IDEMPOTENCY_WINDOW = "idempotency_window"
    VAULT_KEYS_MISSING = "vault_keys_missing"
    AGENT_UNAVAILABLE = "agent_unavailable"
    LOCK_CONTENTION = "lock_contention"
    # SPEC §14 "When it runs": the occurrence at which a schedule stops (nothing runs after it).
    ENDED = "ended"
    RUN_BUDGET_SPENT = "run_budget_spent"
    # SPEC §14 planned skips: the occurrence's local date is on one of the schedule's calendars;
    # its agent is in a maintenance window then.
    CALENDAR_EXCLUDED = calendars.CALENDAR_EXCLUDED
    AGENT_MAINTENANCE = calendars.AGENT_MAINTENANCE
    # SPEC §14: the tick would dispatch the occurrence later than its start deadline (a
    # catch-up); a job still waiting at its deadline is canceled with the same reason.
    START_DEADLINE_EXCEEDED = "start_deadline_exceeded"


class ErrorCode(models.TextChoices):
    EXECUTOR_LOCKED = "executor_locked"
    DISPATCH_FAILED = "dispatch_failed"
    AGENT_START_FAILED = "agent_start_failed"
    VAULT_UNREADABLE = "vault_unreadable"
    INTERNAL_ERROR = "internal_error"


class ScheduleEvent(models.Model):
    """Every decision about a schedule, so "why didn't it run?" always has an answer."""

    id = models.BigAutoField(primary_key=True)
    # Foreign keys without a database constraint, as on agents.Job (its comment says why): the
    # tick writes events from the schedule it holds locked; deletions go through Django's
    # collector.
    organization = models.ForeignKey(
        "billing.Organization",
        on_delete=models.CASCADE,
        related_name="schedule_events",
        db_constraint=False,
    )
    # Indexed by event_schedule_recent (schedule first).
    schedule = models.ForeignKey(
        Schedule,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,
        db_constraint=False,
    )
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    # A SkipReason or ErrorCode value (or blank for triggered/paused/resumed).
    reason = models.CharField(max_length=40, blank=True)
    detail = models.TextField(blank=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    job = models.ForeignKey(
        "agents.Job",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
        db_constraint=False,
    )
    trigger = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["schedule", "-created_at"], name="event_schedule_recent"),
            # History purge (schedules.services.schedule_events_purge): oldest events first.
            models.Index(fields=["created_at"], name="event_created_at"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.reason or '-'} @ {self.created_at:%Y-%m-%d %H:%M}Z"


class TickHeartbeat(models.Model):
    """Health of the full tick (SPEC §12): when it last succeeded, and how many times in a row
    it could not take the executor lock (alert on repeated executor lock errors)."""

    name = models.CharField(max_length=50, primary_key=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    consecutive_lock_errors = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.name


class ExecutorLease(models.Model):
    """A named lease with an expiry: keeps two full ticks from overlapping, and a holder that
    crashed cannot wedge it — once `expires_at` passes, the next tick takes it over."""

    name = models.CharField(max_length=50, primary_key=True)
    holder = models.CharField(max_length=100)
    acquired_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder} until {self.expires_at:%H:%M:%S}Z"


# The alert models belong to this app (schedules.alert_models); Django finds them here.
from schedules.alert_models import AlertChannel, AlertDelivery  # noqa: E402, F401
