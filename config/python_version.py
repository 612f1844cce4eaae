"""The product needs Python 3.11 or newer (``datetime.UTC`` and more; an older Python installs the
requirements and then fails at ``migrate`` with an ImportError deep inside an app).

Checked first by every entry point — manage.py, and this package's ``__init__`` (so the WSGI and
ASGI apps and ``celery -A config``) — so an older Python stops with what to do instead of a
traceback. Kept to syntax that older Pythons parse, since they are the ones that read it.
"""

import sys

MINIMUM = (3, 11)


# Quoted annotations: evaluated by nothing at run time, so even Python 3.6 reads this file.
def unsupported_python_message(version_info: "tuple[int, ...]", executable: str) -> "str | None":
    if tuple(version_info[:2]) >= MINIMUM:
        return None
    found = ".".join(str(part) for part in version_info[:3])
    return (
        f"Mimic Scheduled Runs needs Python 3.11 or newer; {executable} is Python {found}. "
        "Use the project's virtualenv (.venv/bin/python: `make run` and `make test` make it with "
        "a Python that fits), or see Requirements in the README."
    )


def require_supported_python() -> None:
    message = unsupported_python_message(sys.version_info[:3], sys.executable)
    if message:
        sys.exit(message)
