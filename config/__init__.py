# An older Python stops here with what to do, before any import that needs 3.11 fails.
from .python_version import require_supported_python

require_supported_python()

# Load the Celery app whenever Django starts so @shared_task binds to it.
from .celery import app as celery_app  # noqa: E402

__all__ = ("celery_app",)
