"""Shared pieces of the REST API (SPEC §6): camelCase JSON, JSON-only parsing, and the error
responses every endpoint can give, declared once for the OpenAPI schema. Tenancy (which
organization, which role) is the billing app's: billing/tenancy_api.py builds on this module.

Field names stay snake_case in Python (``Meta.fields`` lists model field names); the serializer
renames them to camelCase on the wire, so the JSON, the validation errors and the schema all use
the same camelCase keys without a parallel list of names to keep in sync.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.relations import PKOnlyObject

from config.clock import iso_z

if TYPE_CHECKING:
    # The stubs' name for what permission_classes holds (a class, or `A & B`, `A | B`).
    from rest_framework.permissions import _PermissionClass

_CAMEL_RE = re.compile(r"_([a-z0-9])")
_SNAKE_RE = re.compile(r"([A-Z])")


def camel(name: str) -> str:
    """``max_runtime_minutes`` -> ``maxRuntimeMinutes``."""
    return _CAMEL_RE.sub(lambda m: m.group(1).upper(), name)


def camel_keys(errors: dict) -> dict:
    return {camel(key): value for key, value in errors.items()}


class CamelCaseSerializerMixin:
    """Expose every field under its camelCase name; the Python attribute stays snake_case."""

    def get_fields(self):
        fields = super().get_fields()
        renamed = {}
        for name, field in fields.items():
            key = camel(name)
            # bind() would otherwise take the source (and a method field's `get_…` method) from
            # the camelCase key.
            if isinstance(field, serializers.SerializerMethodField):
                field.method_name = field.method_name or f"get_{name}"
            elif key != name and field.source is None:
                field.source = name
            renamed[key] = field
        return renamed

    def __getattr__(self, name: str):
        # DRF looks up `validate_<field name>`, and the field name is camelCase: find the
        # snake_case method (`validate_cronExpression` -> `validate_cron_expression`).
        if name.startswith("validate_"):
            snake = "validate_" + _SNAKE_RE.sub(lambda m: "_" + m.group(1).lower(), name[9:])
            if snake != name:
                return getattr(self, snake)
        raise AttributeError(name)


class StrictCharField(serializers.CharField):
    """Text must be sent as a JSON string: no silent str(42) or str(True)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class UTCDateTimeField(serializers.DateTimeField):
    """An instant written as config.clock.iso_z writes it (UTC, `Z`, whole seconds) — the
    REST_FRAMEWORK DATETIME_FORMAT, except that the year always has four digits (strftime
    writes the year 96 as "96", which no ISO-8601 reader takes)."""

    def to_representation(self, value):
        if not value or isinstance(value, str):
            return super().to_representation(value)
        return iso_z(self.enforce_timezone(value))


# --- Reading rows fast ------------------------------------------------------------------------
# DRF writes an object field by field: each request builds the serializer's fields again (for a
# ModelSerializer, from the model's meta: ~1 ms), and each row goes through every field's
# get_attribute (a source walk, callable checks, exception handling) and to_representation.
# That machinery was 0.3 ms per schedule row, most of a list page of 50, and most of a detail.
# What it computes is fixed by the serializer's class, so it is worked out once per class: a
# plan of (camelCase key, how to read the value, how to write it). Output is DRF's, byte for
# byte (pinned by config/tests/test_api_fast_read.py for every serializer that uses it);
# validation, writes and the OpenAPI schema still go through the fields as declared.

_Reader = Callable[[Any, Any], Any]  # (serializer, instance) -> the field's JSON value


def _writer(field: Any) -> Callable[[Any], Any]:
    """A function with the field's own to_representation result for a non-None value: the
    plain conversion where the field's class does no more than that, else the field's method
    (the field is one the plan keeps, bound to a serializer without context; every field kept
    this way reads no context)."""
    write = type(field).to_representation
    if write is serializers.CharField.to_representation:
        return str
    if write is serializers.IntegerField.to_representation:
        return int
    if write is serializers.UUIDField.to_representation and field.uuid_format == "hex_verbose":
        return str
    if write is serializers.JSONField.to_representation and not field.binary:
        return lambda value: value
    if write is UTCDateTimeField.to_representation:
        fallback = field.to_representation
        # Aware datetimes (every DateTimeField read from the database): iso_z converts to UTC,
        # as enforce_timezone would first.
        return lambda value: (
            iso_z(value)
            if isinstance(value, datetime) and value.utcoffset() is not None
            else fallback(value)
        )
    if write is serializers.ListField.to_representation:
        child = _writer(field.child)
        return lambda values: [child(v) if v is not None else None for v in values]
    if write is serializers.PrimaryKeyRelatedField.to_representation:
        pk = _writer(field.pk_field) if field.pk_field is not None else (lambda value: value)
        return lambda obj: pk(obj.pk)
    return field.to_representation


def _reader(model, field: serializers.Field) -> _Reader | None:
    """How to read the field's value off an instance as DRF would, where that is one
    attribute of the model; None where DRF's own get_attribute must run."""
    if isinstance(field, serializers.SerializerMethodField):
        return _method_reader(field.method_name)
    attrs = field.source_attrs
    if model is None or len(attrs) != 1:
        return None
    source = attrs[0]
    try:
        model_field = model._meta.get_field(source)
    except FieldDoesNotExist:  # a foreign key's column (`agent_id`), or no field: DRF's way
        model_field = next((f for f in model._meta.concrete_fields if f.attname == source), None)
        if model_field is None:
            return None
    if isinstance(field, serializers.ManyRelatedField):
        if not model_field.many_to_many or model_field.auto_created:
            return None
        write_one = _writer(field.child_relation)
        name = model_field.name

        def many(serializer, instance):
            if instance.pk is None:
                return []
            # What prefetch_related left (the manager's cache), without creating a manager
            # per row; the manager's all() otherwise.
            cached = getattr(instance, "_prefetched_objects_cache", {}).get(name)
            related = cached if cached is not None else getattr(instance, name).all()
            return [write_one(obj) for obj in related]

        return many
    if isinstance(field, serializers.RelatedField):
        # A reference written as its primary key: DRF reads the foreign key's column.
        if not (field.use_pk_only_optimization() and model_field.many_to_one):
            return None
        pk_field = getattr(field, "pk_field", None)
        write = _writer(pk_field) if pk_field is not None else (lambda value: value)
        column = model_field.attname
    elif model_field.concrete and (not model_field.is_relation or source == model_field.attname):
        write, column = _writer(field), source
    else:
        return None

    def plain(serializer, instance):
        value = getattr(instance, column)
        return None if value is None else write(value)

    return plain


def _method_reader(name: str) -> _Reader:
    return lambda serializer, instance: getattr(serializer, name)(instance)


def _fallback(field: serializers.Field) -> _Reader:
    def drf(serializer, instance):
        attribute = field.get_attribute(instance)
        if isinstance(attribute, PKOnlyObject):
            return None if attribute.pk is None else field.to_representation(attribute)
        return None if attribute is None else field.to_representation(attribute)

    return drf


_plans: dict[type, list[tuple[str, _Reader]]] = {}


class FastReadMixin:
    """to_representation from a per-class plan (above) instead of DRF's per-field machinery.

    For serializers whose read-only representation depends only on the instance (and on the
    serializer's own `get_…` methods, which run on the serializer at hand, with its context):
    a field that skips itself (SkipField) is not supported, nor one whose representation reads
    the context or the request (hyperlinks) — such a serializer keeps DRF's to_representation.
    """

    # {camelCase key: name of a method of the serializer} for a field its serializer reads its
    # own way (e.g. from a per-page lookup), called as method(instance); the output must stay
    # the field's own.
    fast_read_methods: dict[str, str] = {}

    def to_representation(self, instance):
        plan = _plans.get(type(self))
        if plan is None:
            plan = _plans[type(self)] = self._read_plan()
        return {key: read(self, instance) for key, read in plan}

    @classmethod
    def _read_plan(cls) -> list[tuple[str, _Reader]]:
        # A serializer without context or data, only to have its fields bound once.
        serializer: Any = cls()
        fields = serializer.fields
        model = getattr(getattr(cls, "Meta", None), "model", None)
        plan: list[tuple[str, _Reader]] = []
        for key, field in fields.items():
            if field.write_only:
                continue
            if isinstance(field, serializers.HyperlinkedRelatedField | serializers.BaseSerializer):
                raise TypeError(f"{cls.__name__}.{key}: not for FastReadMixin")
            method = cls.fast_read_methods.get(key)
            plan.append(
                (
                    key,
                    _method_reader(method)
                    if method is not None
                    else _reader(model, field) or _fallback(field),
                )
            )
        return plan


class CamelModelSerializer(CamelCaseSerializerMixin, serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.DateTimeField: UTCDateTimeField,
    }


class CamelSerializer(CamelCaseSerializerMixin, serializers.Serializer):
    pass


class NullIfBlankCharField(serializers.CharField):
    """Read-only text that is blank in the database ('' = "none yet") and null in the API."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return value or None


_choice_field_classes: dict[str, type] = {}


def choice_field(choices, component: str, **kwargs) -> serializers.ChoiceField:
    """A ChoiceField whose enum is one named schema component (`JobStatus`, `AgentStatus`), so
    fields that share a name (`status`) but not their choices never collide in the schema."""
    cls = _choice_field_classes.get(component)
    if cls is None:
        cls = type(f"{component}Field", (serializers.ChoiceField,), {})
        schema = {"type": "string", "enum": [str(value) for value in choices.values]}
        cls = extend_schema_field(schema, component_name=component)(cls)
        _choice_field_classes[component] = cls
    return cls(choices=choices.choices, **kwargs)


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference (``scriptId``, ``agentId``) that must name an object of the organization the
    object being written belongs to (``context["organization"]``). Any other id — another
    organization's, or none at all — is the same 400 on this field, so ids of other tenants
    cannot be probed."""

    def __init__(self, **kwargs):
        kwargs.setdefault("pk_field", serializers.UUIDField(format="hex_verbose"))
        super().__init__(**kwargs)

    def get_queryset(self):
        organization = self.context.get("organization")
        queryset = super().get_queryset()
        if organization is None:
            return queryset.none()
        return queryset.filter(organization=organization)


# --- Views -----------------------------------------------------------------------------------

ErrorSerializer = inline_serializer(name="ApiError", fields={"detail": serializers.CharField()})
# Field-level messages keyed by the camelCase field name (nested for nested input), or `detail`.
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "additionalProperties": {},
    "example": {"cronExpression": ["minute field: write 5-59/15 instead of 5/15"]},
}


class ApiAutoSchema(AutoSchema):
    """Adds the error responses an endpoint may give to its operation, so clients (and
    schemathesis) find a 400/401/403/404 in the contract: 400 carries field-level messages keyed
    by the camelCase field name, the others `{"detail": "..."}`."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction=direction)
        errors = {
            "401": OpenApiResponse(ErrorSerializer, description="Not authenticated."),
            "403": OpenApiResponse(ErrorSerializer, description="Your role does not allow this."),
        }
        if self.method in ("POST", "PUT", "PATCH") or self.method == "GET":
            # GET: bad filter or query parameters.
            errors["400"] = OpenApiResponse(
                VALIDATION_ERROR_SCHEMA,
                description="Invalid input: field-level messages keyed by the camelCase field.",
            )
        if "{" in self.path or self._is_list_view():
            # A detail path: not found or another organization's. A list: a page past the end.
            errors["404"] = OpenApiResponse(ErrorSerializer, description="Not found.")
        for code, response in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses


class ApiViewMixin:
    """JSON in, JSON out; authenticated. Views of organization-owned objects use
    billing.tenancy_api.OrganizationApiMixin, which adds the roles per action."""

    # Typed as APIView declares them: the mixin's attributes must agree with the view's.
    parser_classes: Sequence[type[BaseParser]] = [JSONParser]
    permission_classes: Sequence[_PermissionClass] = [IsAuthenticated]
    schema = ApiAutoSchema()
