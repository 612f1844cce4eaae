"""Vault exceptions. None of them ever carries a secret value or a token — only key names."""

from django.core.exceptions import ImproperlyConfigured


class VaultError(Exception):
    pass


class VaultNotConfigured(VaultError, ImproperlyConfigured):
    """No usable VAULT_ENCRYPTION_KEYS: refuse to encrypt or decrypt anything."""


class VaultUnreadable(VaultError):
    """A stored token that no configured key can decrypt (or that is not a Fernet token)."""

    def __init__(self, key: str | None = None):
        self.key = key
        what = f"vault entry {key!r}" if key else "vault token"
        super().__init__(
            f"{what} cannot be decrypted with any configured VAULT_ENCRYPTION_KEYS key"
        )


class VaultKeysMissing(VaultError):
    """Some requested key names have no entry in the organization's vault."""

    def __init__(self, missing: list[str]):
        self.missing = list(missing)
        super().__init__(f"missing vault keys: {', '.join(self.missing)}")
