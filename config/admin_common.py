"""Shared pieces of the staff UI (Django admin), as config/api_common.py is for the API: status
badges, instants and relative times as people read them, the "one action button on a change
page" helper, list columns built per request.

Pure presentation: no queries, no app of ours imported. Their stylesheet is config/static/mimic/
admin.css, which templates/admin/base_site.html links on every admin page.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil

_GOOD = {"succeeded", "online", "triggered", "resumed"}
_BAD = {"failed", "timed_out", "lost", "error", "disabled"}
_BUSY = {"pending", "queued", "running", "retrying", "starting"}
_MINUTE = timedelta(minutes=1)


def badge_tone(status: str) -> str:
    if status in _GOOD:
        return "good"
    if status in _BAD:
        return "bad"
    if status in _BUSY:
        return "busy"
    return "quiet"


def status_badge(status: str | None, *, empty: str = "—"):
    """A colored pill for a job/schedule/agent status; `empty` when there is none yet."""
    if not status:
        return empty
    label = str(status).replace("_", " ")
    return format_html(
        '<span class="mimic-badge mimic-badge-{}" data-status="{}">{}</span>',
        badge_tone(str(status)),
        status,
        label,
    )


def utc_text(instant: datetime | None, *, seconds: bool = False, empty: str = "—") -> str:
    """An instant as staff read it in a list: `2026-03-29 01:30 UTC` (`:05` with seconds)."""
    if instant is None:
        return empty
    return instant.astimezone(UTC).strftime(f"%Y-%m-%d %H:%M{':%S' if seconds else ''} UTC")


def local_text(instant: datetime, tz_name: str) -> str:
    """An instant in a schedule's own timezone: `2026-03-29 03:30 CEST`."""
    try:
        zone = ZoneInfo(tz_name)
    except (ValueError, KeyError):  # pragma: no cover — the model validates the name
        zone = ZoneInfo("UTC")
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def relative(instant: datetime | None, now: datetime) -> str:
    """'in 3 minutes' / '5 minutes ago' (the largest two units), or '' for None."""
    if instant is None:
        return ""
    if instant >= now:
        return (
            f"in {timeuntil(instant, now, depth=1)}" if instant - now >= _MINUTE else "in <1 minute"
        )
    return f"{timesince(instant, now, depth=1)} ago" if now - instant >= _MINUTE else "just now"


def redirect_to_change_page(request, model_admin: admin.ModelAdmin, obj):
    """For an action posted from a change page's button (`_return=change`): back to that page."""
    opts = model_admin.model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return HttpResponseRedirect(url)


def posted_from_change_page(request) -> bool:
    return request.POST.get("_return") == "change"


def column(description: str, *, order: str | None = None):
    """Decorate a list_display callable built per request (closures over `now`)."""

    def wrap(fn):
        fn.short_description = description
        if order:
            fn.admin_order_field = order
        return fn

    return wrap


def audit_rows_html(entries) -> str:
    """An object's audit entries (billing.models.AuditEntry, newest first) as the table on its
    change page: when (UTC), who, what, the changed fields as old → new, the note."""
    return render_to_string(
        "admin/includes/audit_rows.html",
        {
            "entries": [
                {
                    "entry": entry,
                    "at": utc_text(entry.at, seconds=True),
                    "changes": [
                        (name, _audit_value(pair[0]), _audit_value(pair[1]))
                        for name, pair in sorted(entry.changes.items())
                    ],
                }
                for entry in entries
            ]
        },
    )


def _audit_value(value) -> str:
    if value is None or value == "":
        return "—"
    return value if isinstance(value, str) else json.dumps(value)


class ReadOnlyAdminMixin:
    """Records nobody edits by hand (jobs, events, deliveries, the audit trail): viewable under
    the scoping mixin's rules, never added, changed or deleted in the admin. Put it first:
    `class JobAdmin(ReadOnlyAdminMixin, OrgScopedAdminMixin, admin.ModelAdmin)`."""

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
