"""Staff UI for agents, scripts and jobs (SPEC §11).

Every admin here is organization-scoped (billing.tenancy_admin): lists, forms' foreign-key
choices, filters, autocompletes and counts show only the caller's organizations. Writes go
through the same services as the API: scripts bump their version, agents get a token once,
jobs are read-only and can only be canceled, agents are started and stopped by their controller.
"""

from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import Http404, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from agents import controllers, selectors, services
from agents.controller_policy import SECRET_CONFIG_KEYS, controller_errors
from agents.joblog import parse_cursor
from agents.models import (
    ACTIVE_JOB_STATUSES,
    FINISHED_JOB_STATUSES,
    PREWARM_MAX_MINUTES,
    Agent,
    Job,
    JobAttempt,
    Script,
)
from agents.readiness import AgentState, effective_status
from billing.models import AuditObjectType
from billing.selectors import audit_entries_of
from billing.tenancy import actor_from_request
from billing.tenancy_admin import OrgScopedAdminMixin, OrgScopedInlineMixin, OrgScopedRelatedFilter
from config import clock
from config.admin_common import (
    ReadOnlyAdminMixin,
    audit_rows_html,
    column,
    posted_from_change_page,
    redirect_to_change_page,
    relative,
    status_badge,
    utc_text,
)

AUDIT_RECENT = 10  # audit entries shown on an agent's page


def _effective_status(agent: Agent, now) -> str:
    return effective_status(
        AgentState.from_agent(agent), now=now, online_seconds=settings.AGENT_ONLINE_SECONDS
    )


def _changed_fields(form, obj) -> dict:
    """The model fields the form changed, as values for a service call."""
    return {name: getattr(obj, name) for name in form.changed_data if name != "organization"}


# --------------------------------------------------------------------------------- agents


class AgentAdminForm(forms.ModelForm):
    controller_config = forms.JSONField(
        required=False,
        initial=dict,
        help_text='webhook: {"url": "https://…", "secret": "…"}. The secret is write-only: '
        "it is never shown here, and leaving it out keeps the current one.",
    )
    # Optional in the form (empty = off), where the model field is always a number.
    prewarm_minutes = forms.IntegerField(
        required=False,
        initial=0,
        min_value=0,
        max_value=PREWARM_MAX_MINUTES,
        label="Pre-warm minutes",
        help_text="Start the agent (if offline, with auto-start on) this many minutes before "
        "the next run of one of its schedules. 0 = off.",
    )

    class Meta:
        model = Agent
        fields = [
            "organization",
            "name",
            "slug",
            "capacity",
            "auto_start",
            "prewarm_minutes",
            "controller",
            "controller_config",
            "timezone",
            "maintenance_windows",
        ]
        widgets = {
            "maintenance_windows": forms.Textarea(
                attrs={"rows": 4, "cols": 60, "spellcheck": "false"}
            )
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "timezone" in self.fields:
            self.fields["timezone"].required = False
            self.fields["timezone"].help_text = (
                "IANA name (e.g. Europe/Berlin; empty = UTC): the maintenance windows are read "
                "as wall time here."
            )
        if not self.is_bound:
            config = self.instance.controller_config or {}
            self.initial["controller_config"] = {
                k: v for k, v in config.items() if k not in SECRET_CONFIG_KEYS
            }

    def clean_prewarm_minutes(self):
        value = self.cleaned_data.get("prewarm_minutes")
        return 0 if value is None else value

    def clean_timezone(self):
        # Empty means the default (a form posted without the field, as before it existed).
        return self.cleaned_data.get("timezone") or "UTC"

    def clean_maintenance_windows(self):
        windows = self.cleaned_data.get("maintenance_windows")
        return [] if windows in (None, "") else windows

    def clean_controller_config(self):
        config = self.cleaned_data.get("controller_config")
        if config in (None, ""):
            config = {}
        if not isinstance(config, dict):
            raise forms.ValidationError('Give a JSON object, e.g. {"url": "https://…"}.')
        # The secret is never shown, so sending the form back without it must not erase it.
        for key in SECRET_CONFIG_KEYS & set(self.instance.controller_config or {}):
            config.setdefault(key, self.instance.controller_config[key])
        return config

    def clean(self):
        cleaned = super().clean()
        controller = cleaned.get("controller")
        chosen = {"controller", "controller_config"} & set(self.changed_data)
        if controller and chosen and "controller_config" not in self.errors:
            config = cleaned.get("controller_config") or {}
            for field, message in controller_errors(controller=controller, config=config).items():
                self.add_error(field, message)
        return cleaned


@admin.register(Agent)
class AgentAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    form = AgentAdminForm
    list_filter = ["controller", "auto_start"]
    search_fields = ["name", "slug"]
    readonly_fields = [
        "effective_status",
        "last_heartbeat",
        "start_requested_at",
        "stop_requested_at",
        "hostname",
        "created_at",
        "audit_trail",
    ]
    fieldsets = [
        (None, {"fields": ["organization", "name", "slug", "capacity"]}),
        (
            "Controller",
            {"fields": ["controller", "controller_config", "auto_start", "prewarm_minutes"]},
        ),
        (
            "Maintenance",
            {
                "fields": ["timezone", "maintenance_windows"],
                "description": "Scheduled runs that fall in a window (wall time in the agent's "
                "timezone) are skipped (agent_maintenance); so is Run now.",
            },
        ),
        (
            "State",
            {
                "fields": [
                    "effective_status",
                    "last_heartbeat",
                    "start_requested_at",
                    "stop_requested_at",
                    "hostname",
                    "created_at",
                ]
            },
        ),
    ]
    actions = ["start_agents", "stop_agents", "rotate_tokens"]
    change_form_template = "admin/agents/agent/change_form.html"

    def get_list_display(self, request):
        now = timezone.now()  # once per page: every row's status is judged at the same instant

        @column("status")
        def status(agent):
            return status_badge(_effective_status(agent, now))

        @column("last heartbeat", order="last_heartbeat_at")
        def last_heartbeat(agent):
            if agent.last_heartbeat_at is None:
                return "never"
            return format_html(
                '<span title="{}">{}</span>',
                utc_text(agent.last_heartbeat_at, seconds=True),
                relative(agent.last_heartbeat_at, now),
            )

        return ["name", "slug", status, last_heartbeat, "capacity", "auto_start", "controller"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            fieldsets.append((f"Audit trail (latest {AUDIT_RECENT})", {"fields": ["audit_trail"]}))
        return fieldsets

    @admin.display(description="changes")
    def audit_trail(self, agent):
        # One query: who rotated this agent's token… (billing.audit).
        return audit_rows_html(
            audit_entries_of(
                organization_id=agent.organization_id,
                object_type=AuditObjectType.AGENT,
                object_id=agent.pk,
                limit=AUDIT_RECENT,
            )
        )

    @admin.display(description="status")
    def effective_status(self, agent):
        return status_badge(_effective_status(agent, timezone.now()))

    @admin.display(description="last heartbeat")
    def last_heartbeat(self, agent):
        if agent.last_heartbeat_at is None:
            return "never"
        return f"{utc_text(agent.last_heartbeat_at, seconds=True)} ({relative(agent.last_heartbeat_at, timezone.now())})"

    def save_model(self, request, obj, form, change):
        if change:
            services.agent_update(agent=obj, **_changed_fields(form, obj))
            return
        fields = {name: getattr(obj, name) for name in form.cleaned_data if name != "organization"}
        agent, token = services.agent_create(organization=obj.organization, **fields)
        obj.pk, obj.token_hash, obj._state.adding = agent.pk, agent.token_hash, False
        messages.warning(
            request,
            format_html(
                "Agent token for {} (shown once, store it now): <code>{}</code>", agent.slug, token
            ),
        )

    def _control(self, request, queryset, verb: str):
        now = clock.control_plane_now()
        for agent in queryset:
            if not self.has_operate_permission(request, agent):
                messages.error(request, f"{agent}: you may not {verb} agents of this organization.")
                continue
            try:
                if verb == "start":
                    controllers.agent_start(agent=agent, now=now)
                else:
                    controllers.agent_stop(agent=agent, now=now)
            except (controllers.AgentStartFailed, controllers.AgentStopFailed) as exc:
                messages.error(request, f"{agent}: could not {verb}: {exc}")
            else:
                messages.success(request, f"{agent}: {verb} requested.")
        if posted_from_change_page(request) and len(queryset) == 1:
            return redirect_to_change_page(request, self, queryset[0])
        return None

    @admin.action(permissions=["operate"], description="Start the selected agents")
    def start_agents(self, request, queryset):
        return self._control(request, queryset, "start")

    @admin.action(permissions=["operate"], description="Stop the selected agents")
    def stop_agents(self, request, queryset):
        return self._control(request, queryset, "stop")

    @admin.action(permissions=["change"], description="Issue new tokens (shown once)")
    def rotate_tokens(self, request, queryset):
        """A new token per agent, shown on the page this POST answers — never stored, never put
        in a message (messages may travel in a cookie). The previous tokens stop working."""
        issued = []
        for agent in queryset:
            if not self.has_change_permission(request, agent):
                messages.error(request, f"{agent}: you may not issue tokens for this agent.")
                continue
            token = services.agent_token_issue(
                agent_id=agent.id, actor=actor_from_request(request), now=clock.control_plane_now()
            )
            issued.append((agent, controllers.runtime_environment(agent, token)))
        if not issued:
            return None
        response = TemplateResponse(
            request,
            "admin/agents/agent/tokens.html",
            {**self.admin_site.each_context(request), "title": "New agent tokens", "issued": issued,
             "opts": self.model._meta},
        )  # fmt: skip
        response["Cache-Control"] = "no-store"
        return response

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_operate"] = obj is not None and self.has_operate_permission(request, obj)
        context["can_rotate"] = obj is not None and self.has_change_permission(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)


# --------------------------------------------------------------------------------- scripts


class ScriptAdminForm(forms.ModelForm):
    # Kept verbatim like the API does (no stripping); browsers post CRLF, scripts want LF.
    source = forms.CharField(
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 18, "cols": 100, "spellcheck": "false", "class": "vLargeTextField"}
        ),
        help_text="Saving a new source or runtime bumps the version; jobs keep the version "
        "they ran.",
    )

    class Meta:
        model = Script
        fields = ["organization", "name", "runtime", "source"]

    def clean_source(self):
        return self.cleaned_data["source"].replace("\r\n", "\n")


@admin.register(Script)
class ScriptAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    form = ScriptAdminForm
    list_display = ["name", "runtime", "version", "updated_at"]
    list_filter = ["runtime"]
    search_fields = ["name"]
    readonly_fields = ["version", "updated_at"]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is None:
            return [f for f in fields if f not in ("version", "updated_at")]
        return fields

    def save_model(self, request, obj, form, change):
        # Through the service the API uses: a new source or runtime bumps the version.
        if change:
            updated = services.script_update(script=obj, **_changed_fields(form, obj))
            obj.version = updated.version
            return
        created = services.script_create(
            organization=obj.organization, name=obj.name, source=obj.source, runtime=obj.runtime
        )
        obj.pk, obj.version, obj._state.adding = created.pk, created.version, False


# --------------------------------------------------------------------------------- jobs


def _pre(text: str, empty: str = "(empty)"):
    return format_html('<pre class="mimic-log">{}</pre>', text) if text else empty


class JobAttemptInline(ReadOnlyAdminMixin, OrgScopedInlineMixin, admin.StackedInline):
    """Every attempt of the job, read-only, oldest first."""

    model = JobAttempt
    organization_field = "job__organization"
    extra = 0
    can_delete = False
    fields = [
        ("attempt_status", "exit_code", "error_kind"),
        ("started_at", "finished_at", "worker_hostname"),
        "error_message",
        "attempt_log",
    ]
    readonly_fields = [
        "attempt_status",
        "exit_code",
        "error_kind",
        "started_at",
        "finished_at",
        "worker_hostname",
        "error_message",
        "attempt_log",
    ]
    ordering = ["number"]

    def get_organization_id(self, obj):
        # `obj` is the parent job.
        return getattr(obj, "organization_id", None)

    @admin.display(description="status")
    def attempt_status(self, attempt):
        return status_badge(attempt.status)

    @admin.display(description="log")
    def attempt_log(self, attempt):
        return _pre(attempt.log)


@admin.register(Job)
class JobAdmin(ReadOnlyAdminMixin, OrgScopedAdminMixin, admin.ModelAdmin):
    """Jobs are history: read-only, with their bounded log and every attempt; cancel only."""

    list_display = [
        "job_ref",
        "schedule",
        "agent",
        "trigger",
        "scheduled_for",
        "job_status",
        "attempts",
        "created_at",
    ]
    list_display_links = ["job_ref"]
    list_filter = ["status", "trigger", ("agent", OrgScopedRelatedFilter)]
    list_select_related = ["schedule", "agent"]
    search_fields = ["schedule__name", "agent__name", "agent__slug"]
    inlines = [JobAttemptInline]
    actions = ["cancel_jobs"]
    change_form_template = "admin/agents/job/change_form.html"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "job_status",
                    "attempts",
                    "schedule_link",
                    "script_ref",
                    "agent",
                    "trigger",
                    "scheduled_for",
                    "retry_at",
                    "idempotency_key",
                ]
            },
        ),
        (
            "Outcome",
            {"fields": ["exit_code", "error_kind", "error_message", "log_text"]},
        ),
        (
            "Times (UTC)",
            {
                "fields": [
                    "created_at",
                    "queued_at",
                    "started_at",
                    "heartbeat_at",
                    "deadline_at",
                    "finished_at",
                    "cancel_requested_at",
                ]
            },
        ),
        (
            "Inputs (vault values are never stored on a job)",
            {"fields": ["variables_json", "vault_keys_list", "worker_hostname", "celery_task_id"]},
        ),
        ("Script source as run", {"fields": ["source_text"], "classes": ["collapse"]}),
    ]
    readonly_fields = [
        "job_status",
        "attempts",
        "schedule_link",
        "script_ref",
        "log_text",
        "variables_json",
        "vault_keys_list",
        "source_text",
    ]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name == "agents_job_changelist":
            # Lists never show the heavy text columns.
            queryset = queryset.defer("log", "variables")
        return queryset

    @admin.display(description="job", ordering="created_at")
    def job_ref(self, job):
        return str(job.id)[:8]

    @admin.display(description="status", ordering="status")
    def job_status(self, job):
        return status_badge(job.status)

    @admin.display(description="attempt")
    def attempts(self, job):
        return f"{job.attempt}/{job.max_attempts}"

    @admin.display(description="schedule")
    def schedule_link(self, job):
        if job.schedule_id is None:
            return "—"
        url = reverse("admin:schedules_schedule_change", args=[job.schedule_id])
        return format_html('<a href="{}">{}</a>', url, job.schedule)

    @admin.display(description="script")
    def script_ref(self, job):
        name = job.script.name if job.script_id and job.script else "(deleted script)"
        return f"{name}, version {job.script_version} ({job.code.runtime})"

    @admin.display(description="log (bounded, secrets redacted)")
    def log_text(self, job):
        if job.status in FINISHED_JOB_STATUSES:
            return _pre(job.log)
        # Still to run or running: the live log, followed by mimic/livelog.js until complete.
        since = selectors.job_log_since(job, None)
        return format_html(
            '<pre class="mimic-log" data-live-log="{}" data-next="{}" '
            'data-status="mimic-live-log-status">{}</pre>'
            '<p id="mimic-live-log-status" class="help">The job has not ended: its log grows '
            "here as it is written.</p>",
            reverse("admin:agents_job_log", args=[job.pk]),
            since.next,
            since.log,
        )

    def get_urls(self):
        log_url = path(
            "<path:object_id>/log/",
            self.admin_site.admin_view(self.log_view),
            name="agents_job_log",
        )
        return [log_url, *super().get_urls()]

    def log_view(self, request, object_id):
        """The live log after `?after=` as JSON (GET /api/jobs/{id}/log's answer), for the
        change page's script; jobs the user may not view are a 404."""
        job = self.get_object(request, object_id)
        if job is None or not self.has_view_permission(request, job):
            raise Http404("No such job.")
        after = request.GET.get("after")
        try:
            position = None if after is None else parse_cursor(after)
        except ValueError:
            return JsonResponse(
                {"after": ["Not a cursor: pass the `next` of a previous answer."]}, status=400
            )
        since = selectors.job_log_since(job, position)
        return JsonResponse({"log": since.log, "next": since.next, "complete": since.complete})

    @admin.display(description="variables")
    def variables_json(self, job):
        return _pre(json.dumps(job.variables, indent=2, sort_keys=True), empty="{}")

    @admin.display(description="vault keys (names)")
    def vault_keys_list(self, job):
        return ", ".join(job.vault_keys) or "—"

    @admin.display(description="source")
    def source_text(self, job):
        return _pre(job.code.source)

    @admin.action(permissions=["operate"], description="Cancel the selected jobs")
    def cancel_jobs(self, request, queryset):
        now = clock.control_plane_now()
        for job in queryset:
            ref = str(job.id)[:8]
            if not self.has_operate_permission(request, job):
                messages.error(request, f"Job {ref}: you may not cancel jobs of this organization.")
                continue
            try:
                result = services.job_cancel(job=job, now=now, actor=actor_from_request(request))
            except services.JobNotCancelable as exc:
                messages.warning(request, f"Job {ref}: {exc}")
            else:
                if result is services.CancelResult.CANCELED:
                    messages.success(request, f"Job {ref}: canceled.")
                else:
                    messages.success(
                        request, f"Job {ref}: cancel requested; its runner stops the script."
                    )
        if posted_from_change_page(request) and len(queryset) == 1:
            return redirect_to_change_page(request, self, queryset[0])
        return None

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_cancel"] = (
            obj is not None
            and obj.status in ACTIVE_JOB_STATUSES
            and self.has_operate_permission(request, obj)
        )
        return super().render_change_form(request, context, add, change, form_url, obj)
