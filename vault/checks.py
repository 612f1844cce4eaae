"""System checks: a malformed VAULT_ENCRYPTION_KEYS is caught at start-up, not at the first run."""

from django.core import checks

from vault import crypto
from vault.errors import VaultNotConfigured


@checks.register(checks.Tags.security)
def check_vault_keys(app_configs=None, **kwargs):
    if not crypto.configured_keys():
        return [
            checks.Warning(
                "VAULT_ENCRYPTION_KEYS is empty: vault values cannot be set or read.",
                hint="Set VAULT_ENCRYPTION_KEYS (`make run` writes a local key into var/dev.env).",
                id="vault.W001",
            )
        ]
    try:
        crypto.multifernet()
    except VaultNotConfigured as exc:
        return [checks.Error(str(exc), id="vault.E001")]
    return []
