"""The audit trail as the API shows it (SPEC §6, §14): camelCase, instants in UTC `Z`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.models import ActorKind, AuditAction, AuditEntry, AuditObjectType
from config.api_common import CamelModelSerializer, camel, choice_field


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "array", "minItems": 2, "maxItems": 2, "items": {}},
        "example": {"cronExpression": ["0 2 * * *", "30 2 * * *"], "value": ["•••", "•••"]},
    }
)
class ChangesField(serializers.JSONField):
    """{field: [old, new]}, field names as the API writes them (camelCase); a secret field's
    values are always the placeholder `•••`."""

    def to_representation(self, value):
        return {camel(name): pair for name, pair in (value or {}).items()}


class AuditEntrySerializer(CamelModelSerializer):
    actor_kind = choice_field(ActorKind, "AuditActorKind", read_only=True)
    actor_id = serializers.CharField(
        source="actor_ref",
        read_only=True,
        allow_null=True,
        help_text="The user's id for `user` and `api_token`; null for the cron key, the tick "
        "and the system. Never a token.",
    )
    actor_label = serializers.CharField(
        read_only=True, help_text="The username; `cron key`, `tick`, or what the system did."
    )
    action = choice_field(AuditAction, "AuditAction", read_only=True)
    object_type = choice_field(AuditObjectType, "AuditObjectType", read_only=True)
    changes = ChangesField(read_only=True)

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "at",
            "actor_kind",
            "actor_id",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "object_label",
            "changes",
            "note",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["actorId"] = data["actorId"] or None
        return data
