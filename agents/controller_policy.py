"""Which controller an agent may be given on this server (SPEC §7) — one check for the API
serializer and the admin form, so the two cannot drift apart.

- `local` spawns processes on the control plane's own host: only where the operator allows it
  (`AGENT_LOCAL_CONTROLLER`, on by default only with DEBUG).
- `webhook` needs a URL that agents.netguard accepts (https, resolving to public addresses only
  unless `AGENT_WEBHOOK_ALLOW_PRIVATE`); the same check runs again on every request.
"""

from __future__ import annotations

from django.conf import settings

from agents import netguard
from agents.models import Controller

# Keys of controller_config that are credentials: accepted on write, never shown.
SECRET_CONFIG_KEYS = frozenset({"secret", "token", "password"})

LOCAL_DISABLED = (
    "The local controller is disabled on this server (set AGENT_LOCAL_CONTROLLER=true to allow "
    "it); choose webhook or manual."
)
WEBHOOK_URL_NEEDED = 'A webhook controller needs {"url": "https://…"}.'


def local_controller_allowed() -> bool:
    return settings.AGENT_LOCAL_CONTROLLER


def controller_errors(*, controller: str, config: dict) -> dict[str, str]:
    """Why `controller` with `config` may not be saved, by model field name ({} = it may).

    Resolves the webhook URL's host (DNS): call it only when the controller or its config is
    being set, not on every save of an agent.
    """
    if controller == Controller.LOCAL and not local_controller_allowed():
        return {"controller": LOCAL_DISABLED}
    if controller == Controller.WEBHOOK:
        url = config.get("url") if isinstance(config, dict) else None
        if not isinstance(url, str) or not url.strip():
            return {"controller_config": WEBHOOK_URL_NEEDED}
        try:
            netguard.vet_url(url, allow_private=settings.AGENT_WEBHOOK_ALLOW_PRIVATE)
        except netguard.WebhookURLRefused as exc:
            return {"controller_config": str(exc)}
    return {}
