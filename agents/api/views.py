"""CRUD for agents and scripts, read-only jobs with their logs (SPEC §6).

Agent start/stop/heartbeat and job cancel live in agents/api/control_views.py.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, generics, mixins, viewsets
from rest_framework.response import Response

from agents import selectors, services
from agents.api.serializers import (
    AgentCreatedSerializer,
    AgentSerializer,
    JobLogSerializer,
    JobSerializer,
    ScriptSerializer,
)
from agents.controllers import runtime_environment
from agents.joblog import parse_cursor
from agents.models import Agent, Job, JobAttempt, JobStatus, Script, Trigger
from billing.tenancy import scope_queryset_for_request
from billing.tenancy_api import OrganizationApiMixin, OrganizationContextMixin

IN_USE = OpenApiResponse(description="In use by schedules: delete or re-point them first.")


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "In use."
    default_code = "in_use"


@extend_schema_view(
    list=extend_schema(summary="List agents"),
    retrieve=extend_schema(summary="An agent"),
    create=extend_schema(
        summary="Create an agent; the response carries its token, once",
        request=AgentSerializer,
        responses={201: AgentCreatedSerializer},
    ),
    update=extend_schema(summary="Replace an agent"),
    partial_update=extend_schema(summary="Edit an agent"),
    destroy=extend_schema(summary="Delete an agent", responses={204: None, 409: IN_USE}),
)
class AgentViewSet(OrganizationContextMixin, OrganizationApiMixin, viewsets.ModelViewSet):
    serializer_class = AgentSerializer

    def get_queryset(self):
        return scope_queryset_for_request(Agent.objects.all(), self.request).order_by("name", "id")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        agent, token = services.agent_create(
            organization=serializer.context["organization"], **serializer.validated_data
        )
        # Shown in this response only.
        agent.token, agent.runtime_environment = token, runtime_environment(agent, token)
        return Response(AgentCreatedSerializer(agent, context=serializer.context).data, status=201)

    def perform_update(self, serializer):
        serializer.instance = services.agent_update(
            agent=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        try:
            services.agent_delete(agent=instance)
        except services.InUse as exc:
            raise Conflict(str(exc)) from None


@extend_schema_view(
    list=extend_schema(summary="List scripts"),
    retrieve=extend_schema(summary="A script"),
    create=extend_schema(summary="Create a script (version 1)"),
    update=extend_schema(summary="Replace a script; a new source or runtime bumps the version"),
    partial_update=extend_schema(
        summary="Edit a script; a new source or runtime bumps the version"
    ),
    destroy=extend_schema(summary="Delete a script", responses={204: None, 409: IN_USE}),
)
class ScriptViewSet(OrganizationContextMixin, OrganizationApiMixin, viewsets.ModelViewSet):
    serializer_class = ScriptSerializer

    def get_queryset(self):
        return scope_queryset_for_request(Script.objects.all(), self.request).order_by("name", "id")

    def perform_create(self, serializer):
        serializer.instance = services.script_create(
            organization=serializer.context["organization"], **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.script_update(
            script=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        try:
            services.script_delete(script=instance)
        except services.InUse as exc:
            raise Conflict(str(exc)) from None


class JobFilter(filters.FilterSet):
    scheduleId = filters.UUIDFilter(field_name="schedule_id")
    agentId = filters.UUIDFilter(field_name="agent_id")
    scriptId = filters.UUIDFilter(field_name="script_id")
    status = filters.ChoiceFilter(choices=JobStatus.choices)
    trigger = filters.ChoiceFilter(choices=Trigger.choices)

    class Meta:
        model = Job
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(summary="List jobs, newest first"),
    retrieve=extend_schema(summary="A job"),
)
class JobViewSet(
    OrganizationApiMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = JobSerializer
    filterset_class = JobFilter

    def get_queryset(self):
        return scope_queryset_for_request(selectors.job_list(), self.request)

    @extend_schema(
        summary="A job's log, growing while it runs, and every attempt's",
        description="The live log is read in pieces: the first call (without `after`) answers "
        "the log from its start; pass the answer's `next` as `after` to get only what was "
        "written since. `complete` is true once the job is finished and everything was "
        "returned. Secrets are redacted, even one printed across two pieces. A retry's "
        "output follows a line naming its attempt.",
        parameters=[
            OpenApiParameter(
                "after",
                str,
                description="The `next` of the previous answer (an opaque cursor).",
                required=False,
            )
        ],
        responses={200: JobLogSerializer, 400: OpenApiResponse(description="A bad `after`.")},
    )
    def log(self, request, pk=None):
        after = request.query_params.get("after")
        try:
            position = None if after is None else parse_cursor(after)
        except ValueError:
            raise exceptions.ValidationError(
                {"after": ["Not a cursor: pass the `next` of a previous answer."]}
            ) from None
        queryset = scope_queryset_for_request(
            Job.objects.only("id", "status", "log", "organization_id"), request
        ).prefetch_related(Prefetch("attempts", queryset=JobAttempt.objects.order_by("number")))
        job = get_object_or_404(queryset, pk=pk)
        self.check_object_permissions(request, job)
        since = selectors.job_log_since(job, position)
        data = {"id": job.id, "log": since.log, "next": since.next, "complete": since.complete}
        return Response(JobLogSerializer({**data, "attempts": job.attempts.all()}).data)


@extend_schema(summary="A schedule's jobs, newest first")
class ScheduleJobListView(OrganizationApiMixin, generics.ListAPIView):
    """GET /api/schedules/{id}/jobs/ — the jobs list of one schedule; another organization's
    schedule (or none) is a 404. Served here because the rows are jobs and JobSerializer is
    their one shape; the schedule is found through Job's own foreign key, as imports flow
    schedules → agents and never back."""

    queryset = Job.objects.none()  # for the schema; get_queryset answers requests
    serializer_class = JobSerializer

    def get_queryset(self):
        schedules = Job._meta.get_field("schedule").related_model._default_manager.all()
        schedule = get_object_or_404(
            scope_queryset_for_request(schedules, self.request), pk=self.kwargs["pk"]
        )
        return selectors.job_list().filter(schedule=schedule)
