"""Small pieces the staff UI (Django admin) shares: status badges, relative times, the
"one action button on a change page" helper, and the stylesheet that goes with them.

Pure presentation: no queries. schedules.admin imports it too (imports flow schedules → agents).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil

from billing.tenancy import scope_queryset

# The stylesheet for badges and the change-page action buttons (ModelAdmin.Media).
ADMIN_CSS = "agents/admin/mimic-admin.css"

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


class OrgScopedRelatedFilter(admin.RelatedFieldListFilter):
    """A foreign-key filter whose choices are only the caller's organizations' objects.

    Django's RelatedFieldListFilter lists every row of the related table, whoever asks.
    """

    def field_choices(self, field, request, model_admin):
        queryset = scope_queryset(field.related_model._default_manager.all(), request.user)
        ordering = self.field_admin_ordering(field, request, model_admin)
        if ordering:
            queryset = queryset.order_by(*ordering)
        return [(obj.pk, str(obj)) for obj in queryset]
