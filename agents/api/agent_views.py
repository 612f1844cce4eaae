"""The agent API (SPEC §7): the control plane's side of what an agent runtime calls.

`Authorization: Agent <token>`; a token opens only its own agent's paths — a wrong or another
agent's token is 401, another agent's job is 404. Every timestamp that decides anything is the
control plane's (`now` read once here, where the request enters); the agent sends none.

    POST /api/agents/{id}/heartbeat            {"running": [{"jobId", "attempt"}…]}
    POST /api/agents/{id}/jobs/{jobId}/claim   -> the script, variables and declared secrets
    POST /api/agents/{id}/jobs/{jobId}/log     {"attempt", "chunk"}
    POST /api/agents/{id}/jobs/{jobId}/finish  {"attempt", "exitCode", "timedOut", …}
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from agents import selectors, services
from agents.models import Agent, ErrorKind, JobStatus
from agents.outcomes import KILLED_REASONS, AttemptReport, Outcome
from agents.readiness import AgentState, effective_status
from config import clock
from config.api_common import ErrorSerializer
from config.clock import iso_z
from vault.redaction import Redactor
from vault.selectors import (
    VaultKeysMissing,
    VaultUnreadable,
    vault_decrypt_for_job,
    vault_values_for_redaction,
)

# What one log call may carry; the runtime sends about a second of output at a time.
LOG_CHUNK_MAX_CHARS = 512 * 1024
AGENT_TAG = ["agent API"]


class AgentTokenView(APIView):
    """Authenticated by the agent's own token for the agent named in the path."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def agent(self, request, pk) -> Agent:
        auth = request.headers.get("Authorization", "")
        token = auth[6:].strip() if auth[:6].lower() == "agent " else ""
        agent = selectors.agent_for_token(agent_id=pk, token=token)
        if agent is None:  # unknown agent and wrong token look the same
            raise exceptions.AuthenticationFailed("Missing or invalid agent token.")
        return agent

    def get_authenticate_header(self, request):
        return "Agent"


# ------------------------------------------------------------------------------ heartbeat


class _RunningSerializer(serializers.Serializer):
    jobId = serializers.UUIDField()  # noqa: N815 — the wire name
    attempt = serializers.IntegerField(min_value=1, max_value=32767)


class HeartbeatRequestSerializer(serializers.Serializer):
    # ListSerializer takes max_length (DRF 3.14+); the stubs' many=True overload does not.
    running = _RunningSerializer(many=True, required=False, default=list, max_length=1000)  # type: ignore[call-arg]
    hostname = serializers.CharField(required=False, allow_blank=True, max_length=200)
    stopped = serializers.BooleanField(required=False, default=False)


HEARTBEAT_ANSWER = inline_serializer(
    name="AgentHeartbeatAnswer",
    fields={
        "status": serializers.CharField(),
        "cancel": serializers.ListField(child=serializers.UUIDField()),
        "drop": serializers.ListField(child=serializers.UUIDField()),
        "stop": serializers.BooleanField(),
        "fenceAfterSeconds": serializers.FloatField(),
        "heartbeatSeconds": serializers.FloatField(),
        "killGraceSeconds": serializers.FloatField(),
        "capacity": serializers.IntegerField(),
    },
)


def fence_after_seconds() -> float:
    """How long a runtime may go without a confirmed heartbeat before it must kill its scripts:
    the lost threshold minus a heartbeat interval and the kill grace (SPEC §7 fencing), so the
    first run is dead before the watchdog may declare it lost and retry it."""
    return max(
        1.0,
        settings.AGENT_ONLINE_SECONDS
        - settings.AGENT_HEARTBEAT_SECONDS
        - settings.JOB_KILL_GRACE_SECONDS,
    )


class AgentHeartbeatView(AgentTokenView):
    @extend_schema(
        summary="Agent heartbeat (agent token)",
        description="`Authorization: Agent <token>`. Marks the agent online and the reported "
        "attempts alive. Answers which to `cancel` (a cancel was requested), which to `drop` "
        "(no longer this runner's attempt: kill, report nothing), whether to `stop`, and the "
        "intervals the runtime works with. `stopped: true` says the runtime is exiting.",
        request=HeartbeatRequestSerializer,
        responses={200: HEARTBEAT_ANSWER, 400: ErrorSerializer, 401: ErrorSerializer},
        auth=[],
        tags=AGENT_TAG,
    )
    def post(self, request, pk):
        agent = self.agent(request, pk)
        body = HeartbeatRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        now = clock.control_plane_now()
        services.agent_heartbeat(
            agent_id=agent.id, now=now, hostname=data.get("hostname"), stopped=data["stopped"]
        )
        answer = services.jobs_heartbeat(
            agent_id=agent.id,
            running=[(item["jobId"], item["attempt"]) for item in data["running"]],
            now=now,
        )
        agent.refresh_from_db(fields=["status", "last_heartbeat_at", "stop_requested_at"])
        state = effective_status(
            AgentState.from_agent(agent), now=now, online_seconds=settings.AGENT_ONLINE_SECONDS
        )
        return Response(
            {
                "status": state,
                "cancel": [str(i) for i in answer.cancel],
                "drop": [str(i) for i in answer.drop],
                "stop": agent.stop_requested_at is not None or state == "disabled",
                "fenceAfterSeconds": fence_after_seconds(),
                "heartbeatSeconds": float(settings.AGENT_HEARTBEAT_SECONDS),
                "killGraceSeconds": float(settings.JOB_KILL_GRACE_SECONDS),
                "capacity": agent.capacity,
            }
        )


# ------------------------------------------------------------------------------ claim


class ClaimRequestSerializer(serializers.Serializer):
    worker = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


CLAIM_ANSWER = inline_serializer(
    name="AgentClaim",
    fields={
        "job": inline_serializer(
            name="AgentClaimJob",
            fields={
                "id": serializers.UUIDField(),
                "attempt": serializers.IntegerField(),
                "maxAttempts": serializers.IntegerField(),
                "scheduledFor": serializers.DateTimeField(),
                "deadline": serializers.DateTimeField(),
                "maxRuntimeSeconds": serializers.IntegerField(),
                "trigger": serializers.CharField(),
                "scheduleId": serializers.UUIDField(allow_null=True),
            },
        ),
        "script": inline_serializer(
            name="AgentClaimScript",
            fields={
                "runtime": serializers.CharField(),
                "source": serializers.CharField(),
                "version": serializers.IntegerField(),
            },
        ),
        "variables": serializers.DictField(),
        "secrets": serializers.DictField(child=serializers.CharField()),
    },
)


def _conflict(detail: str, code: str) -> Response:
    return Response({"detail": detail, "code": code}, status=status.HTTP_409_CONFLICT)


class JobClaimView(AgentTokenView):
    @extend_schema(
        summary="Claim a job for one attempt (agent token)",
        description="The compare-and-swap of SPEC §7: `queued|retrying` -> `running`, this "
        "agent's job only. The answer carries the script, the variables and the job's declared "
        "vault secrets, decrypted for this one response. 409: not claimable (already claimed, "
        "canceled, a retry not yet due, past its start deadline — then canceled —, a declared secret "
        "missing) — drop the message.",
        request=ClaimRequestSerializer,
        responses={
            200: CLAIM_ANSWER,
            401: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
        },
        auth=[],
        tags=AGENT_TAG,
    )
    def post(self, request, pk, job_id):
        agent = self.agent(request, pk)
        body = ClaimRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        now = clock.control_plane_now()
        job = services.job_claim(
            job_id=job_id,
            agent_id=agent.id,
            now=now,
            hostname=body.validated_data["worker"],
            max_runtime_cap_seconds=settings.AGENT_MAX_RUNTIME_SECONDS,
        )
        if job is services.ClaimRefused.NOT_FOUND:
            raise exceptions.NotFound()
        if job is services.ClaimRefused.START_DEADLINE_EXCEEDED:
            return _conflict(
                "The job could not start by its start deadline: canceled, never run.",
                "start_deadline_exceeded",
            )
        if job is services.ClaimRefused.NOT_CLAIMABLE:
            return _conflict("The job is not claimable (claimed, finished or not due).", "taken")
        try:
            secrets = vault_decrypt_for_job(
                organization_id=job.organization_id, keys=list(job.vault_keys or [])
            )
        except (VaultKeysMissing, VaultUnreadable) as exc:
            _fail_claimed(job, now=now, exc=exc)
            return _conflict(str(exc), "vault")
        response = Response(
            {
                "job": {
                    "id": str(job.id),
                    "attempt": job.attempt,
                    "maxAttempts": job.max_attempts,
                    "scheduledFor": iso_z(job.scheduled_for),
                    "deadline": iso_z(job.deadline_at),
                    "maxRuntimeSeconds": int((job.deadline_at - job.started_at).total_seconds()),
                    "trigger": job.trigger,
                    "scheduleId": str(job.schedule_id) if job.schedule_id else None,
                },
                "script": {
                    "runtime": job.code.runtime,
                    "source": job.code.source,
                    "version": job.script_version,
                },
                "variables": job.variables or {},
                "secrets": secrets,
            }
        )
        response["Cache-Control"] = "no-store"
        return response


def _fail_claimed(job, *, now, exc: Exception) -> None:
    """A declared secret is gone (deleted after dispatch) or unreadable: the job fails clearly
    here, on the control plane, and the agent never sees a partial set of secrets."""
    if isinstance(exc, VaultKeysMissing):
        outcome = Outcome(
            status=JobStatus.FAILED,
            error_kind=ErrorKind.VAULT_KEY_MISSING,
            error_message=f"Vault key(s) missing at run time: {', '.join(exc.missing)} "
            "(deleted after dispatch?); not retried.",
        )
    else:
        outcome = Outcome(
            status=JobStatus.FAILED,
            error_kind=ErrorKind.VAULT_UNREADABLE,
            error_message=f"{exc}; not retried.",
        )
    services.job_finish_attempt(job=job, attempt=job.attempt, now=now, outcome=outcome, log_text="")


# ------------------------------------------------------------------------------ log


class LogRequestSerializer(serializers.Serializer):
    attempt = serializers.IntegerField(min_value=1, max_value=32767)
    chunk = serializers.CharField(
        allow_blank=True, trim_whitespace=False, max_length=LOG_CHUNK_MAX_CHARS
    )


def _redactor_for(organization_id, keys: list[str]) -> Redactor:
    return Redactor(vault_values_for_redaction(organization_id=organization_id, keys=keys))


class JobLogView(AgentTokenView):
    @extend_schema(
        summary="Append to a running job's log (agent token)",
        description="The chunk is redacted (the job's declared secrets, in every encoding) and "
        "appended; the stored log is bounded to its first and last halves. 409: the attempt "
        "is no longer running on this agent — stop sending.",
        request=LogRequestSerializer,
        responses={204: None, 401: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
        auth=[],
        tags=AGENT_TAG,
    )
    def post(self, request, pk, job_id):
        agent = self.agent(request, pk)
        body = LogRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            appended = services.job_log_append(
                job_id=job_id,
                agent_id=agent.id,
                attempt=body.validated_data["attempt"],
                chunk=body.validated_data["chunk"],
                redact=_redactor_for,
                max_chars=settings.JOB_LOG_MAX_BYTES,
            )
        except services.NotThisAgents:
            raise exceptions.NotFound() from None
        if not appended:
            return _conflict("The attempt is no longer running on this agent.", "superseded")
        return Response(status=status.HTTP_204_NO_CONTENT)


# ------------------------------------------------------------------------------ finish


class FinishRequestSerializer(serializers.Serializer):
    attempt = serializers.IntegerField(min_value=1, max_value=32767)
    exitCode = serializers.IntegerField(allow_null=True, min_value=-255, max_value=255)  # noqa: N815
    timedOut = serializers.BooleanField(required=False, default=False)  # noqa: N815
    killed = serializers.ChoiceField(choices=KILLED_REASONS, required=False, allow_blank=True)
    error = serializers.CharField(required=False, allow_blank=True, max_length=4000)


FINISH_ANSWER = inline_serializer(
    name="AgentFinishAnswer",
    fields={"status": serializers.CharField()},
)


class JobFinishView(AgentTokenView):
    @extend_schema(
        summary="Report how an attempt ended (agent token)",
        description="The agent reports facts (exit code, whether it enforced the deadline or "
        "killed the script, a start error); the control plane decides the outcome: exit 0 "
        "succeeded, 75 transient (retried while attempts remain), 77 credential rejected, "
        "anything else a permanent failure. 409: the attempt was decided already.",
        request=FinishRequestSerializer,
        responses={
            200: FINISH_ANSWER,
            401: ErrorSerializer,
            404: ErrorSerializer,
            409: OpenApiResponse(ErrorSerializer, description="Decided already."),
        },
        auth=[],
        tags=AGENT_TAG,
    )
    def post(self, request, pk, job_id):
        agent = self.agent(request, pk)
        body = FinishRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        now = clock.control_plane_now()
        try:
            outcome = services.job_report_finish(
                job_id=job_id,
                agent_id=agent.id,
                attempt=data["attempt"],
                report=AttemptReport(
                    exit_code=data["exitCode"],
                    timed_out=data["timedOut"],
                    killed=data.get("killed", ""),
                    error=data.get("error", ""),
                ),
                now=now,
                redact=_redactor_for,
            )
        except services.NotThisAgents:
            raise exceptions.NotFound() from None
        if outcome is None:
            return _conflict("The attempt was already decided.", "superseded")
        return Response({"status": outcome.status})
