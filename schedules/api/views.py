from datetime import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.models import Role
from billing.permissions import request_role
from billing.tenancy import actor_from_request, role_at_least, scope_queryset_for_request
from billing.tenancy_api import OrganizationApiMixin, OrganizationContextMixin
from config import clock
from config.api_common import ApiAutoSchema, ErrorSerializer, camel
from schedules import alerts, cron, preview, services
from schedules.api.serializers import (
    AlertChannelSerializer,
    AlertDeliverySerializer,
    BackfillRequestSerializer,
    BackfillResponseSerializer,
    CalendarSerializer,
    PauseSerializer,
    PreviewQuerySerializer,
    PreviewResponseSerializer,
    ScheduleEventSerializer,
    ScheduleSerializer,
    ScheduleStatsSerializer,
    backfill_json,
    stats_json,
)
from schedules.models import AlertChannel, Calendar, RunStatus, Schedule, ScheduleEvent
from schedules.selectors import schedule_planned_skips, schedule_stats


def _preview_payload(
    *,
    runs: list,
    skipped: list[preview.SkippedRun],
    zones: list[str],
    viewer_tz: str | None,
    since: datetime,
) -> dict:
    """skippedRuns and dstTransitions (and the viewer's wall times) of a preview answer."""
    listed = [*runs, *(s.at for s in skipped)]
    payload: dict = {
        "skippedRuns": [
            {"at": clock.iso_z(s.at), "reason": s.reason}
            | ({"atViewer": preview.in_zone(s.at, viewer_tz)} if viewer_tz else {})
            for s in skipped
        ],
        "dstTransitions": [
            {
                "at": clock.iso_z(t.at),
                "zone": t.zone,
                "offsetBefore": preview.format_offset(t.offset_before),
                "offsetAfter": preview.format_offset(t.offset_after),
            }
            for t in preview.transitions_between(
                listed, [*zones, *([viewer_tz] if viewer_tz else [])], since=since
            )
        ],
    }
    if viewer_tz:
        payload["viewerTimezone"] = viewer_tz
        payload["nextRunsViewer"] = [preview.in_zone(r, viewer_tz) for r in runs]
    return payload


class PreviewView(APIView):
    """The next N occurrences of any expression in any timezone after any instant — or of a
    saved schedule of the caller's organization (scheduleId), within its bounds and run budget,
    with the occurrences it skips and why."""

    schema = ApiAutoSchema()  # documents its 400 (bad cron/timezone/after/count)

    @extend_schema(
        parameters=[PreviewQuerySerializer],
        responses={
            200: PreviewResponseSerializer,
            404: OpenApiResponse(
                ErrorSerializer, description="scheduleId: no such schedule in your organization."
            ),
        },
    )
    def get(self, request):
        query = PreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        after = data.get("after") or timezone.now()
        viewer_tz = data.get("viewerTimezone")
        if "scheduleId" in data:
            return Response(self._saved(request, data, after, viewer_tz))
        spec = data["cron"]
        runs = cron.next_n(spec, data["timezone"], after, data["count"])
        body = {
            "cron": spec.expression,
            "timezone": data["timezone"],
            "description": cron.describe(spec),
            "nextRuns": [clock.iso_z(r) for r in runs],
        }
        # An expression alone has no bounds: nothing is skipped, but its DST transitions are
        # annotated as a saved schedule's are.
        body |= _preview_payload(
            runs=runs, skipped=[], zones=[data["timezone"]], viewer_tz=viewer_tz, since=after
        )
        return Response(body)

    def _saved(self, request, data, after, viewer_tz) -> dict:
        schedule = get_object_or_404(
            scope_queryset_for_request(Schedule.objects.all(), request), pk=data["scheduleId"]
        )
        result = preview.schedule_preview(
            spec=schedule.cron_expression or None,
            tz=schedule.timezone,
            bounds=schedule.bounds,
            stopped_reason=schedule.stopped_reason,
            after=after,
            count=data["count"],
            rules=[preview.planned_skips_rule(schedule_planned_skips(schedule))],
        )
        if schedule.run_at is not None:
            description = f"Once, at {preview.in_zone(schedule.run_at, schedule.timezone)}"
        else:
            description = cron.describe(schedule.cron_expression)
        return {
            "scheduleId": schedule.id,
            "cron": schedule.cron_expression,
            "timezone": schedule.timezone,
            "description": description,
            "nextRuns": [clock.iso_z(r) for r in result.runs],
            # With jitterSeconds, when each run will start (nextRuns stay the nominal
            # occurrences, as scheduledFor does); the same instants without jitter.
            "jitterSeconds": schedule.jitter_seconds,
            "fireTimes": [clock.iso_z(schedule.fire_at_for(r)) for r in result.runs],
            "stoppedReason": result.stopped_reason or None,
        } | _preview_payload(
            runs=result.runs,
            skipped=result.skipped,
            zones=[schedule.timezone],
            viewer_tz=viewer_tz,
            since=after,
        )


# --- Schedules CRUD, pause/resume, events and jobs (SPEC §6) ----------------------------------


class ScheduleFilter(filters.FilterSet):
    agentId = filters.UUIDFilter(field_name="agent_id")
    scriptId = filters.UUIDFilter(field_name="script_id")
    # Strict: `?enabled=maybe` is a 400, not silently "no filter".
    enabled = filters.TypedChoiceFilter(
        choices=[("true", "true"), ("false", "false")], coerce=lambda value: value == "true"
    )
    lastRunStatus = filters.ChoiceFilter(field_name="last_run_status", choices=RunStatus.choices)

    class Meta:
        model = Schedule
        fields: list[str] = []


def _camel_validation_error(exc: DjangoValidationError) -> serializers.ValidationError:
    """A model-level ValidationError (full_clean in a service) as a 400 keyed like the API."""
    if hasattr(exc, "error_dict"):
        names = {"script": "scriptId", "agent": "agentId", "calendars": "calendarIds"}
        return serializers.ValidationError(
            {names.get(k, camel(k)): v for k, v in exc.message_dict.items()}
        )
    return serializers.ValidationError({"detail": exc.messages})


@extend_schema_view(
    list=extend_schema(summary="List schedules", parameters=[]),
    retrieve=extend_schema(summary="A schedule"),
    create=extend_schema(summary="Create a schedule; nextRunAt is computed"),
    update=extend_schema(
        summary="Replace a schedule; nextRunAt is recomputed if the timing changed"
    ),
    partial_update=extend_schema(summary="Edit a schedule"),
    destroy=extend_schema(summary="Delete a schedule (its jobs stay, as history)"),
)
class ScheduleViewSet(OrganizationContextMixin, OrganizationApiMixin, viewsets.ModelViewSet):
    serializer_class = ScheduleSerializer
    filterset_class = ScheduleFilter
    required_roles = {"pause": Role.OPERATOR, "resume": Role.OPERATOR}

    def get_queryset(self):
        # calendarIds: the serializer reads the page's in one query (load_calendar_ids).
        return scope_queryset_for_request(Schedule.objects.all(), self.request).order_by(
            "name", "id"
        )

    def perform_create(self, serializer):
        now = clock.control_plane_now()
        try:
            serializer.instance = services.schedule_create(
                now=now,
                actor=actor_from_request(self.request),
                organization=serializer.context["organization"],
                **serializer.validated_data,
            )
        except DjangoValidationError as exc:
            raise _camel_validation_error(exc) from None

    def perform_update(self, serializer):
        now = clock.control_plane_now()
        try:
            serializer.instance = services.schedule_update(
                schedule=serializer.instance,
                now=now,
                actor=actor_from_request(self.request),
                **serializer.validated_data,
            )
        except DjangoValidationError as exc:
            raise _camel_validation_error(exc) from None

    def perform_destroy(self, instance):
        services.schedule_delete(
            schedule=instance, now=clock.control_plane_now(), actor=actor_from_request(self.request)
        )

    @extend_schema(
        summary="Pause: disable with an optional note (recorded as a `paused` event)",
        request=PauseSerializer,
        responses=ScheduleSerializer,
    )
    def pause(self, request, pk=None):
        schedule = self.get_object()
        body = PauseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        schedule = services.schedule_pause(
            schedule=schedule,
            now=clock.control_plane_now(),
            note=body.validated_data["note"],
            actor=actor_from_request(request),
        )
        return Response(self.get_serializer(schedule).data)

    @extend_schema(
        summary="Resume: enable; the next run is the first occurrence from now",
        request=None,
        responses=ScheduleSerializer,
    )
    def resume(self, request, pk=None):
        schedule = services.schedule_resume(
            schedule=self.get_object(),
            now=clock.control_plane_now(),
            actor=actor_from_request(request),
        )
        return Response(self.get_serializer(schedule).data)


@extend_schema_view(
    list=extend_schema(summary="List calendars of excluded dates"),
    retrieve=extend_schema(summary="A calendar"),
    create=extend_schema(summary="Create a calendar"),
    update=extend_schema(summary="Replace a calendar"),
    partial_update=extend_schema(summary="Edit a calendar"),
    destroy=extend_schema(summary="Delete a calendar (its schedules no longer skip its dates)"),
)
class CalendarViewSet(OrganizationContextMixin, OrganizationApiMixin, viewsets.ModelViewSet):
    """Organization calendars of excluded dates (SPEC §14): holidays, month-end freezes."""

    serializer_class = CalendarSerializer

    def get_queryset(self):
        return scope_queryset_for_request(Calendar.objects.all(), self.request).order_by(
            "name", "id"
        )

    def perform_create(self, serializer):
        try:
            serializer.instance = services.calendar_create(
                organization=serializer.context["organization"], **serializer.validated_data
            )
        except DjangoValidationError as exc:
            raise _camel_validation_error(exc) from None

    def perform_update(self, serializer):
        try:
            serializer.instance = services.calendar_update(
                calendar=serializer.instance, **serializer.validated_data
            )
        except DjangoValidationError as exc:
            raise _camel_validation_error(exc) from None


class _ScheduleChildListView(OrganizationApiMixin, generics.ListAPIView):
    """A page of one schedule's children; another organization's schedule is a 404."""

    def schedule(self) -> Schedule:
        return get_object_or_404(
            scope_queryset_for_request(Schedule.objects.all(), self.request), pk=self.kwargs["pk"]
        )


@extend_schema(summary="A schedule's history of decisions, newest first")
class ScheduleEventListView(_ScheduleChildListView):
    queryset = ScheduleEvent.objects.none()  # for the schema; get_queryset answers requests
    serializer_class = ScheduleEventSerializer

    def get_queryset(self):
        return ScheduleEvent.objects.filter(schedule=self.schedule()).order_by("-created_at", "-id")


_BACKFILL_REFUSED = inline_serializer(
    "BackfillRefused",
    {
        "reason": serializers.CharField(help_text="`billing_blocked`."),
        "detail": serializers.CharField(),
    },
)


class BackfillView(OrganizationApiMixin, APIView):
    """POST /api/schedules/{id}/backfill — enqueue each occurrence of a past range once (SPEC
    §14). Running needs the role of a forced run (operator); a dry run, like the execute
    endpoint's, is open to viewers."""

    required_roles = {"post": Role.VIEWER}  # operator unless dryRun: checked in post

    @extend_schema(
        summary="Backfill: enqueue each occurrence of [from, to] once, as held jobs",
        request=BackfillRequestSerializer,
        responses={
            200: BackfillResponseSerializer,
            409: OpenApiResponse(
                _BACKFILL_REFUSED, description="Billing blocks the organization: nothing written."
            ),
        },
    )
    def post(self, request, pk):
        body = BackfillRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        needed = Role.VIEWER if data["dryRun"] else Role.OPERATOR
        if not request.user.is_superuser and not role_at_least(request_role(request), needed):
            raise PermissionDenied("Your role in this organization does not allow this action.")
        schedule = get_object_or_404(
            scope_queryset_for_request(Schedule.objects.select_related("script", "agent"), request),
            pk=pk,
        )
        try:
            result = services.schedule_backfill(
                schedule=schedule,
                start=data["from"],
                end=data["to"],
                now=clock.control_plane_now(),
                dry_run=data["dryRun"],
                actor=actor_from_request(request),
            )
        except DjangoValidationError as exc:
            raise _camel_validation_error(exc) from None
        except services.BackfillRefused as refused:
            return Response(
                {"reason": str(refused.skip.reason), "detail": refused.skip.detail},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(backfill_json(schedule.id, result))


@extend_schema_view(
    list=extend_schema(summary="List alert channels"),
    retrieve=extend_schema(summary="An alert channel (its secret is never returned)"),
    create=extend_schema(summary="Create an alert channel"),
    update=extend_schema(summary="Replace an alert channel"),
    partial_update=extend_schema(summary="Edit an alert channel"),
    destroy=extend_schema(summary="Delete an alert channel and its deliveries"),
)
class AlertChannelViewSet(OrganizationContextMixin, OrganizationApiMixin, viewsets.ModelViewSet):
    """Where an organization's alerts go (SPEC §14): e-mail, a signed webhook, Slack."""

    serializer_class = AlertChannelSerializer
    # Channels are configuration (admin, the default for writes); a test send is an
    # operator's action, like a forced run.
    required_roles = {"test": Role.OPERATOR}

    def get_queryset(self):
        return (
            scope_queryset_for_request(AlertChannel.objects.all(), self.request)
            .prefetch_related(Prefetch("schedules", queryset=Schedule.objects.only("id")))
            .order_by("name", "id")
        )

    def _save(self, serializer, channel: AlertChannel) -> None:
        data = dict(serializer.validated_data)
        schedules = data.pop("schedules", None)
        for name, value in data.items():
            setattr(channel, name, value)
        try:
            serializer.instance = alerts.alert_channel_save(
                channel=channel,
                schedules=schedules,
                vet_target="kind" in data or "target" in data,
            )
        except DjangoValidationError as exc:
            raise _camel_validation_error(exc) from None

    def perform_create(self, serializer):
        self._save(serializer, AlertChannel(organization=serializer.context["organization"]))

    def perform_update(self, serializer):
        self._save(serializer, serializer.instance)

    @extend_schema(
        summary="Send a test alert through this channel (recorded as a delivery)",
        request=None,
        responses={202: AlertDeliverySerializer},
    )
    def test(self, request, pk=None):
        delivery = alerts.alert_send_test(channel=self.get_object(), now=clock.control_plane_now())
        return Response(AlertDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class ScheduleStatsView(OrganizationApiMixin, APIView):
    """GET /api/schedules/{id}/stats — runtime statistics over the 30 days before now (SPEC
    §14): one query for the schedule (another organization's is a 404), one for the figures."""

    required_roles = {"get": Role.VIEWER}

    @extend_schema(
        summary="Runtime statistics of the last 30 days, and a suggested max runtime",
        responses={200: ScheduleStatsSerializer},
    )
    def get(self, request, pk):
        schedule = get_object_or_404(
            scope_queryset_for_request(Schedule.objects.only("id"), request), pk=pk
        )
        figures = schedule_stats(schedule_id=schedule.id, now=clock.control_plane_now())
        return Response(stats_json(figures))
