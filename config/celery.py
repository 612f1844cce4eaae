"""The Celery app. Settings live in Django settings under the CELERY_ namespace."""

import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("mimic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def use_django_logging(**_kwargs: object) -> None:
    """Worker and beat log through Django's LOGGING (JSON lines, agents/runtime/logformat.py), not Celery's own
    format: a receiver of this signal replaces Celery's whole logging set-up. Their level is
    LOG_LEVEL's, as for every other process (`-l` no longer applies)."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
