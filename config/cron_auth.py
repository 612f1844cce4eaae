"""The cron key that guards machine-to-machine endpoints (cron tick, watchdog).

Accepted as `x-cron-key: <CRON_SECRET>` or `Authorization: Bearer <CRON_SECRET>`, compared in
constant time. No CRON_SECRET configured → 503 (the endpoint is off, not open).
"""

import hmac

from django.conf import settings
from rest_framework import status
from rest_framework.response import Response


def presented_cron_key(request) -> str:
    key = request.headers.get("x-cron-key", "")
    if not key:
        auth = request.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            key = auth[7:].strip()
    return key


def cron_key_error(request) -> Response | None:
    """None when the request carries the right key, else the 401/503 response to return."""
    secret = settings.CRON_SECRET
    if not secret:
        return Response(
            {"detail": "CRON_SECRET is not configured; this endpoint is disabled."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    if not hmac.compare_digest(presented_cron_key(request).encode(), secret.encode()):
        return Response(
            {"detail": "Missing or invalid cron key."}, status=status.HTTP_401_UNAUTHORIZED
        )
    return None
