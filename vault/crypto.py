"""Fernet encryption for the vault (SPEC §8).

`VAULT_ENCRYPTION_KEYS` is a list of Fernet keys, first one primary: new tokens are always
encrypted with it, and MultiFernet decrypts with any of them, so keys can be rotated without
downtime (add the new key first, run `manage.py rotate_vault_keys`, then drop the old one).

The MultiFernet is built from the settings on every call (memoised per key tuple), so
`override_settings` in tests and key changes take effect without a restart hook.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from vault.errors import VaultNotConfigured, VaultUnreadable

__all__ = ["VaultNotConfigured", "VaultUnreadable", "decrypt", "encrypt", "rotate", "generate_key"]


def generate_key() -> str:
    return Fernet.generate_key().decode()


@lru_cache(maxsize=8)
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            # Name the position, never the key material.
            raise VaultNotConfigured(
                f"VAULT_ENCRYPTION_KEYS entry #{position} is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes; generate one with "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)."
            ) from None
    return MultiFernet(fernets)


def configured_keys() -> tuple[str, ...]:
    raw = getattr(settings, "VAULT_ENCRYPTION_KEYS", None) or ()
    if isinstance(raw, str):
        raw = raw.split(",")
    return tuple(k.strip() for k in raw if k and k.strip())


def multifernet() -> MultiFernet:
    keys = configured_keys()
    if not keys:
        # Production refuses to start without keys (config/settings.py); in DEBUG we refuse to
        # touch secrets rather than invent a key that would be lost at the next restart.
        raise VaultNotConfigured(
            "VAULT_ENCRYPTION_KEYS is empty: the vault cannot encrypt or decrypt. Set it "
            "(`make run` generates one into var/dev.env)."
        )
    return _multifernet(keys)


# Django's error reports (DEBUG pages, admin e-mails) never show these frames' locals.
@sensitive_variables()
def encrypt(plaintext: str) -> str:
    if not isinstance(plaintext, str):
        raise TypeError("vault values are text")
    return multifernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


@sensitive_variables()
def decrypt(token: str, *, key: str | None = None) -> str:
    """Plaintext of `token`; VaultUnreadable (naming only `key`) if no configured key opens it."""
    mf = multifernet()
    try:
        return mf.decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError, AttributeError, TypeError, ValueError):
        pass
    # Raised outside the except block so no __context__ (a UnicodeDecodeError holds the bytes).
    raise VaultUnreadable(key)


@sensitive_variables()
def rotate(token: str, *, key: str | None = None) -> str:
    """Re-encrypt `token` under the primary key (MultiFernet.rotate)."""
    mf = multifernet()
    try:
        return mf.rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError, AttributeError, TypeError, ValueError):
        pass
    raise VaultUnreadable(key)
