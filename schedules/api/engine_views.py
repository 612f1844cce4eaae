"""The engine's HTTP faces (SPEC §6): the manual execute endpoint, the cron endpoint, health
and metrics. Each parses input, calls schedules.engine.run_tick, and returns its report."""

from __future__ import annotations

import contextlib
import threading

from django.db import connection
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.models import Role
from billing.permissions import request_role
from billing.tenancy import actor_from_request, organization_from_request, role_at_least
from config import clock
from config.api_common import VALIDATION_ERROR_SCHEMA, ApiAutoSchema, ErrorSerializer
from config.cron_auth import cron_key_error
from schedules.api.serializers import TickReportSerializer, report_json
from schedules.engine import run_tick
from schedules.metrics import DatabaseGauges
from schedules.models import Schedule
from schedules.selectors import tick_health

# --- Request and report shapes (also the OpenAPI schema) --------------------------------------


class ExecuteRequestSerializer(serializers.Serializer):
    dryRun = serializers.BooleanField(default=False)  # noqa: N815
    force = serializers.BooleanField(default=False)
    scheduleId = serializers.UUIDField(required=False, allow_null=True, default=None)  # noqa: N815
    # Omitted: every due schedule, within the tick's time budget.
    limit = serializers.IntegerField(min_value=1, max_value=1000, required=False, default=None)

    def validate(self, attrs):
        if attrs["force"] and not attrs.get("scheduleId"):
            raise serializers.ValidationError({"scheduleId": "force: true requires scheduleId."})
        return attrs


class CronRequestSerializer(serializers.Serializer):
    dryRun = serializers.BooleanField(default=False)  # noqa: N815
    # Omitted: every due schedule, within the tick's time budget.
    limit = serializers.IntegerField(min_value=1, max_value=1000, required=False, default=None)


def _merged_input(request) -> dict:
    """`dryRun` and `limit` may come as query parameters or in a JSON body (body wins)."""
    data = {k: v for k, v in request.query_params.items()}
    if isinstance(request.data, dict):
        data.update(request.data)
    return data


# --- Endpoints ---------------------------------------------------------------------------------


class ExecuteView(APIView):
    """POST /api/schedules/execute — a manual execution scoped to the caller's organization."""

    schema = ApiAutoSchema()  # documents its 400/401/403

    @extend_schema(
        request=ExecuteRequestSerializer,
        responses={
            200: TickReportSerializer,
            404: OpenApiResponse(
                ErrorSerializer, description="scheduleId names no schedule of the organization."
            ),
        },
    )
    def post(self, request):
        body = ExecuteRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        user = request.user
        org = organization_from_request(request)
        if not user.is_superuser:
            # Viewers may ask "what would run?"; running needs an operator.
            needed = Role.VIEWER if data["dryRun"] else Role.OPERATOR
            if not role_at_least(request_role(request), needed):
                raise PermissionDenied("Your role in this organization does not allow this action.")
        org_id = org.id if org is not None else None
        schedule_id = data.get("scheduleId")
        if schedule_id is not None:
            scope = (
                Schedule.objects.all()
                if org_id is None
                else Schedule.objects.filter(organization_id=org_id)
            )
            get_object_or_404(scope, pk=schedule_id)  # another organization's schedule: 404
        report = run_tick(
            now=clock.control_plane_now(),
            dry_run=data["dryRun"],
            force=data["force"],
            schedule_id=schedule_id,
            limit=data["limit"],
            organization_id=org_id,
            # Scoped executions overlap with ticks and each other (row locks keep them apart);
            # only an unscoped superuser run is a full tick.
            use_executor_lock=org_id is None and schedule_id is None,
            actor=actor_from_request(request),
        )
        return Response(report_json(report))


_CRON_PARAMETERS = [
    OpenApiParameter("dryRun", bool, required=False),
    OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, required=False),
    OpenApiParameter("x-cron-key", str, OpenApiParameter.HEADER, required=False),
]
_CRON_RESPONSES = {
    200: TickReportSerializer,
    400: OpenApiResponse(VALIDATION_ERROR_SCHEMA, description="Invalid dryRun or limit."),
    401: OpenApiResponse(ErrorSerializer, description="Missing or invalid cron key."),
    423: OpenApiResponse(TickReportSerializer, description="Another tick holds the executor lock."),
    503: OpenApiResponse(ErrorSerializer, description="CRON_SECRET is not configured."),
}


class CronScheduledRunsView(APIView):
    """GET|POST /api/cron/scheduled-runs — the external every-minute cron, all organizations."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=_CRON_PARAMETERS,
        request=CronRequestSerializer,
        responses=_CRON_RESPONSES,
    )
    def post(self, request):
        denied = cron_key_error(request)
        if denied is not None:
            return denied
        body = CronRequestSerializer(data=_merged_input(request))
        body.is_valid(raise_exception=True)
        report = run_tick(
            now=clock.control_plane_now(),
            dry_run=body.validated_data["dryRun"],
            limit=body.validated_data["limit"],
            use_executor_lock=True,
        )
        code = status.HTTP_423_LOCKED if report.executor_locked else status.HTTP_200_OK
        return Response(report_json(report), status=code)

    @extend_schema(
        parameters=_CRON_PARAMETERS,
        responses=_CRON_RESPONSES,
    )
    def get(self, request):
        return self.post(request)


# Alert when the tick could not take the executor lock this many times in a row.
_HEALTH = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(["ok", "degraded", "down"]),
        "database": serializers.CharField(),
        "broker": serializers.CharField(),
        "lastTickAt": serializers.DateTimeField(allow_null=True),
        "lastTickAgeSeconds": serializers.IntegerField(allow_null=True),
        "consecutiveExecutorLockErrors": serializers.IntegerField(),
    },
)


class HealthView(APIView):
    """GET /api/health — database, broker, age of the last successful tick."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        responses={
            200: _HEALTH,
            503: OpenApiResponse(_HEALTH, description="The database is down."),
        }
    )
    def get(self, request):
        now = timezone.now()
        body = {
            "status": "ok",
            "database": "ok",
            "broker": "ok",
            "lastTickAt": None,
            "lastTickAgeSeconds": None,
            "consecutiveExecutorLockErrors": 0,
        }
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            tick = tick_health(now=now)
        except Exception as exc:  # noqa: BLE001 - health reports, never raises
            body.update(status="down", database=f"error: {type(exc).__name__}")
            tick = None
        if tick is not None:
            body["consecutiveExecutorLockErrors"] = tick.consecutive_lock_errors
            body["lastTickAt"] = clock.iso_z(tick.last_tick_at)
            body["lastTickAgeSeconds"] = tick.age_seconds
            if tick.state == "degraded" and body["status"] == "ok":
                body["status"] = "degraded"
        body["broker"] = _broker_health()
        if body["broker"] != "ok" and body["status"] == "ok":
            body["status"] = "degraded"
        code = (
            status.HTTP_503_SERVICE_UNAVAILABLE if body["status"] == "down" else status.HTTP_200_OK
        )
        return Response(body, status=code)


# One broker connection per web thread, kept between health checks: opening one (a TCP
# connect, Redis AUTH and kombu's channel set-up) was most of the 5 ms /api/health took, and a
# load balancer asks every few seconds. A failed check drops it, so the next check connects
# afresh (a Redis restarted meanwhile is answered "ok" again at once).
_broker = threading.local()


def _broker_health() -> str:
    from config.celery import app

    try:
        conn = getattr(_broker, "connection", None)
        if conn is None:
            conn = _broker.connection = app.connection_for_write()
            conn.ensure_connection(max_retries=1, timeout=2)
        conn.default_channel.client.ping()
        return "ok"
    except Exception as exc:  # noqa: BLE001
        conn, _broker.connection = getattr(_broker, "connection", None), None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.release()
        return f"error: {type(exc).__name__}"


def metrics_view(request):
    """Prometheus text format: the counters and histograms (every process's when
    PROMETHEUS_MULTIPROC_DIR is set, this one's otherwise) and the gauges the database answers
    now. The registry is built per scrape, so the database is read only when /metrics is."""
    import os

    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)  # a registry is a collector of its own metrics
    registry.register(DatabaseGauges())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
