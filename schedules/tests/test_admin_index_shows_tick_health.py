"""The admin index says how the every-minute tick is doing (django-celery-beat's own pages are
gone from the admin; the same figures are on /api/health)."""

from datetime import timedelta

from django.utils import timezone

from schedules.lease import TICK_LEASE
from schedules.models import TickHeartbeat
from schedules.selectors import tick_health


def _panel(client) -> str:
    page = client.get("/app/").content.decode()
    start = page.index('class="module mimic-tick-health"')
    return page[start : page.index("</div>", start)]


def test_it_says_no_tick_has_run_yet(admin_client):
    panel = _panel(admin_client)
    assert 'data-state="never"' in panel and "is beat" in panel


def test_it_shows_the_last_tick_when_beat_is_on_time(admin_client):
    last = timezone.now() - timedelta(seconds=30)
    TickHeartbeat.objects.create(name=TICK_LEASE, last_success_at=last)

    panel = _panel(admin_client)

    assert 'data-state="ok"' in panel
    assert last.strftime("%Y-%m-%d %H:%M:%S UTC") in panel


def test_it_says_late_when_the_last_tick_is_old(admin_client):
    TickHeartbeat.objects.create(
        name=TICK_LEASE, last_success_at=timezone.now() - timedelta(minutes=10)
    )
    assert 'data-state="late"' in _panel(admin_client)


def test_it_says_degraded_after_executor_lock_errors_in_a_row(admin_client):
    TickHeartbeat.objects.create(
        name=TICK_LEASE, last_success_at=timezone.now(), consecutive_lock_errors=3
    )
    panel = _panel(admin_client)
    assert 'data-state="degraded"' in panel and "3 executor-lock errors in a row" in panel


def test_tick_health_is_one_query(db, django_assert_num_queries):
    with django_assert_num_queries(1):
        tick_health(now=timezone.now())
