"""GET /api/audit/ — the caller's organization's audit trail (SPEC §14), newest first."""

from __future__ import annotations

from datetime import UTC

from django import forms
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets

from billing.api.serializers import AuditEntrySerializer
from billing.models import ActorKind, AuditAction, AuditEntry, AuditObjectType
from billing.tenancy import scope_queryset_for_request
from billing.tenancy_api import OrganizationApiMixin


class _UTCIsoDateTimeField(forms.DateTimeField):
    """An ISO-8601 instant, in UTC before it reaches the database: PostgreSQL refuses offsets
    beyond ±15:59 that Python parses (a 500 otherwise); one that leaves the calendar is a 400."""

    def to_python(self, value):
        parsed = filters.IsoDateTimeFilter.field_class().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("Out of range.", code="invalid") from None


class UTCIsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = _UTCIsoDateTimeField


class AuditFilter(filters.FilterSet):
    objectType = filters.ChoiceFilter(field_name="object_type", choices=AuditObjectType.choices)  # noqa: N815
    objectId = filters.CharFilter(field_name="object_id", max_length=64)  # noqa: N815
    action = filters.ChoiceFilter(choices=AuditAction.choices)
    actorKind = filters.ChoiceFilter(field_name="actor_kind", choices=ActorKind.choices)  # noqa: N815
    actor = filters.CharFilter(
        field_name="actor_label", max_length=150, help_text="A username (or `cron key`, `tick`)."
    )
    since = UTCIsoDateTimeFilter(
        field_name="at", lookup_expr="gte", help_text="Entries at or after this instant."
    )
    until = UTCIsoDateTimeFilter(
        field_name="at", lookup_expr="lt", help_text="Entries before this instant."
    )

    class Meta:
        model = AuditEntry
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(summary="The audit trail: who changed what, when, newest first"),
    retrieve=extend_schema(summary="An audit entry"),
)
class AuditEntryViewSet(
    OrganizationApiMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Read-only for every member (viewer and above); only the caller's organization."""

    serializer_class = AuditEntrySerializer
    filterset_class = AuditFilter
    queryset = AuditEntry.objects.none()  # for the schema; get_queryset answers requests

    def get_queryset(self):
        return scope_queryset_for_request(AuditEntry.objects.all(), self.request).order_by(
            "-at", "-id"
        )
