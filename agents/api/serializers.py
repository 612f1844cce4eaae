"""Agents, scripts and jobs as the API shows them (SPEC §6): camelCase, `…Id`, `…At` in UTC `Z`."""

from __future__ import annotations

from django.utils.text import slugify
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agents.controller_policy import SECRET_CONFIG_KEYS, controller_errors
from agents.maintenance import windows_error
from agents.models import (
    Agent,
    AgentStatus,
    Controller,
    Job,
    JobAttempt,
    JobStatus,
    Script,
    validate_timezone,
)
from config.api_common import (
    CamelModelSerializer,
    CamelSerializer,
    FastReadMixin,
    NullIfBlankCharField,
    camel_keys,
    choice_field,
)


class ControllerConfigField(serializers.JSONField):
    """A JSON object; its credential keys are write-only (dropped from every response)."""

    def to_representation(self, value):
        value = value or {}
        return {k: v for k, v in value.items() if k not in SECRET_CONFIG_KEYS}


@extend_schema_field({"type": "array", "items": {"type": "object", "additionalProperties": True}})
class MaintenanceWindowsField(serializers.JSONField):
    """Validated by agents.maintenance (the message names the window's index)."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        error = windows_error(value)
        if error:
            raise serializers.ValidationError(error)
        return value


class AgentSerializer(FastReadMixin, CamelModelSerializer):
    status = choice_field(AgentStatus, "AgentStatus", read_only=True)
    slug = serializers.SlugField(
        max_length=100,
        required=False,
        help_text="Unique in the organization; default from name.",
    )
    last_heartbeat_at = serializers.DateTimeField(read_only=True, allow_null=True)
    controller_config = ControllerConfigField(
        required=False,
        help_text='webhook: {"url": "https://…", "secret": "…"} (the secret is write-only).',
    )

    timezone = serializers.CharField(
        max_length=64,
        required=False,
        validators=[validate_timezone],
        help_text="IANA name (default UTC): maintenanceWindows are read as wall time here.",
    )
    maintenance_windows = MaintenanceWindowsField(
        required=False,
        help_text='Weekly windows {"days": ["sat", "sun"], "start": "22:00", "end": "02:00"} '
        '(an end before the start crosses midnight) and one-off ranges {"from": '
        '"2026-12-24T18:00", "to": "2026-12-27T06:00"} (local, to exclusive), in the agent\'s '
        "timezone: a scheduled run in one is skipped (agent_maintenance), and so is a forced run.",
    )

    class Meta:
        model = Agent
        fields = [
            "id",
            "name",
            "slug",
            "status",
            "last_heartbeat_at",
            "capacity",
            "auto_start",
            "prewarm_minutes",
            "controller",
            "controller_config",
            "timezone",
            "maintenance_windows",
            "created_at",
        ]
        read_only_fields = ["id", "status", "last_heartbeat_at", "created_at"]
        extra_kwargs = {
            "prewarm_minutes": {
                "help_text": "Pre-warm (SPEC §14): start the agent, if offline and auto-start is "
                "on, this many minutes before the next run of one of its schedules. 0 = off.",
            }
        }

    def validate_controller_config(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("controllerConfig must be a JSON object.")
        return value

    def validate(self, attrs):
        instance = self.instance
        organization = self.context.get("organization")
        if "slug" not in attrs and instance is None:
            attrs["slug"] = slugify(attrs.get("name", ""))[:100]
            if not attrs["slug"]:
                raise serializers.ValidationError({"slug": ["Give a slug (letters, digits, -)."]})
        if "slug" in attrs and organization is not None:
            taken = Agent.objects.filter(organization=organization, slug=attrs["slug"])
            if instance is not None:
                taken = taken.exclude(pk=instance.pk)
            if taken.exists():
                raise serializers.ValidationError(
                    {"slug": ["An agent with this slug already exists in the organization."]}
                )
        controller = attrs.get("controller", instance.controller if instance else Controller.MANUAL)
        config = attrs.get("controller_config")
        if config is not None and instance is not None:
            # The secret is never shown, so a client sending back what it read must not erase it.
            for key in SECRET_CONFIG_KEYS & set(instance.controller_config or {}):
                config.setdefault(key, instance.controller_config[key])
        if config is None:
            config = instance.controller_config if instance else {}
        if "controller" in attrs or "controller_config" in attrs:  # being chosen: vet it
            errors = controller_errors(controller=controller, config=config)
            if errors:
                raise serializers.ValidationError(camel_keys({k: [v] for k, v in errors.items()}))
        return attrs


RUNTIME_ENVIRONMENT_HELP = (
    "The variables to start the agent's runtime with (`python -m agents.runtime`): MIMIC_URL, "
    "MIMIC_AGENT_ID, MIMIC_AGENT_TOKEN, MIMIC_BROKER_URL. Shown once: only the token's hash "
    "is stored."
)


class AgentCreatedSerializer(AgentSerializer):
    token = serializers.CharField(
        read_only=True,
        help_text="The agent's token, shown once: only its hash is stored. The runtime "
        "authenticates with it to the agent API and to its broker user.",
    )
    runtime_environment = serializers.DictField(
        child=serializers.CharField(), read_only=True, help_text=RUNTIME_ENVIRONMENT_HELP
    )

    class Meta(AgentSerializer.Meta):
        fields = [*AgentSerializer.Meta.fields, "token", "runtime_environment"]


class AgentTokenSerializer(serializers.Serializer):
    """A freshly issued token and what to start the runtime with (a dict of MIMIC_* names)."""

    token = serializers.CharField(source="MIMIC_AGENT_TOKEN", read_only=True)
    brokerUrl = serializers.CharField(source="MIMIC_BROKER_URL", read_only=True)  # noqa: N815
    runtimeEnvironment = serializers.DictField(  # noqa: N815
        source="*",
        child=serializers.CharField(),
        read_only=True,
        help_text=RUNTIME_ENVIRONMENT_HELP,
    )


class ScriptSerializer(CamelModelSerializer):
    class Meta:
        model = Script
        fields = [
            "id",
            "name",
            "runtime",
            "source",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "version", "created_at", "updated_at"]
        # Source is code: leading/trailing whitespace and the final newline are part of it.
        extra_kwargs = {"source": {"trim_whitespace": False}}


class JobSerializer(FastReadMixin, CamelModelSerializer):
    status = choice_field(JobStatus, "JobStatus", read_only=True)
    schedule_id = serializers.UUIDField(read_only=True, allow_null=True)
    script_id = serializers.UUIDField(read_only=True, allow_null=True)
    agent_id = serializers.UUIDField(read_only=True, allow_null=True)
    error_kind = NullIfBlankCharField()

    class Meta:
        model = Job
        fields = [
            "id",
            "schedule_id",
            "script_id",
            "script_version",
            "agent_id",
            "trigger",
            "scheduled_for",
            "status",
            "attempt",
            "max_attempts",
            "retry_at",
            "created_at",
            "queued_at",
            "started_at",
            "heartbeat_at",
            "deadline_at",
            "start_deadline_at",
            "finished_at",
            "cancel_requested_at",
            "exit_code",
            "error_kind",
            "error_message",
        ]
        read_only_fields = fields


class JobAttemptSerializer(CamelModelSerializer):
    status = choice_field(JobStatus, "JobStatus", read_only=True)
    error_kind = NullIfBlankCharField()

    class Meta:
        model = JobAttempt
        fields = [
            "number",
            "status",
            "started_at",
            "finished_at",
            "exit_code",
            "error_kind",
            "error_message",
            "log",
        ]
        read_only_fields = fields


class JobLogSerializer(CamelSerializer):
    job_id = serializers.UUIDField(source="id")
    log = serializers.CharField(
        help_text="The log written after `after` (from the start without it), secrets redacted."
    )
    next = serializers.CharField(help_text="Pass as `after` to read what is written next.")
    complete = serializers.BooleanField(
        help_text="The job is finished and its whole log was returned: stop asking."
    )
    attempts = JobAttemptSerializer(
        many=True, help_text="Every attempt, with its final log (bounded: head … tail)."
    )
