"""Endpoints that control things (SPEC §6, §7, §10): agent start/stop, the agent-token heartbeat,
job cancel, and the watchdog. Thin: parse, scope, call agents.controllers / services / watchdog.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from agents import controllers, services
from agents.api.serializers import AgentSerializer, AgentTokenSerializer, JobSerializer
from agents.controllers import runtime_environment
from agents.models import Agent, Job
from agents.watchdog import watchdog_run
from billing.models import Role
from billing.tenancy import actor_from_request, scope_queryset_for_request
from billing.tenancy_api import OrganizationApiMixin
from config import clock
from config.api_common import ErrorSerializer
from config.cron_auth import cron_key_error

_START_FAILED = inline_serializer(
    name="AgentStartFailed",
    fields={
        "detail": serializers.CharField(),
        "code": serializers.CharField(default="agent_start_failed"),
    },
)


def _agent_response(agent: Agent) -> Response:
    agent.refresh_from_db()
    return Response(AgentSerializer(agent).data)


class AgentStartView(OrganizationApiMixin, APIView):
    required_roles = {"post": Role.OPERATOR}

    @extend_schema(
        summary="Start an agent through its controller (local spawn or signed webhook)",
        description="Idempotent: an online agent, or one being started, is left alone. "
        "`manual` agents cannot be started, nor `local` ones where AGENT_LOCAL_CONTROLLER is off, "
        "nor webhook ones whose URL is refused (409); a failing controller is 502.",
        request=None,
        responses={
            200: AgentSerializer,
            409: OpenApiResponse(
                _START_FAILED,
                description="Manual controller, disabled agent, local controller not allowed "
                "here, or webhook URL refused.",
            ),
            502: OpenApiResponse(_START_FAILED, description="The controller failed."),
        },
        tags=["agents"],
    )
    def post(self, request, pk):
        agent = get_object_or_404(scope_queryset_for_request(Agent.objects.all(), request), pk=pk)
        try:
            controllers.agent_start(agent=agent, now=clock.control_plane_now())
        except controllers.AgentStartFailed as exc:
            code = 409 if exc.code == "not_startable" else 502
            return Response({"detail": str(exc), "code": "agent_start_failed"}, status=code)
        return _agent_response(agent)


class AgentStopView(OrganizationApiMixin, APIView):
    required_roles = {"post": Role.OPERATOR}

    @extend_schema(
        summary="Stop an agent through its controller",
        description="The agent finishes its running jobs, then marks itself `stopped`.",
        request=None,
        responses={200: AgentSerializer, 409: ErrorSerializer},
        tags=["agents"],
    )
    def post(self, request, pk):
        agent = get_object_or_404(scope_queryset_for_request(Agent.objects.all(), request), pk=pk)
        try:
            controllers.agent_stop(agent=agent, now=clock.control_plane_now())
        except controllers.AgentStopFailed as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return _agent_response(agent)


class AgentTokenRotateView(OrganizationApiMixin, APIView):
    required_roles = {"post": Role.ADMIN}

    @extend_schema(
        summary="Issue the agent a new token (shown once)",
        description="The previous token stops working at once, for the agent API and for the "
        "agent's broker user. The answer is the only place the new token and broker URL are "
        "ever shown: give them to the agent's runtime as MIMIC_AGENT_TOKEN and MIMIC_BROKER_URL.",
        request=None,
        responses={200: AgentTokenSerializer},
        tags=["agents"],
    )
    def post(self, request, pk):
        agent = get_object_or_404(scope_queryset_for_request(Agent.objects.all(), request), pk=pk)
        token = services.agent_token_issue(
            agent_id=agent.id, actor=actor_from_request(request), now=clock.control_plane_now()
        )
        response = Response(AgentTokenSerializer(runtime_environment(agent, token)).data)
        response["Cache-Control"] = "no-store"
        return response


class JobCancelView(OrganizationApiMixin, APIView):
    required_roles = {"post": Role.OPERATOR}

    @extend_schema(
        summary="Cancel a job",
        description="A pending, queued or retrying job is canceled at once (200). A running job "
        "gets `cancelRequestedAt` (202): its runner kills the script's whole process tree on "
        "its next heartbeat and marks it `canceled`. A finished job cannot be canceled (409).",
        request=None,
        responses={
            200: JobSerializer,
            202: JobSerializer,
            409: OpenApiResponse(ErrorSerializer, description="The job already finished."),
        },
        tags=["jobs"],
    )
    def post(self, request, pk):
        job = get_object_or_404(scope_queryset_for_request(Job.objects.all(), request), pk=pk)
        try:
            result = services.job_cancel(
                job=job, now=clock.control_plane_now(), actor=actor_from_request(request)
            )
        except services.JobNotCancelable as exc:
            return Response(
                {"detail": str(exc), "status": exc.status}, status=status.HTTP_409_CONFLICT
            )
        job.refresh_from_db()
        code = 200 if result is services.CancelResult.CANCELED else 202
        return Response(JobSerializer(job).data, status=code)


_WATCHDOG_REPORT = inline_serializer(
    name="WatchdogReport",
    fields={
        name: serializers.ListField(child=serializers.UUIDField())
        for name in ("timedOut", "lost", "republished", "expired", "startDeadlineExceeded")
    },
)

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def _dry_run(request) -> bool | None:
    value = request.query_params.get("dryRun")
    if value is None and isinstance(request.data, dict):
        value = request.data.get("dryRun")
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


class JobWatchdogView(APIView):
    """For an external cron: the cron key, not a user."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Run the stale-job watchdog",
        description="Header `x-cron-key: <CRON_SECRET>` or `Authorization: Bearer <CRON_SECRET>`. "
        "Running past deadline + grace -> timedOut; running with a stale heartbeat -> lost "
        "(retried while attempts remain); pending never published and due retries -> "
        "republished; queued past the pickup timeout -> expired (failed, agent_unavailable); "
        "pending/queued, never started, past the start deadline -> startDeadlineExceeded "
        "(canceled, start_deadline_exceeded). "
        "Lists of job ids. `dryRun` (query or body) reports without changing anything.",
        parameters=[OpenApiParameter("dryRun", OpenApiTypes.BOOL, required=False)],
        request=inline_serializer(
            name="WatchdogRequest", fields={"dryRun": serializers.BooleanField(required=False)}
        ),
        responses={
            200: _WATCHDOG_REPORT,
            400: ErrorSerializer,
            401: ErrorSerializer,
            503: OpenApiResponse(ErrorSerializer, description="CRON_SECRET is not configured."),
        },
        auth=[],
        tags=["jobs"],
    )
    def post(self, request):
        error = cron_key_error(request)
        if error is not None:
            return error
        dry_run = _dry_run(request)
        if dry_run is None:
            return Response({"dryRun": ["Must be a boolean."]}, status=400)
        return Response(watchdog_run(now=clock.control_plane_now(), dry_run=dry_run))
