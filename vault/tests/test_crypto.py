"""Fernet/MultiFernet from settings: round trip, key order, and errors that never carry secrets."""

import pytest
from cryptography.fernet import Fernet

from vault import crypto
from vault.errors import VaultNotConfigured, VaultUnreadable

SECRET = "correct horse battery staple"


@pytest.fixture
def keys(settings):
    primary, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.VAULT_ENCRYPTION_KEYS = [primary, old]
    return primary, old


def test_it_round_trips_and_never_returns_the_plaintext_as_token(keys):
    token = crypto.encrypt(SECRET)
    assert SECRET not in token
    assert crypto.encrypt(SECRET) != token  # fresh IV every time
    assert crypto.decrypt(token) == SECRET


def test_it_encrypts_with_the_first_key(keys):
    primary, old = keys
    token = crypto.encrypt(SECRET)
    assert Fernet(primary.encode()).decrypt(token.encode()).decode() == SECRET


def test_it_decrypts_tokens_of_any_configured_key(keys):
    _, old = keys
    token = Fernet(old.encode()).encrypt(SECRET.encode()).decode()
    assert crypto.decrypt(token) == SECRET


def test_it_follows_settings_changes_without_a_restart(settings, keys):
    token = crypto.encrypt(SECRET)
    settings.VAULT_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(VaultUnreadable):
        crypto.decrypt(token)


@pytest.mark.parametrize("token", ["not-a-token", "", "gAAAAA" + "x" * 80])
def test_it_raises_vault_unreadable_without_the_token(keys, token):
    with pytest.raises(VaultUnreadable) as info:
        crypto.decrypt(token, key="SAP_PASSWORD")
    assert info.value.key == "SAP_PASSWORD"
    assert "SAP_PASSWORD" in str(info.value)
    assert info.value.__context__ is None and info.value.__cause__ is None
    if token:
        assert token not in str(info.value) and token not in repr(info.value.args)


def test_it_keeps_the_plaintext_out_of_an_unreadable_error(settings, keys):
    token = crypto.encrypt(SECRET)
    settings.VAULT_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(VaultUnreadable) as info:
        crypto.decrypt(token)
    text = str(info.value) + repr(info.value.args)
    assert SECRET not in text and token not in text


def test_it_refuses_to_work_without_keys(settings):
    settings.VAULT_ENCRYPTION_KEYS = []
    with pytest.raises(VaultNotConfigured, match="VAULT_ENCRYPTION_KEYS is empty"):
        crypto.encrypt(SECRET)
    with pytest.raises(VaultNotConfigured):
        crypto.decrypt("whatever")


def test_it_names_a_bad_key_by_position_only(settings):
    good = Fernet.generate_key().decode()
    settings.VAULT_ENCRYPTION_KEYS = [good, "not-a-fernet-key-at-all"]
    with pytest.raises(VaultNotConfigured) as info:
        crypto.encrypt(SECRET)
    assert "#2" in str(info.value)
    assert "not-a-fernet-key-at-all" not in str(info.value) and good not in str(info.value)


def test_it_reports_bad_keys_as_a_system_check(settings):
    from vault.checks import check_vault_keys

    settings.VAULT_ENCRYPTION_KEYS = ["nope"]
    assert [m.id for m in check_vault_keys()] == ["vault.E001"]
    settings.VAULT_ENCRYPTION_KEYS = []
    assert [m.id for m in check_vault_keys()] == ["vault.W001"]
    settings.VAULT_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    assert check_vault_keys() == []
