"""The tick's health on the admin index (django-celery-beat's own pages are not in the admin:
a superuser could disable the tick's entry there and stop every schedule)."""

from __future__ import annotations

from django import template

from config import clock
from config.admin_common import relative, status_badge, utc_text
from schedules.selectors import TICK_LATE_AFTER_SECONDS, tick_health

register = template.Library()

_BADGE = {"ok": "online", "degraded": "retrying", "late": "failed", "never": "failed"}


@register.inclusion_tag("admin/includes/tick_health.html")
def tick_health_panel() -> dict:
    now = clock.control_plane_now()
    tick = tick_health(now=now)
    return {
        "tick": tick,
        "badge": status_badge(_BADGE[tick.state]),
        "last": utc_text(tick.last_tick_at, seconds=True),
        "ago": relative(tick.last_tick_at, now),
        "late_after_minutes": TICK_LATE_AFTER_SECONDS // 60,
    }
