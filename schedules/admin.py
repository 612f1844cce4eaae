"""Staff UI for schedules (SPEC §11): the page operations staff live on, at /app/schedules.

- The list: name, script, agent, the cron in words, timezone, enabled, the next run in the
  schedule's own timezone and relative to now, the last run status as a badge. No query per
  row: script and agent are joined, everything else is computed from the row.
- Actions (operator and above): run now (force), dry run (the report rendered on the page), pause
  with a note, resume; the same buttons on a schedule's page. Each calls the engine or a service.
- The form: What / When (the next five runs previewed live through /api/schedules/preview, and
  server-side on the saved schedule) / Guardrails / Inputs (variables as a JSON object, vault keys
  picked from the organization's names, missing ones flagged); recent jobs and events below.
- Everything is scoped to the caller's organizations (billing.tenancy_admin).
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from agents.selectors import job_list
from billing.models import AuditObjectType, Role
from billing.selectors import audit_entries_of
from billing.tenancy import actor_from_request, organization_ids_with_role
from billing.tenancy_admin import OrgScopedAdminMixin, OrgScopedRelatedFilter
from config import clock
from config.admin_common import (
    ReadOnlyAdminMixin,
    audit_rows_html,
    column,
    local_text,
    posted_from_change_page,
    redirect_to_change_page,
    relative,
    status_badge,
    utc_text,
)
from schedules import charts, cron, services
from schedules.admin_forms import PauseForm, ScheduleAdminForm
from schedules.api.serializers import report_json
from schedules.engine import run_tick
from schedules.models import (
    GUARDRAILS,
    WHEN_FIELDS,
    Calendar,
    Schedule,
    ScheduleEvent,
    StopReason,
)
from schedules.preview import planned_skips_rule, schedule_preview
from schedules.report import Report
from schedules.selectors import (
    schedule_planned_skips,
    schedule_recent_outcomes,
    schedule_recent_runs,
    schedule_stats,
)
from vault.models import VaultEntry
from vault.selectors import vault_key_names_for

RECENT = 10  # jobs and events shown on a schedule's page
DRY_RUN_MAX = 100  # schedules per dry run: each is evaluated twice (as the tick, and forced)
CHART_RUNS = 50  # runs in a schedule's chart
SPARKLINE_RUNS = 10  # outcomes per row of the list's sparkline

_MODEL_FIELDS = {f.name for f in Schedule._meta.get_fields()}


def describe_cron(expression: str) -> str:
    """cron.describe (memoized there), or the expression itself for one stored around
    validation."""
    try:
        return cron.describe(expression)
    except cron.CronError:
        return expression


def _reason_text(reason: str) -> str:
    """A skipped occurrence's reason as staff read it: a StopReason's label, else the code."""
    return str(StopReason(reason).label) if reason in StopReason.values else reason


def _next_run_cell(schedule: Schedule, now):
    if not schedule.enabled:
        note = schedule.paused_note
        return format_html(
            '<span class="mimic-muted">paused{}</span>', f": {note[:80]}" if note else ""
        )
    if schedule.next_run_at is None:
        if schedule.stopped_reason:
            return format_html(
                '<span class="mimic-muted">stopped: {}</span>',
                StopReason(schedule.stopped_reason).label,
            )
        return "—"
    return format_html(
        '<span class="mimic-nowrap" title="{}">{}</span><br><span class="mimic-muted">{}</span>',
        utc_text(schedule.next_run_at),
        local_text(schedule.next_run_at, schedule.timezone),
        relative(schedule.next_run_at, now),
    )


def _events_html(events) -> str:
    if not events:
        return "No events yet."
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                utc_text(e.created_at),
                status_badge(e.kind),
                e.reason or "",
                e.detail[:300],
                utc_text(e.scheduled_for) if e.scheduled_for else "",
                format_html(
                    '<a href="{}">{}</a>',
                    reverse("admin:agents_job_change", args=[e.job_id]),
                    str(e.job_id)[:8],
                )
                if e.job_id
                else "",
            )
            for e in events
        ),
    )
    return format_html(
        '<table class="mimic-table"><thead><tr><th>at</th><th>decision</th><th>reason</th>'
        "<th>detail</th><th>scheduled for</th><th>job</th></tr></thead><tbody>{}</tbody></table>",
        rows,
    )


class ScheduleChangeList(ChangeList):
    def get_results(self, request):
        """The page's rows, then their last outcomes in one query for the whole page (the
        sparkline column reads them from the row): constant queries whatever the page size."""
        super().get_results(request)
        rows = list(self.result_list)  # evaluates the page once; the template reuses it
        outcomes = schedule_recent_outcomes(schedule_ids=[s.pk for s in rows], limit=SPARKLINE_RUNS)
        for schedule in rows:
            schedule.recent_outcomes = outcomes.get(schedule.pk, [])


def _stats_html(figures) -> str:
    rate = figures.success_rate
    suggested = figures.suggested_max_runtime_minutes
    rows = [
        ("runs", figures.runs),
        ("success rate", "—" if rate is None else f"{rate:.0%}"),
        ("p50 duration", charts.format_duration(figures.p50_duration_seconds)),
        ("p95 duration", charts.format_duration(figures.p95_duration_seconds)),
        ("p50 queue wait", charts.format_duration(figures.p50_queue_wait_seconds)),
        ("suggested max runtime", "—" if suggested is None else f"{suggested} min"),
    ]
    return format_html(
        '<dl class="mimic-stats">{}</dl>',
        format_html_join("", '<dt>{}</dt><dd data-stat="{}">{}</dd>', ((k, k, v) for k, v in rows)),
    )


@admin.register(Schedule)
class ScheduleAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    form = ScheduleAdminForm
    list_filter = ["enabled", "last_run_status", ("agent", OrgScopedRelatedFilter)]
    list_select_related = ["script", "agent"]
    search_fields = ["name", "cron_expression", "script__name", "agent__name"]
    list_per_page = 100
    actions = ["run_now", "dry_run", "pause_schedules", "resume_schedules"]
    change_form_template = "admin/schedules/schedule/change_form.html"
    readonly_fields = [
        "next_five_runs",
        "next_run",
        "last_run",
        "paused",
        "vault_key_status",
        "recent_jobs",
        "recent_events",
        "audit_trail",
        "run_stats",
        "runs_chart",
    ]

    # -- the list ----------------------------------------------------------------------------
    def get_list_display(self, request):
        now = timezone.now()  # once per page: every row is "in N min" from the same instant

        @column("schedule (cron)", order="cron_expression")
        def cron_words(schedule):
            if schedule.run_at is not None:
                return format_html(
                    'once<br><span class="mimic-muted" title="{}">{}</span>',
                    utc_text(schedule.run_at),
                    local_text(schedule.run_at, schedule.timezone),
                )
            return format_html(
                '{}<br><code class="mimic-muted">{}</code>',
                describe_cron(schedule.cron_expression),
                schedule.cron_expression,
            )

        @column("next run", order="next_run_at")
        def next_run(schedule):
            return _next_run_cell(schedule, now)

        @column("last run", order="last_run_status")
        def last_run(schedule):
            badge = status_badge(schedule.last_run_status, empty="never run")
            if schedule.last_run_at is None:
                return badge
            return format_html(
                '{}<br><span class="mimic-muted" title="{}">{}</span>',
                badge,
                utc_text(schedule.last_run_at),
                relative(schedule.last_run_at, now),
            )

        @column(f"recent runs (last {SPARKLINE_RUNS})")
        def recent_runs(schedule):
            # Loaded for the whole page by ScheduleChangeList.
            return charts.outcome_sparkline(getattr(schedule, "recent_outcomes", []))

        return [
            "name",
            "script",
            "agent",
            cron_words,
            "timezone",
            "enabled",
            next_run,
            last_run,
            recent_runs,
        ]

    def get_changelist(self, request, **kwargs):
        return ScheduleChangeList

    # -- the form ----------------------------------------------------------------------------
    def get_fieldsets(self, request, obj=None):
        what = ["organization", "name", "script", "agent"]
        when = list(WHEN_FIELDS)
        if obj is not None:
            when += ["next_five_runs", "paused"]
        inputs = ["variables", "vault_keys"] + (["vault_key_status"] if obj is not None else [])
        fieldsets = [
            ("What", {"fields": what}),
            (
                "When",
                {
                    "fields": when,
                    "description": "A cron expression, or a one-time run at an instant. "
                    "The next five runs are previewed as you type, in the schedule's timezone; "
                    "start, end and remaining runs bound them.",
                },
            ),
            ("Guardrails", {"fields": list(GUARDRAILS)}),
            ("Inputs", {"fields": inputs}),
        ]
        if obj is not None:
            fieldsets += [
                ("Status", {"fields": ["next_run", "last_run"]}),
                (
                    "Runs (last 30 days)",
                    {
                        "fields": ["run_stats", "runs_chart"],
                        "description": "Durations are finished_at − started_at of finished "
                        "runs; queue wait is from dispatch to the agent's start. The suggested "
                        "max runtime is the p95 duration × 1.5, rounded up.",
                    },
                ),
                (f"Recent jobs (latest {RECENT})", {"fields": ["recent_jobs"]}),
                (f"Recent events (latest {RECENT})", {"fields": ["recent_events"]}),
                (f"Audit trail (latest {RECENT})", {"fields": ["audit_trail"]}),
            ]
        if self._hide_organization(request, obj):
            # A user with one organization to add into never sees the field (see the mixin).
            what.remove("organization")
        return fieldsets

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        superuser = request.user.is_superuser

        class ScheduleForm(form_class):
            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                if "vault_keys" not in self.fields:
                    return
                # The organization is known here (set by the mixin's form on add).
                org_id = self.instance.organization_id
                if org_id is not None:
                    names = vault_key_names_for([org_id])[org_id]
                elif superuser:
                    names = set(VaultEntry.objects.values_list("key", flat=True).distinct())
                else:
                    org_ids = organization_ids_with_role(request, Role.ADMIN)
                    names = set().union(*vault_key_names_for(org_ids).values())
                self.set_vault_key_names(names)

        ScheduleForm.__name__ = form_class.__name__
        return ScheduleForm

    def get_object(self, request, object_id, from_field=None):
        """The schedule with its agent joined and its calendars prefetched (the preview's
        calendars and maintenance windows, and the form's chosen calendars, read no more), once
        per request: the tenancy check and the change view ask for the same row."""
        cache = request.__dict__.setdefault("_mimic_schedules", {})
        key = (str(object_id), from_field)
        if key not in cache:
            queryset = (
                self.get_queryset(request).select_related("agent").prefetch_related("calendars")
            )
            field = self.opts.pk if from_field is None else self.opts.get_field(from_field)
            try:
                cache[key] = queryset.get(**{field.name: field.to_python(object_id)})
            except (Schedule.DoesNotExist, DjangoValidationError, ValueError):
                cache[key] = None
        return cache[key]

    def get_deleted_objects(self, objs, request):
        # A schedule's events go with it (its history; its jobs stay). The event admin allows
        # no one to delete an event on its own, which Django would otherwise take as a missing
        # permission and refuse to delete any schedule that ever ran.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(ScheduleEvent._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    def delete_model(self, request, obj):
        services.schedule_delete(
            schedule=obj, now=clock.control_plane_now(), actor=actor_from_request(request)
        )

    def delete_queryset(self, request, queryset):
        # The changelist's bulk delete: one set-based delete, held jobs canceled first.
        ids = list(queryset.values_list("id", flat=True))
        services.schedules_delete(
            schedule_ids=ids, now=clock.control_plane_now(), actor=actor_from_request(request)
        )

    def save_model(self, request, obj, form, change):
        # Through the services: they validate, compute next_run_at from `now`, lock the row.
        now = getattr(form, "checked_at", None) or clock.control_plane_now()
        values = {n: v for n, v in form.cleaned_data.items() if n in _MODEL_FIELDS}
        if change:
            changed = {n: values[n] for n in form.changed_data if n in values}
            services.schedule_update(
                schedule=obj, now=now, actor=actor_from_request(request), **changed
            )
            obj.refresh_from_db()
            return
        values.setdefault("organization_id", obj.organization_id)
        created = services.schedule_create(
            now=now, id=obj.id, actor=actor_from_request(request), **values
        )
        obj.next_run_at = created.next_run_at
        obj._state.adding, obj._state.db = False, created._state.db

    # -- read-only parts of the schedule's page ----------------------------------------------
    @admin.display(description="saved: next five runs")
    def next_five_runs(self, schedule):
        if schedule.run_at is not None:
            done = f" (stopped: {schedule.get_stopped_reason_display()})"
            return format_html(
                "Once, at {} ({}){}",
                local_text(schedule.run_at, schedule.timezone),
                utc_text(schedule.run_at),
                done if schedule.stopped_reason else "",
            )
        try:
            # The API's preview of a saved schedule (scheduleId) answers from the same function.
            result = schedule_preview(
                spec=schedule.cron_expression,
                tz=schedule.timezone,
                bounds=schedule.bounds,
                stopped_reason=schedule.stopped_reason,
                after=timezone.now(),
                count=5,
                rules=[planned_skips_rule(schedule_planned_skips(schedule))],
            )
        except cron.CronError as exc:
            return str(exc)
        items = format_html_join(
            "",
            '<li>{} <span class="mimic-muted">({})</span></li>',
            ((local_text(r, schedule.timezone), utc_text(r)) for r in result.runs),
        )
        skipped = format_html_join(
            "",
            '<li>not run: {} <span class="mimic-muted">({})</span>: {}</li>',
            (
                (local_text(s.at, schedule.timezone), utc_text(s.at), _reason_text(s.reason))
                for s in result.skipped
            ),
        )
        note = "" if schedule.enabled else " (paused: none of these runs until it is resumed)"
        if schedule.stopped_reason:
            note = f" (stopped: {schedule.get_stopped_reason_display()})"
        if schedule.remaining_runs is not None and not schedule.stopped_reason:
            note += f" ({schedule.remaining_runs} scheduled run(s) left)"
        return format_html(
            '{}<ol class="mimic-next-runs">{}</ol>{}{}',
            describe_cron(schedule.cron_expression),
            items,
            format_html('<ul class="mimic-skipped-runs">{}</ul>', skipped) if skipped else "",
            note,
        )

    @admin.display(description="next run")
    def next_run(self, schedule):
        return _next_run_cell(schedule, timezone.now())

    @admin.display(description="last run")
    def last_run(self, schedule):
        if schedule.last_run_at is None:
            return "never run"
        return format_html(
            "{} {}", status_badge(schedule.last_run_status), utc_text(schedule.last_run_at)
        )

    @admin.display(description="paused")
    def paused(self, schedule):
        if schedule.paused_at is None:
            return "no" if schedule.enabled else "disabled"
        return f"since {utc_text(schedule.paused_at)}: {schedule.paused_note or '(no note)'}"

    @admin.display(description="saved: vault check")
    def vault_key_status(self, schedule):
        if not schedule.vault_keys:
            return "no vault keys"
        names = vault_key_names_for([schedule.organization_id])[schedule.organization_id]
        return format_html_join(
            ", ",
            "{}",
            (
                (
                    format_html("{}: present", key)
                    if key in names
                    else format_html('<span class="mimic-missing">{} (missing)</span>', key),
                )
                for key in schedule.vault_keys
            ),
        )

    @admin.display(description="statistics")
    def run_stats(self, schedule):
        figures = schedule_stats(schedule_id=schedule.id, now=clock.control_plane_now())
        return _stats_html(figures)

    @admin.display(description=f"last {CHART_RUNS} runs")
    def runs_chart(self, schedule):
        return charts.runs_chart_svg(
            schedule_recent_runs(schedule_id=schedule.id, limit=CHART_RUNS)
        )

    @admin.display(description="jobs")
    def recent_jobs(self, schedule):
        jobs = job_list().filter(schedule=schedule)[:RECENT]
        return render_to_string(
            "admin/includes/job_rows.html",
            {
                "jobs": [
                    {
                        "job": job,
                        "status": status_badge(job.status),
                        "scheduled_for": utc_text(job.scheduled_for, seconds=True),
                    }
                    for job in jobs
                ]
            },
        )

    @admin.display(description="events")
    def recent_events(self, schedule):
        events = list(schedule.events.order_by("-created_at", "-id")[:RECENT])
        return _events_html(events)

    @admin.display(description="changes")
    def audit_trail(self, schedule):
        # One query: who created, edited, paused, forced… this schedule (billing.audit).
        return audit_rows_html(
            audit_entries_of(
                organization_id=schedule.organization_id,
                object_type=AuditObjectType.SCHEDULE,
                object_id=schedule.pk,
                limit=RECENT,
            )
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_operate"] = obj is not None and self.has_operate_permission(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    # -- actions -----------------------------------------------------------------------------
    def _operable(self, request, queryset) -> list[Schedule]:
        """The selected schedules the caller may operate (their role in *each* organization)."""
        allowed = []
        for schedule in queryset:
            if self.has_operate_permission(request, schedule):
                allowed.append(schedule)
            else:
                messages.error(
                    request, f"“{schedule}”: you may not operate this organization's schedules."
                )
        return allowed

    def _back(self, request, schedules):
        if posted_from_change_page(request) and len(schedules) == 1:
            return redirect_to_change_page(request, self, schedules[0])
        return None

    @admin.action(permissions=["operate"], description="Run now (force)")
    def run_now(self, request, queryset):
        now = clock.control_plane_now()
        schedules = self._operable(request, queryset)
        for schedule in schedules:
            report = run_tick(
                now=now,
                force=True,
                schedule_id=schedule.id,
                organization_id=schedule.organization_id,
                use_executor_lock=False,
                actor=actor_from_request(request),
            )
            self._report_messages(request, schedule, report)
        return self._back(request, schedules)

    def _report_messages(self, request, schedule, report: Report) -> None:
        for t in report.triggered:
            url = reverse("admin:agents_job_change", args=[t.job_id])
            notes = f" ({', '.join(t.notes)})" if t.notes else ""
            messages.success(
                request,
                format_html(
                    '“{}”: job <a href="{}">{}</a> dispatched{}.',
                    schedule,
                    url,
                    str(t.job_id)[:8],
                    notes,
                ),
            )
        for sk in report.skipped:
            detail = f": {sk.detail}" if sk.detail else ""
            messages.warning(request, f"“{schedule}”: not run — {sk.reason}{detail}")
        for e in report.errors:
            messages.error(request, f"“{schedule}”: error {e.code}: {e.message}")

    @admin.action(permissions=["operate"], description="Dry run (show what would happen)")
    def dry_run(self, request, queryset):
        now = clock.control_plane_now()
        schedules = self._operable(request, queryset)
        if not schedules:
            return None
        if len(schedules) > DRY_RUN_MAX:
            messages.error(request, f"Dry-run at most {DRY_RUN_MAX} schedules at a time.")
            return None
        names = {s.id: s for s in schedules}
        modes = []
        for title, force in (
            ("If the tick ran now", False),
            ("If you pressed “Run now” (force)", True),
        ):
            merged = Report(dry_run=True, evaluated_at=now)
            for schedule in schedules:
                merged.merge(
                    run_tick(
                        now=now,
                        dry_run=True,
                        force=force,
                        schedule_id=schedule.id,
                        organization_id=schedule.organization_id,
                        use_executor_lock=False,
                    )
                )
            modes.append(
                {
                    "title": title,
                    "force": force,
                    "report": merged,
                    "triggered": [(t, names.get(t.schedule_id)) for t in merged.triggered],
                    "skipped": [(sk, names.get(sk.schedule_id)) for sk in merged.skipped],
                    "errors": [(e, names.get(e.schedule_id)) for e in merged.errors],
                    # The same report as the API's execute endpoint answers it.
                    "json": json.dumps(report_json(merged), indent=2),
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "Dry run",
            "subtitle": None,
            "opts": self.opts,
            "schedules": schedules,
            "modes": modes,
            "evaluated_at_iso": clock.iso_z(now),
            "single": schedules[0] if len(schedules) == 1 else None,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/schedules/schedule/dry_run.html", context)

    @admin.action(permissions=["operate"], description="Pause (with a note)")
    def pause_schedules(self, request, queryset):
        schedules = self._operable(request, queryset)
        if not schedules:
            return None
        form = PauseForm(request.POST if request.POST.get("apply") else None)
        if form.is_bound and form.is_valid():
            now = clock.control_plane_now()
            note = form.cleaned_data["note"]
            for schedule in schedules:
                services.schedule_pause(
                    schedule=schedule, now=now, note=note, actor=actor_from_request(request)
                )
            messages.success(
                request,
                f"Paused {len(schedules)} schedule(s)" + (f": {note}" if note else "."),
            )
            return self._back(request, schedules)
        context = {
            **self.admin_site.each_context(request),
            "title": "Pause schedules",
            "subtitle": None,
            "opts": self.opts,
            "schedules": schedules,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "return_to": request.POST.get("_return", ""),
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/schedules/schedule/pause.html", context)

    @admin.action(permissions=["operate"], description="Resume")
    def resume_schedules(self, request, queryset):
        now = clock.control_plane_now()
        schedules = self._operable(request, queryset)
        for schedule in schedules:
            resumed = services.schedule_resume(
                schedule=schedule, now=now, actor=actor_from_request(request)
            )
            when = (
                f" next run {local_text(resumed.next_run_at, resumed.timezone)}"
                if resumed.next_run_at
                else ""
            )
            messages.success(request, f"“{schedule}”: resumed;{when}.")
        return self._back(request, schedules)


@admin.register(ScheduleEvent)
class ScheduleEventAdmin(ReadOnlyAdminMixin, OrgScopedAdminMixin, admin.ModelAdmin):
    """Every decision about every schedule (read-only): "why didn't it run?"."""

    list_display = [
        "created_at",
        "schedule",
        "event_kind",
        "reason",
        "detail",
        "scheduled_for",
        "job_link",
    ]
    list_filter = ["kind", "reason", ("schedule", OrgScopedRelatedFilter)]
    list_select_related = ["schedule"]
    search_fields = ["schedule__name", "detail"]

    @admin.display(description="decision", ordering="kind")
    def event_kind(self, event):
        return status_badge(event.kind)

    @admin.display(description="job")
    def job_link(self, event):
        if event.job_id is None:
            return "—"
        url = reverse("admin:agents_job_change", args=[event.job_id])
        return format_html('<a href="{}">{}</a>', url, str(event.job_id)[:8])


# django-celery-beat's admin pages would list the fixed beat entries (settings.CELERY_BEAT_SCHEDULE)
# beside Schedules, where a superuser could disable or delete `scheduled-runs-tick` and silently
# stop every schedule. The entries are configuration, not data: their health is on /api/health.
# django_celery_beat comes before this app in INSTALLED_APPS, so its admin has registered them.
admin.site.unregister(
    [PeriodicTask, IntervalSchedule, CrontabSchedule, SolarSchedule, ClockedSchedule]
)


@admin.register(Calendar)
class CalendarAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    """Organization calendars of excluded dates (SPEC §14), picked per schedule (When)."""

    list_display = ["name", "organization", "entries"]
    search_fields = ["name"]
    fields = ["organization", "name", "dates"]
    formfield_overrides = {
        models.JSONField: {
            "widget": forms.Textarea(attrs={"rows": 6, "cols": 60, "spellcheck": "false"})
        }
    }

    @admin.display(description="entries")
    def entries(self, calendar):
        return len(calendar.dates or [])


# Alert channels and deliveries (SPEC §14) live in their own module.
from schedules import alert_admin  # noqa: E402, F401
