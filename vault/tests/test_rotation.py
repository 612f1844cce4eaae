"""rotate_vault_keys: old-key entries keep working, end up under the new primary; unreadable
entries are reported by name and never crash the command."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command

from vault.models import VaultEntry
from vault.selectors import vault_decrypt_for_job
from vault.services import vault_rotate_all, vault_set

pytestmark = pytest.mark.django_db

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()
STRANGER = Fernet.generate_key().decode()


@pytest.fixture
def old_entries(settings, org, other_org):
    settings.VAULT_ENCRYPTION_KEYS = [OLD]
    vault_set(organization=org, key="SAP_PASSWORD", value="s3cret-sap")
    vault_set(organization=org, key="API_TOKEN", value="tok-123")
    vault_set(organization=other_org, key="SAP_PASSWORD", value="globex-pw")
    # Add the new primary in front; the old key stays so old tokens still decrypt.
    settings.VAULT_ENCRYPTION_KEYS = [NEW, OLD]


def test_it_still_decrypts_entries_under_an_old_key(old_entries, org):
    assert vault_decrypt_for_job(organization_id=org.pk, keys=["SAP_PASSWORD", "API_TOKEN"]) == {
        "SAP_PASSWORD": "s3cret-sap",
        "API_TOKEN": "tok-123",
    }


def test_it_puts_every_entry_under_the_new_primary(old_entries, settings, org, other_org):
    out = StringIO()
    call_command("rotate_vault_keys", stdout=out)
    assert out.getvalue().strip() == "rotated=3 unreadable=0"
    new_only = Fernet(NEW.encode())
    plain = {
        (e.organization.slug, e.key): new_only.decrypt(e.ciphertext.encode()).decode()
        for e in VaultEntry.objects.select_related("organization")
    }
    assert plain == {
        ("acme", "SAP_PASSWORD"): "s3cret-sap",
        ("acme", "API_TOKEN"): "tok-123",
        ("globex", "SAP_PASSWORD"): "globex-pw",
    }
    # The old key can be dropped now.
    settings.VAULT_ENCRYPTION_KEYS = [NEW]
    assert vault_decrypt_for_job(organization_id=org.pk, keys=["API_TOKEN"]) == {
        "API_TOKEN": "tok-123"
    }
    with pytest.raises(InvalidToken):
        Fernet(OLD.encode()).decrypt(VaultEntry.objects.first().ciphertext.encode())


def test_it_reports_an_entry_no_key_can_decrypt_as_vault_unreadable(old_entries, org):
    lost = Fernet(STRANGER.encode()).encrypt(b"lost-value").decode()
    VaultEntry.objects.create(organization=org, key="LOST_KEY", ciphertext=lost)
    VaultEntry.objects.create(organization=org, key="GARBAGE", ciphertext="not a token")
    out, err = StringIO(), StringIO()
    call_command("rotate_vault_keys", stdout=out, stderr=err)
    assert out.getvalue().strip() == "rotated=3 unreadable=2"
    assert sorted(err.getvalue().splitlines()) == [
        "vault_unreadable entry=acme/GARBAGE",
        "vault_unreadable entry=acme/LOST_KEY",
    ]
    assert "lost-value" not in out.getvalue() + err.getvalue()
    assert lost not in out.getvalue() + err.getvalue()
    # Left untouched, so a restored key can still open it later.
    assert VaultEntry.objects.get(key="LOST_KEY").ciphertext == lost


def test_it_returns_counts_and_names_from_the_service(old_entries, org):
    VaultEntry.objects.create(organization=org, key="GARBAGE", ciphertext="xx")
    rotated, unreadable = vault_rotate_all()
    assert (rotated, unreadable) == (3, ["acme/GARBAGE"])


def test_it_can_fail_the_command_for_scripts(old_entries, org):
    VaultEntry.objects.create(organization=org, key="GARBAGE", ciphertext="xx")
    with pytest.raises(CommandError, match="1 vault entries are unreadable"):
        call_command(
            "rotate_vault_keys", "--fail-on-unreadable", stdout=StringIO(), stderr=StringIO()
        )


def test_it_never_overwrites_a_value_replaced_during_rotation(old_entries, org, monkeypatch):
    from vault import crypto

    real_rotate = crypto.rotate

    def rotate_while_someone_writes(token, *, key=None):
        if key == "API_TOKEN":
            vault_set(organization=org, key="API_TOKEN", value="replaced-meanwhile")
        return real_rotate(token, key=key)

    monkeypatch.setattr(crypto, "rotate", rotate_while_someone_writes)
    vault_rotate_all()
    assert vault_decrypt_for_job(organization_id=org.pk, keys=["API_TOKEN"]) == {
        "API_TOKEN": "replaced-meanwhile"
    }


def test_it_fails_clearly_without_keys(settings):
    settings.VAULT_ENCRYPTION_KEYS = []
    with pytest.raises(CommandError, match="VAULT_ENCRYPTION_KEYS is empty"):
        call_command("rotate_vault_keys", stdout=StringIO())
