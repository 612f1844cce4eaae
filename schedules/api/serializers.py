from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agents.models import Agent, Script
from config.api_common import (
    CamelModelSerializer,
    CamelSerializer,
    FastReadMixin,
    NullIfBlankCharField,
    ScopedPrimaryKeyRelatedField,
    StrictCharField,
    UTCDateTimeField,
    choice_field,
)
from config.clock import iso_z
from schedules import cron
from schedules.alert_models import ALERT_EVENTS, AlertChannel, AlertDelivery, ChannelKind
from schedules.alerts import masked_target
from schedules.calendars import dates_error
from schedules.models import (
    GUARDRAILS,
    WHEN_FIELDS,
    Calendar,
    OverlapPolicy,
    Schedule,
    ScheduleEvent,
    validate_variables,
)
from schedules.report import Report
from vault.models import VaultEntry, key_name_validator


class CronExpressionField(serializers.CharField):
    """A cron expression validated by schedules.cron; the value becomes a parsed CronSpec."""

    def run_validation(self, data=serializers.empty):
        # CharField's own checks (type, blank, max_length) run on the text, then the parse.
        text = super().run_validation(data)
        try:
            return cron.parse(text)
        except cron.CronError as exc:
            raise serializers.ValidationError(str(exc)) from None


class TimezoneField(serializers.CharField):
    def to_internal_value(self, data):
        name = super().to_internal_value(data)
        try:
            cron.validate_timezone(name)
        except cron.CronError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return name


class PreviewQuerySerializer(serializers.Serializer):
    scheduleId = serializers.UUIDField(
        required=False,
        help_text="Preview a saved schedule of your organization instead of an expression: its "
        "own cron (or runAt) and timezone, its bounds (startsAt, endsAt) and run budget "
        "(remainingRuns), its calendars and its agent's maintenance windows. Not with cron or "
        "timezone.",
    )
    cron = CronExpressionField(
        max_length=200, required=False, help_text="Required unless scheduleId is given."
    )
    timezone = TimezoneField(
        max_length=64, required=False, help_text="The expression's timezone; defaults to UTC."
    )
    after = serializers.DateTimeField(required=False, help_text="ISO-8601; defaults to now.")
    count = serializers.IntegerField(min_value=1, max_value=50, default=5)
    viewerTimezone = TimezoneField(
        max_length=64,
        required=False,
        help_text="Also answer the runs as wall times in this IANA zone (nextRunsViewer), and "
        "annotate its DST changes too.",
    )

    def validate(self, attrs):
        if "scheduleId" in attrs:
            given = [name for name in ("cron", "timezone") if name in self.initial_data]
            if given:
                raise serializers.ValidationError(
                    {
                        "scheduleId": "Give either scheduleId or cron (and timezone), not both: "
                        f"a saved schedule has its own ({', '.join(given)} given)."
                    }
                )
        elif "cron" not in attrs:
            raise serializers.ValidationError(
                {"cron": "This field is required (or give scheduleId instead)."}
            )
        else:
            attrs.setdefault("timezone", "UTC")
        return attrs


class PreviewSkippedRunSerializer(serializers.Serializer):
    at = serializers.DateTimeField(help_text="The occurrence that does not run (UTC).")
    reason = serializers.CharField(
        help_text="Why: `ended` (at or after endsAt; no later one runs either), "
        "`run_budget_spent` (remainingRuns used up by the runs before it; none later either), "
        "`calendar_excluded` (its local date is on one of the schedule's calendars), "
        "`agent_maintenance` (its agent is in a maintenance window then) — the tick skips "
        "the same occurrences."
    )
    atViewer = serializers.CharField(
        required=False,
        help_text="With viewerTimezone: the same instant as wall time there, ISO-8601 with its "
        "offset.",
    )


class PreviewDstTransitionSerializer(serializers.Serializer):
    at = serializers.DateTimeField(help_text="The first instant with the new offset (UTC).")
    zone = serializers.CharField(help_text="The schedule's timezone, or the viewer's.")
    offsetBefore = serializers.CharField(help_text="UTC offset before it, e.g. -05:00.")
    offsetAfter = serializers.CharField(help_text="UTC offset from it on, e.g. -04:00.")


class PreviewResponseSerializer(serializers.Serializer):
    scheduleId = serializers.UUIDField(required=False, help_text="With scheduleId.")
    cron = serializers.CharField(help_text="Empty for a one-time schedule (runAt).")
    timezone = serializers.CharField()
    description = serializers.CharField()
    nextRuns = serializers.ListField(
        child=serializers.DateTimeField(), help_text="The runs, oldest first, in UTC."
    )
    jitterSeconds = serializers.IntegerField(required=False, help_text="With scheduleId.")
    fireTimes = serializers.ListField(
        child=serializers.DateTimeField(),
        required=False,
        help_text="With scheduleId: when each of nextRuns will start — the occurrence plus the "
        "schedule's deterministic jitter offset (equal to nextRuns without jitter).",
    )
    stoppedReason = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="With scheduleId: why the schedule has no run at all (its stoppedReason, or "
        "`ended` / `run_budget_spent` when the first occurrence after `after` is already past "
        "a bound); null when it has runs. A paused schedule's runs are listed: they are those "
        "of a resume now.",
    )
    skippedRuns = serializers.ListField(
        child=PreviewSkippedRunSerializer(),
        help_text="The occurrences among and after the runs that do not run, and why (always "
        "empty for an expression alone: it has no bounds).",
    )
    dstTransitions = serializers.ListField(
        child=PreviewDstTransitionSerializer(),
        help_text="The UTC offset changes of the schedule's timezone (and the viewer's) from "
        "`after` up to the last listed instant (run or skipped), by instant.",
    )
    viewerTimezone = serializers.CharField(required=False, help_text="With viewerTimezone.")
    nextRunsViewer = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="With viewerTimezone: nextRuns as wall times there, ISO-8601 with the offset "
        "of each (e.g. 2026-03-29T03:30:00+02:00), in the same order.",
    )


# --- Schedules (SPEC §6) ---------------------------------------------------------------------

_MAX_VAULT_KEYS = 100


class VaultKeyNameField(StrictCharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 128)
        super().__init__(**kwargs)
        self.validators.append(key_name_validator)


class ScheduleListSerializer(serializers.ListSerializer):
    def to_representation(self, data):
        # One query for the vault key names of every organization on the page, not one per row.
        items = list(data.all() if hasattr(data, "all") else data)
        self.child.load_vault_names(items)
        self.child.load_calendar_ids(items)
        return [self.child.to_representation(item) for item in items]


@extend_schema_field({"type": "object", "additionalProperties": True})
class JsonObjectField(serializers.JSONField):
    """A JSON object (the model validates it); typed as such in the OpenAPI schema."""


@extend_schema_field(
    {
        "type": "array",
        "items": {
            "oneOf": [
                {"type": "string", "format": "date"},
                {
                    "type": "object",
                    "properties": {
                        "from": {"type": "string", "format": "date"},
                        "to": {"type": "string", "format": "date"},
                    },
                    "required": ["from", "to"],
                    "additionalProperties": False,
                },
            ]
        },
    }
)
class CalendarDatesField(serializers.JSONField):
    """Days "YYYY-MM-DD" and inclusive ranges {"from", "to"} (schedules.calendars)."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        error = dates_error(value)
        if error:
            raise serializers.ValidationError(error)
        return value


class CalendarSerializer(CamelModelSerializer):
    name = StrictCharField(max_length=200)
    dates = CalendarDatesField(
        required=False,
        help_text='Excluded days, e.g. ["2026-12-25", {"from": "2026-08-01", "to": '
        '"2026-08-15"}] (ranges inclusive), at most 1000 entries; read in each schedule\'s '
        "timezone: a schedule naming this calendar skips its occurrences on them "
        "(calendar_excluded).",
    )

    class Meta:
        model = Calendar
        fields = ["id", "name", "dates"]
        read_only_fields = ["id"]


class ScheduleSerializer(FastReadMixin, CamelModelSerializer):
    script_id = ScopedPrimaryKeyRelatedField(source="script", queryset=Script.objects.all())
    calendar_ids = ScopedPrimaryKeyRelatedField(
        source="calendars",
        queryset=Calendar.objects.all(),
        many=True,
        required=False,
        help_text="Calendars of your organization whose excluded dates this schedule skips "
        "(calendar_excluded), read in its timezone.",
    )
    agent_id = ScopedPrimaryKeyRelatedField(source="agent", queryset=Agent.objects.all())
    cron_expression = StrictCharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="A recurring schedule's cron expression; empty for a one-time run (runAt). "
        "Exactly one of the two.",
    )
    run_at = UTCDateTimeField(
        required=False,
        allow_null=True,
        help_text="A one-time run at this instant instead of a cron expression (EventBridge "
        "at()); in the future when set. After it comes due nextRunAt is null (stoppedReason).",
    )
    timezone = StrictCharField(max_length=64, default="UTC")
    starts_at = UTCDateTimeField(
        required=False,
        allow_null=True,
        help_text="No run before this instant: the first run is the first occurrence at or "
        "after it.",
    )
    ends_at = UTCDateTimeField(
        required=False,
        allow_null=True,
        help_text="No run at or after this instant (after startsAt); then nextRunAt is null "
        "and stoppedReason `ended`.",
    )
    remaining_runs = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        help_text="Scheduled runs left (null = unlimited; 1 or more when set). Each scheduled "
        "run takes one, forced runs none; at 0 nextRunAt is null and stoppedReason "
        "`run_budget_spent`. Raise it to re-arm the schedule.",
    )
    overlap_policy = serializers.ChoiceField(
        choices=OverlapPolicy.choices,
        required=False,
        help_text="When the concurrency limit blocks an occurrence: `skip` (default; skipped "
        "concurrency_limit), `queue_one` (it waits as a held job and runs when a slot frees; "
        "a newer blocked occurrence supersedes it, so at most one waits) or `replace` (it waits "
        "likewise and the schedule's active jobs are canceled — a running one's process tree "
        "killed; it starts once they have ended).",
    )
    stopped_reason = NullIfBlankCharField(
        help_text="Why nextRunAt is null on an enabled schedule: `ended` (past endsAt), "
        "`run_budget_spent`, `ran_once` (its one-time run was dispatched) or `once_skipped` "
        "(its one-time run was skipped: see its events); null when not stopped."
    )
    variables = JsonObjectField(
        required=False, help_text='A JSON object, e.g. {"region": "us-east"}.'
    )
    vault_keys = serializers.ListField(
        child=VaultKeyNameField(),
        required=False,
        max_length=_MAX_VAULT_KEYS,
        help_text="Names of vault entries injected at run time (values never leave the vault).",
    )
    last_run_status = NullIfBlankCharField()
    description = serializers.SerializerMethodField(help_text="The cron expression in words.")
    paused_note = serializers.CharField(read_only=True)
    missing_vault_keys = serializers.SerializerMethodField(
        help_text="Names in vaultKeys with no vault entry in the organization: runs are skipped "
        "(vault_keys_missing) until they exist."
    )

    # calendarIds from one query of the page's schedule-calendar links (load_calendar_ids),
    # not a prefetch: the prefetch built a Calendar and a related manager for every row.
    fast_read_methods = {"calendarIds": "calendar_ids_of"}

    class Meta:
        model = Schedule
        list_serializer_class = ScheduleListSerializer
        fields = [
            "id",
            "name",
            "script_id",
            "agent_id",
            *("calendar_ids" if name == "calendars" else name for name in WHEN_FIELDS),
            *GUARDRAILS,
            "variables",
            "vault_keys",
            "last_run_at",
            "last_run_status",
            "next_run_at",
            "stopped_reason",
            "description",
            "paused_note",
            "paused_at",
            "missing_vault_keys",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "last_run_at",
            "next_run_at",
            "paused_at",
            "created_at",
            "updated_at",
        ]

    def validate_cron_expression(self, value: str) -> str:
        if not value:
            return value  # a one-time run (runAt); the model says when one of the two is missing
        try:
            cron.parse(value)
        except cron.CronError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value

    def validate_timezone(self, value: str) -> str:
        try:
            cron.validate_timezone(value)
        except cron.CronError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value

    def to_internal_value(self, data):
        # A new schedule needs a cron expression unless it is a one-time run: named with the
        # other missing fields, as a required field would be (the model checks the pair again).
        errors = {}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            errors = dict(exc.detail) if isinstance(exc.detail, dict) else {}
            if not errors:
                raise
        if (
            self.instance is None
            and isinstance(data, dict)
            and "cronExpression" not in data
            and data.get("runAt") is None
        ):
            errors.setdefault("cronExpression", ["This field is required unless runAt is given."])
        if errors:
            raise serializers.ValidationError(errors)
        return value

    def validate_remaining_runs(self, value: int | None) -> int | None:
        # 0 is what a spent budget reads back as; sending it back unchanged (a PUT of what was
        # read) is fine, setting it is not: pause the schedule instead.
        stored = self.instance.remaining_runs if isinstance(self.instance, Schedule) else None
        if value == 0 and stored != 0:
            raise serializers.ValidationError(
                "Must be 1 or more (null = unlimited); to stop a schedule, pause it."
            )
        return value

    def validate_variables(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError(
                'Variables must be a JSON object, e.g. {"region": "us-east"}.'
            )
        try:
            validate_variables(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return value

    def validate_vault_keys(self, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Vault keys must not repeat.")
        return value

    @extend_schema_field(serializers.CharField())
    def get_description(self, schedule: Schedule) -> str:
        if schedule.run_at is not None:
            return f"Once, at {iso_z(schedule.run_at)}"
        try:
            return cron.describe(schedule.cron_expression)
        except cron.CronError:
            return schedule.cron_expression

    def load_vault_names(self, schedules) -> set[tuple]:
        """The (organization id, name) pairs among `schedules`' vaultKeys that exist: one query
        for all of them (a page), none for keys already asked about in this serializer's
        context, or when they name no key."""
        asked = self.context.setdefault("_vault_keys_asked", set())
        present = self.context.setdefault("_vault_keys_present", set())
        wanted = {(s.organization_id, key) for s in schedules for key in s.vault_keys} - asked
        if wanted:
            rows = VaultEntry.objects.filter(
                organization_id__in={org_id for org_id, _ in wanted},
                key__in={key for _, key in wanted},
            ).values_list("organization_id", "key")
            present.update(rows)
            asked.update(wanted)
        return present

    def load_calendar_ids(self, schedules) -> dict:
        """{schedule id: its calendars' ids as strings, in the calendars' order (by name)}, one
        query for the schedules not yet loaded in this serializer's context."""
        loaded = self.context.setdefault("_calendar_ids", {})
        wanted = [s.pk for s in schedules if s.pk is not None and s.pk not in loaded]
        if wanted:
            for pk in wanted:
                loaded[pk] = []
            links = (
                Schedule.calendars.through.objects.filter(schedule_id__in=wanted)
                .order_by("calendar__name", "calendar_id")
                .values_list("schedule_id", "calendar_id")
            )
            for schedule_id, calendar_id in links:
                loaded[schedule_id].append(str(calendar_id))
        return loaded

    def calendar_ids_of(self, schedule: Schedule) -> list[str]:
        if schedule.pk is None:
            return []
        return self.load_calendar_ids([schedule])[schedule.pk]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_missing_vault_keys(self, schedule: Schedule) -> list[str]:
        if not schedule.vault_keys:
            return []
        present = self.load_vault_names([schedule])
        org_id = schedule.organization_id
        return [key for key in schedule.vault_keys if (org_id, key) not in present]


class PauseSerializer(serializers.Serializer):
    note = StrictCharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why, until when.",
    )


class ScheduleEventSerializer(FastReadMixin, CamelModelSerializer):
    reason = NullIfBlankCharField(help_text="A skip reason or error code; null otherwise.")
    trigger = NullIfBlankCharField()
    job_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = ScheduleEvent
        fields = [
            "id",
            "kind",
            "reason",
            "detail",
            "scheduled_for",
            "job_id",
            "trigger",
            "created_at",
        ]
        read_only_fields = fields


# --- The tick's report: plain data from schedules.report, camelCase here --------------------


class TriggeredSerializer(CamelSerializer):
    schedule_id = serializers.UUIDField()
    schedule_name = serializers.CharField()
    job_id = serializers.UUIDField(allow_null=True)
    scheduled_for = serializers.DateTimeField()
    agent_id = serializers.UUIDField()
    notes = serializers.ListField(child=serializers.CharField())

    class Meta:
        ref_name = "TriggeredSchedule"


class SkippedSerializer(CamelSerializer):
    schedule_id = serializers.UUIDField()
    reason = serializers.CharField(
        help_text="Why it did not run (a gate's skip: the first that blocks)."
    )
    detail = serializers.CharField()
    reasons = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Dry runs only (absent from a real tick's report): every gate that would "
        "block, in gate order; the first is `reason`. A skip that is not a gate's (missed, "
        "ended, not due, …) lists its reason alone.",
    )

    class Meta:
        ref_name = "SkippedSchedule"

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if data.get("reasons") is None:
            del data["reasons"]  # a real tick: its report is as it always was
        return data


class TickErrorSerializer(CamelSerializer):
    schedule_id = serializers.UUIDField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()

    class Meta:
        ref_name = "TickError"


class PrewarmedAgentSerializer(CamelSerializer):
    agent_id = serializers.UUIDField()
    agent_name = serializers.CharField()
    next_fire_at = serializers.DateTimeField(
        help_text="The fire instant (jitter included) of the run it was started for."
    )
    prewarm_minutes = serializers.IntegerField()

    class Meta:
        ref_name = "PrewarmedAgent"


class TickReportSerializer(CamelSerializer):
    """The body of POST /api/schedules/execute and /api/cron/scheduled-runs."""

    dry_run = serializers.BooleanField()
    evaluated_at = serializers.DateTimeField()
    triggered_schedules = TriggeredSerializer(source="triggered", many=True)
    skipped = SkippedSerializer(many=True)
    # Shadows Serializer.errors only in the class body: DRF moves declared fields out of it.
    errors = TickErrorSerializer(many=True)  # type: ignore[assignment]
    prewarmed_agents = PrewarmedAgentSerializer(
        source="prewarmed",
        many=True,
        help_text="Agents this tick started ahead of their next run (agent prewarmMinutes); "
        "full ticks only, empty otherwise. A failed pre-warm is in `errors` "
        "(agent_start_failed, no scheduleId).",
    )

    class Meta:
        ref_name = "TickReport"


def report_json(report: Report) -> dict:
    """The wire form of a tick's report (camelCase, instants as ISO-8601 UTC)."""
    return TickReportSerializer(report).data


# --- Backfill (SPEC §14) ------------------------------------------------------------------------


class BackfillRequestSerializer(serializers.Serializer):
    """`from` is a Python keyword: declared in get_fields."""

    to = UTCDateTimeField(
        help_text="The last instant of the range (inclusive), ISO-8601 UTC; not in the future."
    )
    dryRun = serializers.BooleanField(  # noqa: N815
        default=False,
        help_text="Answer what would be enqueued, what is already there and what blocks; "
        "write nothing.",
    )

    def get_fields(self):
        fields = super().get_fields()
        start = UTCDateTimeField(
            help_text="The first instant of the range (inclusive), ISO-8601 UTC; not older than "
            "the job retention (JOB_RETENTION_DAYS)."
        )
        return {"from": start, **fields}


class BackfillBlockSerializer(serializers.Serializer):
    reason = serializers.CharField(
        help_text="A gate that blocks now: `billing_blocked`, `vault_keys_missing`, "
        "`agent_unavailable`."
    )
    detail = serializers.CharField()


class BackfillSkippedSerializer(serializers.Serializer):
    at = UTCDateTimeField(help_text="An occurrence of the range a rule skips (UTC).")
    reason = serializers.CharField(
        help_text="Why (a calendar's excluded day, a maintenance window…)."
    )


class BackfillResponseSerializer(serializers.Serializer):
    """The answer of POST /api/schedules/{id}/backfill (and of its dry run)."""

    scheduleId = serializers.UUIDField()  # noqa: N815
    dryRun = serializers.BooleanField()  # noqa: N815
    to = UTCDateTimeField()
    enqueued = serializers.ListField(
        child=UTCDateTimeField(),
        help_text="The occurrences given a held job now (dry run: that would be), oldest "
        "first. The tick releases them oldest first as the concurrency limit allows, "
        "re-checking the gates.",
    )
    alreadyPresent = serializers.ListField(  # noqa: N815
        child=UTCDateTimeField(),
        help_text="The occurrences that already have a job (ran as scheduled, or an earlier "
        "backfill): not enqueued again.",
    )
    skippedRuns = serializers.ListField(  # noqa: N815
        child=BackfillSkippedSerializer(),
        help_text="Occurrences of the range that a rule of the schedule skips (not enqueued).",
    )
    blockedBy = serializers.ListField(  # noqa: N815
        child=BackfillBlockSerializer(),
        help_text="Every gate that blocks now (billing, vault, agent). Billing refuses a "
        "backfill (409); the others hold its jobs until they clear.",
    )

    def get_fields(self):
        fields = super().get_fields()
        start = UTCDateTimeField(help_text="The range's first instant, as asked.")
        return {
            "scheduleId": fields.pop("scheduleId"),
            "dryRun": fields.pop("dryRun"),
            "from": start,
            **fields,
        }


def backfill_json(schedule_id, result) -> dict:
    """A services.Backfill as the API answers it."""
    return {
        "scheduleId": str(schedule_id),
        "dryRun": result.dry_run,
        "from": iso_z(result.start),
        "to": iso_z(result.end),
        "enqueued": [iso_z(at) for at in result.enqueued],
        "alreadyPresent": [iso_z(at) for at in result.already_present],
        "skippedRuns": [{"at": iso_z(s.at), "reason": s.reason} for s in result.skipped],
        "blockedBy": [{"reason": str(b.reason), "detail": b.detail} for b in result.blocked_by],
    }


class AlertChannelSerializer(CamelModelSerializer):
    """SPEC §14 alert channels. `secret` (a webhook's HMAC key) is write-only, and so is a
    Slack target (an incoming-webhook URL is a credential): it reads back as its host only."""

    name = StrictCharField(max_length=200)
    kind = choice_field(ChannelKind, "AlertChannelKind")
    target = StrictCharField(
        max_length=1000,
        required=False,
        help_text="email: one or more addresses, comma-separated; webhook: an https URL "
        "(JSON POST, signed X-Mimic-Signature: sha256=<HMAC-SHA256 of the body>); slack: the "
        "incoming-webhook URL (write-only: read back as its host).",
    )
    secret = StrictCharField(
        max_length=200,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="webhook: the HMAC-SHA256 signing key. Write-only: never returned.",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=list(ALERT_EVENTS)),
        required=False,
        help_text=f"Events to alert on: {', '.join(ALERT_EVENTS)}.",
    )
    schedule_ids = ScopedPrimaryKeyRelatedField(
        source="schedules",
        queryset=Schedule.objects.all(),
        many=True,
        required=False,
        help_text="Schedules of your organization this channel is for; empty = all of them.",
    )
    has_secret = serializers.SerializerMethodField(help_text="Whether a signing secret is set.")

    class Meta:
        model = AlertChannel
        fields = [
            "id",
            "name",
            "kind",
            "target",
            "secret",
            "has_secret",
            "events",
            "schedule_ids",
            "skips_threshold",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {
            "skips_threshold": {
                "min_value": 1,
                "max_value": 10000,
                "help_text": "runs_skipped fires when this many occurrences in a row were "
                "skipped for an unplanned reason (default 3).",
            }
        }

    def get_has_secret(self, channel) -> bool:
        return bool(channel.secret)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["target"] = masked_target(instance)
        return data

    def validate(self, attrs):
        if self.instance is None and not attrs.get("target"):
            raise serializers.ValidationError({"target": ["This field is required."]})
        return attrs


class AlertDeliverySerializer(CamelModelSerializer):
    channel_id = serializers.UUIDField(read_only=True)
    created_at = UTCDateTimeField(read_only=True)
    sent_at = UTCDateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = AlertDelivery
        fields = [
            "id",
            "channel_id",
            "event",
            "subject",
            "status",
            "attempts",
            "last_error",
            "created_at",
            "sent_at",
        ]
        read_only_fields = fields


class ScheduleStatsSerializer(serializers.Serializer):
    """GET /api/schedules/{id}/stats: runtime statistics over the last 30 days (schedules.stats).
    Every figure but `runs` is null when there is nothing to compute it from."""

    runs = serializers.IntegerField(help_text="Jobs created in the last 30 days.")
    successRate = serializers.FloatField(  # noqa: N815
        allow_null=True,
        help_text="Succeeded ÷ finished (succeeded, failed, timed out, canceled, lost), 0–1.",
    )
    p50DurationSeconds = serializers.FloatField(  # noqa: N815
        allow_null=True,
        help_text="Median of finished_at − started_at over finished runs that started "
        "(percentile_cont: linear interpolation).",
    )
    p95DurationSeconds = serializers.FloatField(  # noqa: N815
        allow_null=True, help_text="95th percentile of the same durations."
    )
    p50QueueWaitSeconds = serializers.FloatField(  # noqa: N815
        allow_null=True,
        help_text="Median of started_at − created_at (dispatch, or being held for a slot, to "
        "the agent's start) over runs that started on their first attempt.",
    )
    suggestedMaxRuntimeMinutes = serializers.IntegerField(  # noqa: N815
        allow_null=True,
        help_text="The p95 duration × 1.5, rounded up to a whole minute (at least 1).",
    )


def stats_json(figures) -> dict:
    return {
        "runs": figures.runs,
        "successRate": figures.success_rate,
        "p50DurationSeconds": figures.p50_duration_seconds,
        "p95DurationSeconds": figures.p95_duration_seconds,
        "p50QueueWaitSeconds": figures.p50_queue_wait_seconds,
        "suggestedMaxRuntimeMinutes": figures.suggested_max_runtime_minutes,
    }
