"""Encrypted secrets, one per organization and key name. Only ciphertext is ever stored."""

import uuid

from django.core.validators import RegexValidator
from django.db import models

# Names are referenced from schedules' `vault_keys` and injected into scripts: keep them
# identifier-like so they survive env vars, JSON and log redaction unambiguously.
key_name_validator = RegexValidator(
    r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$",
    "Use letters, digits, '_', '.' or '-', starting with a letter or '_' (max 128).",
)


class VaultEntry(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "billing.Organization", on_delete=models.CASCADE, related_name="vault_entries"
    )
    key = models.CharField(max_length=128, validators=[key_name_validator])
    # Fernet token (urlsafe base64 text). Never the plaintext.
    ciphertext = models.TextField(editable=False)
    description = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        verbose_name_plural = "vault entries"
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="vault_unique_org_key")
        ]

    def __str__(self) -> str:
        return self.key
