"""Agents (bot machines), the scripts they run, and Jobs: one dispatched execution each."""

from __future__ import annotations

import hashlib
import uuid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from agents.maintenance import windows_error
from config.clock import iso_z


class AgentStatus(models.TextChoices):
    ONLINE = "online"
    OFFLINE = "offline"
    STOPPED = "stopped"
    STARTING = "starting"
    DISABLED = "disabled"


class Controller(models.TextChoices):
    LOCAL = "local"  # spawns `python -m agents.runtime` on this host (dev, demo, tests)
    WEBHOOK = "webhook"  # HMAC-signed POST to a URL that boots a VM
    MANUAL = "manual"  # someone starts it by hand; never auto-started


class Runtime(models.TextChoices):
    PYTHON = "python"
    SHELL = "shell"


class Trigger(models.TextChoices):
    SCHEDULED = "scheduled"
    MANUAL = "manual"
    FORCED = "forced"
    BACKFILL = "backfill"  # SPEC §14: an occurrence of a past range, enqueued on request


class JobStatus(models.TextChoices):
    # SPEC §14 "When it runs": an occurrence waiting for a concurrency slot of its schedule
    # (overlap policy queue_one/replace, backfill). It holds no slot and has no message; the
    # tick releases held jobs oldest first, as slots free, into `pending`.
    HELD = "held"
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELED = "canceled"
    LOST = "lost"


# Jobs that hold a concurrency slot of their schedule.
ACTIVE_JOB_STATUSES = (JobStatus.PENDING, JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.RETRYING)
FINISHED_JOB_STATUSES = (
    JobStatus.SUCCEEDED,
    JobStatus.FAILED,
    JobStatus.TIMED_OUT,
    JobStatus.CANCELED,
    JobStatus.LOST,
)


class ErrorKind(models.TextChoices):
    EXIT_CODE = "exit_code"  # permanent failure: non-zero exit other than 75
    TRANSIENT = "transient"  # exit 75 (EX_TEMPFAIL)
    CREDENTIAL_REJECTED = "credential_rejected"  # exit 77 (EX_NOPERM)
    TIMED_OUT = "timed_out"
    CANCELED = "canceled"
    LOST = "lost"
    AGENT_UNAVAILABLE = "agent_unavailable"
    VAULT_KEY_MISSING = "vault_key_missing"
    VAULT_UNREADABLE = "vault_unreadable"
    SPAWN_FAILED = "spawn_failed"
    INTERNAL_ERROR = "internal_error"
    # SPEC §14: not started by scheduled_for + the schedule's start deadline (canceled, never run).
    START_DEADLINE_EXCEEDED = "start_deadline_exceeded"
    # A held occurrence (queue_one) replaced by a newer blocked one: only the newest waits.
    SUPERSEDED = "superseded"
    # A held occurrence the billing gate refused when its slot freed.
    BILLING_BLOCKED = "billing_blocked"


# One day: a longer lead would keep an agent up for runs so far ahead that starting it at the
# run is as good.
PREWARM_MAX_MINUTES = 1440


def hash_token(token: str) -> str:
    """Agent tokens are stored as SHA-256: high-entropy random strings need no slow KDF."""
    return hashlib.sha256(token.encode()).hexdigest()


def validate_timezone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"Unknown timezone {value!r}: use an IANA name such as Europe/Berlin.",
            code="invalid_timezone",
        ) from None


def validate_maintenance_windows(value) -> None:
    error = windows_error(value)
    if error:
        raise ValidationError(error, code="invalid_windows")


class Agent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "billing.Organization", on_delete=models.CASCADE, related_name="agents"
    )
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100)
    status = models.CharField(
        max_length=20, choices=AgentStatus.choices, default=AgentStatus.OFFLINE
    )
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    capacity = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(64)]
    )
    auto_start = models.BooleanField(default=True)
    # SPEC §14 pre-warm: start this agent (offline or stopped, auto-start on) this many minutes
    # before the next fire instant of one of its enabled schedules, so the run does not wait
    # for its boot. 0 = off. The tick does it (schedules.prewarm): this app never reads schedules.
    prewarm_minutes = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(PREWARM_MAX_MINUTES)]
    )
    controller = models.CharField(
        max_length=20, choices=Controller.choices, default=Controller.MANUAL
    )
    # webhook: {"url": "...", "secret": "..."}; local: {} ; manual: {}
    controller_config = models.JSONField(default=dict, blank=True)
    token_hash = models.CharField(max_length=64, blank=True, editable=False)
    start_requested_at = models.DateTimeField(null=True, blank=True)
    # Set by a stop request; the runtime's next heartbeat is answered `stop` and it shuts down
    # gracefully, then reports `stopped`, which clears it. No pid is ever signalled.
    stop_requested_at = models.DateTimeField(null=True, blank=True)
    # What the runtime last said its host is called (display only; nothing trusts it).
    hostname = models.CharField(max_length=200, blank=True, editable=False)
    # SPEC §14 maintenance windows (agents.maintenance): weekly windows and one-off ranges, read
    # as wall time in the agent's own timezone; a scheduled run in one is skipped
    # (agent_maintenance).
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    maintenance_windows = models.JSONField(
        "maintenance windows",
        default=list,
        blank=True,
        validators=[validate_maintenance_windows],
        help_text='Weekly, e.g. {"days": ["sat", "sun"], "start": "22:00", "end": "02:00"} (an '
        'end before the start crosses midnight), or one-off, e.g. {"from": "2026-12-24T18:00", '
        '"to": "2026-12-27T06:00"}; in the agent\'s timezone.',
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="agent_unique_org_slug"),
            models.CheckConstraint(
                condition=Q(capacity__gte=1, capacity__lte=64), name="agent_capacity_range"
            ),
            models.CheckConstraint(
                condition=Q(prewarm_minutes__gte=0, prewarm_minutes__lte=PREWARM_MAX_MINUTES),
                name="agent_prewarm_minutes_range",
            ),
            models.CheckConstraint(condition=~Q(timezone=""), name="agent_timezone_not_blank"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def queue_name(self) -> str:
        """Each agent consumes only its own queue, so a job can only run where it was sent."""
        return f"agent.{self.id}"


class Script(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "billing.Organization", on_delete=models.CASCADE, related_name="scripts"
    )
    name = models.CharField(max_length=200)
    runtime = models.CharField(max_length=20, choices=Runtime.choices, default=Runtime.PYTHON)
    source = models.TextField()
    # Bumped on every edit of the source or runtime; jobs record the version they ran.
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def save(self, *args, **kwargs) -> None:
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:  # its first version (an edit's new version: agents.services.script_update)
            ScriptVersion.record(self)


class ScriptVersion(models.Model):
    """One version of a script's code, written once — when the script is created or its source
    or runtime edited — and referenced by every job that runs it: a minute that dispatches
    10,000 jobs of a script writes no copy of its source (SPEC §15), and a job still shows
    exactly what ran after the script is edited or deleted (the version outlives its script)."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(
        "billing.Organization", on_delete=models.CASCADE, related_name="+"
    )
    script = models.ForeignKey(
        Script, null=True, blank=True, on_delete=models.SET_NULL, related_name="versions"
    )
    version = models.PositiveIntegerField()
    runtime = models.CharField(max_length=20, choices=Runtime.choices)
    source = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["script", "version"], name="script_version_unique")
        ]

    def __str__(self) -> str:
        return f"version {self.version} ({self.runtime})"

    @classmethod
    def record(cls, script: Script) -> ScriptVersion:
        """The row of the script's current version, written if it is not there yet."""
        code, _ = cls.objects.get_or_create(
            script=script,
            version=script.version,
            defaults={
                "organization_id": script.organization_id,
                "runtime": script.runtime,
                "source": script.source,
            },
        )
        return code


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Every index is written by each job the tick inserts: the foreign keys to the organization
    # and the schedule are served by job_org_created and job_schedule_recent (their first
    # column), so they get no index of their own.
    #
    # No database constraint on the foreign keys (db_constraint=False; GitLab's "loose foreign
    # keys" for its high-volume tables): the tick writes a job from the schedule row it holds
    # locked, so everything the job references exists when it is written — the schedule, and
    # through the schedule's own constraints its organization, script and agent, and the
    # script's current version. PostgreSQL would check each reference again at COMMIT, with a
    # row lock on the referenced row: five lookups per job, the largest database cost of a busy
    # tick. Deletions keep the references whole as before (Django's collector cascades or
    # nulls them, on_delete below), and schedules_delete locks its schedules before collecting,
    # so a tick in flight commits its jobs first and they are collected with the rest.
    organization = models.ForeignKey(
        "billing.Organization",
        on_delete=models.CASCADE,
        related_name="jobs",
        db_index=False,
        db_constraint=False,
    )
    schedule = models.ForeignKey(
        "schedules.Schedule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
        db_index=False,
        db_constraint=False,
    )
    script = models.ForeignKey(
        Script,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
        db_constraint=False,
    )
    # What actually ran: a later edit of the script never changes a job. The code is stored
    # once per version (ScriptVersion) and referenced; the version number is kept here too, for
    # lists that show it without a join. RESTRICT: a version goes only with its jobs (its
    # organization's deletion takes both).
    code = models.ForeignKey(
        ScriptVersion, on_delete=models.RESTRICT, related_name="jobs", db_constraint=False
    )
    script_version = models.PositiveIntegerField()
    agent = models.ForeignKey(
        Agent,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
        db_constraint=False,
    )
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    scheduled_for = models.DateTimeField()
    # The last line of exactly-once: "<schedule>:<scheduled_for>" for scheduled occurrences,
    # unique across all jobs, so no occurrence can ever be dispatched twice.
    # Unique (constraint job_unique_idempotency_key: a unique field would also get a LIKE index).
    idempotency_key = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.PENDING)
    attempt = models.PositiveSmallIntegerField(default=1)
    max_attempts = models.PositiveSmallIntegerField(default=1)
    retry_at = models.DateTimeField(null=True, blank=True)
    # Snapshots at dispatch: variables and the *names* of vault keys, never values.
    variables = models.JSONField(default=dict, blank=True)
    vault_keys = models.JSONField(default=list, blank=True)
    max_runtime_minutes = models.PositiveIntegerField(default=720)
    retry_delay_seconds = models.PositiveIntegerField(default=60)
    # Set by the dispatcher to the tick's `now` (time is passed in, not read deep inside).
    created_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)
    # SPEC §14 start deadline: the instant by which the first attempt must have started
    # (scheduled_for + the schedule's startDeadlineMinutes, snapshotted at dispatch so this app
    # never reads schedules); null = no deadline (forced and manual runs, or none set). A job
    # still waiting past it is canceled by the watchdog or refused by the claim
    # (start_deadline_passed). A retry is not subject to it: its first attempt started in time.
    start_deadline_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    error_kind = models.CharField(max_length=30, choices=ErrorKind.choices, blank=True)
    error_message = models.TextField(blank=True)
    log = models.TextField(blank=True)  # bounded, secrets redacted
    # The running attempt's output that might still be the start of a secret (vault-encrypted;
    # see JobLogChunk): held back from the log until the next piece, or the attempt's end.
    log_held = models.TextField(blank=True, editable=False)
    celery_task_id = models.CharField(max_length=100, blank=True)
    worker_hostname = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The tick's concurrency gate counts active jobs per schedule in one grouped query;
            # the watchdog scans the same small set. Partial: finished jobs are the vast majority.
            models.Index(
                fields=["schedule", "status"],
                name="job_active_by_schedule",
                condition=Q(status__in=["pending", "queued", "running", "retrying"]),
            ),
            # Idempotency-window gate and "latest job of a schedule".
            models.Index(fields=["schedule", "-created_at"], name="job_schedule_recent"),
            # Held occurrences (SPEC §14): the tick releases each schedule's oldest first.
            models.Index(
                fields=["schedule", "scheduled_for"],
                name="job_held_by_schedule",
                condition=Q(status="held"),
            ),
            # The jobs API's list: one organization's jobs, newest first (billing.tenancy's
            # scope + agents.selectors.job_list's order, created_at then id, read backwards:
            # a page is an index range, no sort of the organization's history). The billing
            # quota counts runs in billing.MonthlyUsage, not here.
            models.Index(fields=["organization", "created_at", "id"], name="job_org_created"),
            # The republisher's owed messages: pending and retrying jobs only.
            models.Index(
                fields=["status", "retry_at"],
                name="job_status_retry_at",
                condition=Q(status__in=["pending", "retrying"]),
            ),
            # The watchdog's start-deadline pass (agents.services.jobs_cancel_past_start_deadline):
            # only never-started waiting jobs that have a deadline, a small set.
            models.Index(
                fields=["start_deadline_at"],
                name="job_waiting_start_deadline",
                condition=Q(
                    status__in=["held", "pending", "queued"],
                    started_at__isnull=True,
                    start_deadline_at__isnull=False,
                ),
            ),
            # History purge (agents.services.jobs_purge_finished): finished jobs by the time
            # they ended (created_at for those that never recorded it), oldest first.
            models.Index(
                Coalesce("finished_at", "created_at"),
                name="job_finished_purge",
                condition=Q(status__in=["succeeded", "failed", "timed_out", "canceled", "lost"]),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="job_unique_idempotency_key"),
            models.CheckConstraint(
                condition=Q(attempt__gte=1) & Q(max_attempts__gte=1), name="job_attempts_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Job {self.id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_JOB_STATUSES


# Statuses in which a job waits for its first claim; a `retrying` job has started already.
NOT_STARTED_JOB_STATUSES = (JobStatus.HELD, JobStatus.PENDING, JobStatus.QUEUED)


def start_deadline_passed(now) -> Q:
    """Jobs that could not start by their start deadline (SPEC §14): still waiting for their
    first claim, `now` past start_deadline_at. A job that started in time and is waiting for a
    retry is not one of them (like Kubernetes' startingDeadlineSeconds, the deadline is about
    the scheduled start only). At the deadline instant itself a claim is still in time."""
    return Q(
        status__in=NOT_STARTED_JOB_STATUSES,
        started_at__isnull=True,
        start_deadline_at__lt=now,
    )


START_DEADLINE_MESSAGE = (
    "Not started by its start deadline (scheduled time + the schedule's start deadline); "
    "canceled, never run."
)


class JobAttempt(models.Model):
    """One try of a job. Retries append; nothing is overwritten."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=20, choices=JobStatus.choices)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    error_kind = models.CharField(max_length=30, choices=ErrorKind.choices, blank=True)
    error_message = models.TextField(blank=True)
    log = models.TextField(blank=True)
    worker_hostname = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["job", "number"]
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="job_attempt_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.job_id} #{self.number} ({self.status})"


class JobLogChunk(models.Model):
    """A piece of an attempt's output as it arrived, redacted: the live log (SPEC §14), read
    with a cursor `attempt:seq` by GET /api/jobs/{id}/log while the job runs.

    Redacted across pieces: the raw end that might begin a secret waits in Job.log_held and is
    put in front of the next piece (vault.redaction.Redactor.split_ready). Bounded: an attempt
    stores at most JOB_LOG_MAX_BYTES characters of chunks (its beginning, then a marker); the
    job's own log (Job.log, then JobAttempt.log) keeps the bounded head … tail."""

    id = models.BigAutoField(primary_key=True)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="log_chunks")
    attempt = models.PositiveSmallIntegerField()
    seq = models.PositiveIntegerField()
    text = models.TextField()
    # Characters of this attempt's chunks up to and including this one (the bound's count).
    end = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "attempt", "seq"], name="job_log_chunk_unique_seq"
            ),
            models.CheckConstraint(
                condition=Q(attempt__gte=1, seq__gte=1), name="job_log_chunk_numbered_from_one"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job_id} #{self.attempt}.{self.seq}"


class ControlPlanePulse(models.Model):
    """One row: when the control plane (its watchdog) last ran, and since when it has run
    without a gap longer than the lost threshold (SPEC §7 fencing).

    A job is declared lost only after its silence lasted the lost threshold *while the control
    plane was itself up*: after an outage (the database down, the watchdog stopped), runners
    that were fenced report themselves, and runners that kept running resume heartbeating,
    before anything is called lost — so a lost job's retry never overlaps its first run.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    last_seen_at = models.DateTimeField()
    up_since = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="control_plane_pulse_one_row")
        ]

    def __str__(self) -> str:
        return f"control plane up since {iso_z(self.up_since)}"
