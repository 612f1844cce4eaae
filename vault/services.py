"""Writes to the vault. Plaintext enters here and leaves only as a Fernet token."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.views.decorators.debug import sensitive_variables

from billing.audit import SECRET_PLACEHOLDER, Actor, audit_record, field_changes
from billing.models import AuditAction, AuditObjectType
from config import clock
from vault import crypto
from vault.errors import VaultUnreadable
from vault.models import VaultEntry, key_name_validator

logger = logging.getLogger(__name__)


def _log(level: int, event: str, **fields: str | int | list[str]) -> None:
    # The records agents.runtime.logformat.log_event writes (the vault imports no app of ours):
    # the event and its fields as JSON fields, repeated in the message for a human reader. Key
    # names and ids only: a value never reaches a log.
    shown = {k: ",".join(v) if isinstance(v, list) else v for k, v in fields.items()}
    text = " ".join([event, *(f"{key}={value}" for key, value in shown.items())])
    logger.log(level, text, extra={"event": event, **fields}, stacklevel=2)


ROTATE_BATCH_SIZE = 500

# The value is never in an audit entry: a new value is recorded as "value changed" only.
VALUE_REPLACED = {"value": [SECRET_PLACEHOLDER, SECRET_PLACEHOLDER]}


def vault_audit(
    *, entry: VaultEntry, actor: Actor | None, action: str, changes: dict | None = None
) -> None:
    """The audit trail's entry for a vault change (names and descriptions only), inside the
    caller's transaction. Also what the admin, which saves the entry itself, calls."""
    audit_record(
        actor=actor,
        organization_id=entry.organization_id,
        action=action,
        object_type=AuditObjectType.VAULT_ENTRY,
        object_id=entry.pk,
        object_label=entry.key,
        now=clock.control_plane_now(),
        changes=changes,
    )


@sensitive_variables("value")
def _validate_value(value) -> None:
    # Messages never quote the value.
    if not isinstance(value, str):
        raise ValidationError({"value": "The value must be text."})
    if value == "":
        raise ValidationError({"value": "The value must not be empty."})


def _validate_key(key: str) -> None:
    try:
        key_name_validator(key)
    except ValidationError as exc:
        raise ValidationError({"key": exc.messages}) from None


def _duplicate_key_error(key: str) -> ValidationError:
    return ValidationError(
        {"key": f"A vault entry named {key!r} already exists in this organization."},
        code="unique",
    )


@sensitive_variables("value")
def vault_set(
    *, organization, key: str, value: str, description: str = "", actor: Actor | None = None
) -> VaultEntry:
    """Create the entry `key` of `organization`, or replace its value (and description)."""
    _validate_key(key)
    _validate_value(value)
    with transaction.atomic():
        entry, created = VaultEntry.objects.update_or_create(
            organization=organization,
            key=key,
            defaults={"ciphertext": crypto.encrypt(value), "description": description},
        )
        vault_audit(
            entry=entry,
            actor=actor,
            action=AuditAction.CREATED if created else AuditAction.EDITED,
            changes=None if created else VALUE_REPLACED,
        )
    _log(logging.INFO, "vault_set", organization=str(organization.pk), key=key)
    return entry


@sensitive_variables("value")
def vault_entry_create(
    *, organization, key: str, value: str, description: str = "", actor: Actor | None = None
) -> VaultEntry:
    """Create a new entry; a duplicate name is a ValidationError on `key`, never a 500."""
    _validate_key(key)
    _validate_value(value)
    entry = VaultEntry(
        organization=organization,
        key=key,
        ciphertext=crypto.encrypt(value),
        description=description,
    )
    try:
        with transaction.atomic():
            entry.save(force_insert=True)
            vault_audit(entry=entry, actor=actor, action=AuditAction.CREATED)
    except IntegrityError:
        # Checked by the unique constraint, not a prior SELECT: two concurrent creates race.
        raise _duplicate_key_error(key) from None
    _log(logging.INFO, "vault_entry_create", organization=str(organization.pk), key=key)
    return entry


@sensitive_variables("value")
def vault_entry_update(
    *,
    entry: VaultEntry,
    key: str | None = None,
    value: str | None = None,
    description: str | None = None,
    actor: Actor | None = None,
) -> VaultEntry:
    """Rename, re-describe and/or replace the value of an entry (only what is given)."""
    before = {"key": entry.key, "description": entry.description}
    fields = ["updated_at"]
    if key is not None and key != entry.key:
        _validate_key(key)
        entry.key = key
        fields.append("key")
    if value is not None:
        _validate_value(value)
        entry.ciphertext = crypto.encrypt(value)
        fields.append("ciphertext")
    if description is not None:
        entry.description = description
        fields.append("description")
    changes = field_changes(before, {"key": entry.key, "description": entry.description})
    if value is not None:
        # A replaced value is a change even when equal: nobody can tell without reading it.
        changes |= VALUE_REPLACED
    try:
        with transaction.atomic():
            entry.save(update_fields=fields)
            if changes:
                vault_audit(entry=entry, actor=actor, action=AuditAction.EDITED, changes=changes)
    except IntegrityError:
        raise _duplicate_key_error(entry.key) from None
    _log(
        logging.INFO,
        "vault_entry_update",
        organization=str(entry.organization_id),
        key=entry.key,
        changed=["value" if f == "ciphertext" else f for f in fields],
    )
    return entry


def vault_delete(*, entry: VaultEntry, actor: Actor | None = None) -> None:
    _log(logging.INFO, "vault_delete", organization=str(entry.organization_id), key=entry.key)
    with transaction.atomic():
        vault_audit(entry=entry, actor=actor, action=AuditAction.DELETED)
        entry.delete()


def vault_rotate_all() -> tuple[int, list[str]]:
    """Re-encrypt every entry under the primary key.

    Returns (number rotated, names of unreadable entries as "<org slug>/<KEY>"). An entry no
    configured key can decrypt is left untouched and reported, never raised. Each row is
    updated with a compare-and-swap on its old token, so a value replaced concurrently is
    never overwritten with the re-encrypted old one.
    """
    rotated = 0
    unreadable: list[str] = []
    crypto.multifernet()  # fail fast (VaultNotConfigured) before touching any row
    entries = (
        VaultEntry.objects.select_related("organization")
        .order_by("pk")
        .only("id", "key", "ciphertext", "organization__slug")
    )
    for entry in entries.iterator(chunk_size=ROTATE_BATCH_SIZE):
        name = f"{entry.organization.slug}/{entry.key}"
        try:
            token = crypto.rotate(entry.ciphertext, key=entry.key)
        except VaultUnreadable:
            unreadable.append(name)
            _log(logging.WARNING, "vault_unreadable", entry=name)
            continue
        rotated += VaultEntry.objects.filter(pk=entry.pk, ciphertext=entry.ciphertext).update(
            ciphertext=token
        )
    _log(logging.INFO, "vault_rotate_all", rotated=rotated, unreadable=len(unreadable))
    return rotated, unreadable
