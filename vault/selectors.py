"""Reads from the vault: names for the tick's gate, plaintext only for the job runner."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.views.decorators.debug import sensitive_variables

from vault import crypto
from vault.errors import VaultKeysMissing, VaultUnreadable
from vault.models import VaultEntry

__all__ = [
    "VaultKeysMissing",
    "VaultUnreadable",
    "vault_decrypt_for_job",
    "vault_key_names_for",
    "vault_values_for_redaction",
]


def vault_key_names_for(organization_ids: Iterable) -> dict[uuid.UUID, set[str]]:
    """{organization id: existing key names} in one query; every requested org is present."""
    ids = frozenset(organization_ids)
    names: dict[uuid.UUID, set[str]] = {org_id: set() for org_id in ids}
    if not ids:
        return names
    rows = (
        VaultEntry.objects.filter(organization_id__anyof=ids)  # the tick's batch lookup
        .order_by()
        .values_list("organization_id", "key")
    )
    for org_id, key in rows:
        names.setdefault(org_id, set()).add(key)
    return names


@sensitive_variables()
def vault_decrypt_for_job(*, organization_id, keys: list[str]) -> dict[str, str]:
    """Plaintext of `keys` for one job run, in one query.

    Raises VaultKeysMissing (all missing names, in the order asked) when any key has no entry —
    e.g. deleted after dispatch — and VaultUnreadable(key) when a token cannot be decrypted.
    """
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    tokens = dict(
        VaultEntry.objects.filter(organization_id=organization_id, key__in=wanted).values_list(
            "key", "ciphertext"
        )
    )
    missing = [k for k in wanted if k not in tokens]
    if missing:
        raise VaultKeysMissing(missing)
    return {k: crypto.decrypt(tokens[k], key=k) for k in wanted}


@sensitive_variables()
def vault_values_for_redaction(*, organization_id, keys: list[str]) -> dict[str, str]:
    """The values of `keys` that still exist and decrypt, for redacting a job's output — unlike
    vault_decrypt_for_job this never raises: a key deleted mid-run must not lose the log."""
    tokens = VaultEntry.objects.filter(organization_id=organization_id, key__in=keys).values_list(
        "key", "ciphertext"
    )
    values = {}
    for key, token in tokens:
        try:
            values[key] = crypto.decrypt(token, key=key)
        except VaultUnreadable:
            continue
    return values
