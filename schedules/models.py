"""Schedules and the history of every decision taken about them."""

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from agents.models import JobStatus
from schedules import cron

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


def validate_variables(value) -> None:
    if not isinstance(value, dict):
        raise ValidationError('Variables must be a JSON object, e.g. {"region": "us-east"}.')


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


# `last_run_status` is the status of the schedule's latest job (SPEC §3: it follows its jobs).
RunStatus = JobStatus


class Schedule(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "billing.Organization", on_delete=models.CASCADE, related_name="schedules"
    )
    name = models.CharField(max_length=200)
    script = models.ForeignKey("agents.Script", on_delete=models.PROTECT, related_name="schedules")
    agent = models.ForeignKey("agents.Agent", on_delete=models.PROTECT, related_name="schedules")
    cron_expression = models.CharField(max_length=200, validators=[validate_cron_expression])
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone_name])
    enabled = models.BooleanField(default=True)

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

    variables = models.JSONField(default=dict, blank=True, validators=[validate_variables])
    vault_keys = models.JSONField(default=list, blank=True, validators=[validate_vault_keys])

    last_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_run_status = models.CharField(
        max_length=20, choices=RunStatus.choices, blank=True, editable=False
    )
    next_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    paused_note = models.CharField(max_length=500, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            # Used by schedules.selectors.schedule_due_page (the tick's "select due"): only enabled
            # rows are indexed, ordered by due time, so a tick reads the due head of the index and
            # its cost follows the number due, not the number of schedules.
            # With the id, the index matches the keyset cursor (next_run_at, id): a page after a
            # cursor is an index range scan even when thousands share one due minute.
            models.Index(
                fields=["next_run_at", "id"], name="schedule_due_idx", condition=Q(enabled=True)
            ),
            models.Index(fields=["organization", "name"], name="schedule_org_name"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(**{f"{f}__gte": lo, f"{f}__lte": hi}), name=f"schedule_{f}_range"
            )
            for f, (_, lo, hi) in GUARDRAILS.items()
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def cron_spec(self) -> cron.CronSpec:
        return cron.parse(self.cron_expression)

    def next_occurrence_after(self, instant):
        return cron.next_after(self.cron_expression, self.timezone, instant)

    def clean(self) -> None:
        super().clean()
        # Script and agent must belong to the schedule's organization.
        errors = {}
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


class ErrorCode(models.TextChoices):
    EXECUTOR_LOCKED = "executor_locked"
    DISPATCH_FAILED = "dispatch_failed"
    AGENT_START_FAILED = "agent_start_failed"
    VAULT_UNREADABLE = "vault_unreadable"
    INTERNAL_ERROR = "internal_error"


class ScheduleEvent(models.Model):
    """Every decision about a schedule, so "why didn't it run?" always has an answer."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(
        "billing.Organization", on_delete=models.CASCADE, related_name="schedule_events"
    )
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    # A SkipReason or ErrorCode value (or blank for triggered/paused/resumed).
    reason = models.CharField(max_length=40, blank=True)
    detail = models.TextField(blank=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    job = models.ForeignKey(
        "agents.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
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
