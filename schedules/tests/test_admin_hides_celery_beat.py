"""django-celery-beat's admin pages are not offered (SPEC §11): its rows are the fixed beat entries,
and disabling `scheduled-runs-tick` there would stop every schedule."""

import pytest

BEAT_MODELS = [
    "periodictask",
    "intervalschedule",
    "crontabschedule",
    "solarschedule",
    "clockedschedule",
]


def test_a_superusers_admin_index_lists_schedules_but_no_periodic_tasks(admin_client):
    page = admin_client.get("/app/").content.decode()
    assert "/app/schedules/schedule/" in page
    assert "Periodic tasks" not in page
    assert "/app/django_celery_beat/" not in page


@pytest.mark.parametrize("model", BEAT_MODELS)
def test_a_superuser_gets_404_from_every_celery_beat_admin_page(admin_client, model):
    assert admin_client.get(f"/app/django_celery_beat/{model}/").status_code == 404


def test_a_superuser_gets_404_from_the_celery_beat_app_index(admin_client):
    assert admin_client.get("/app/django_celery_beat/").status_code == 404
