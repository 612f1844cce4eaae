"""vault_set / create / update / delete: only ciphertext stored, clean validation errors."""

import logging

import pytest
from django.core.exceptions import ValidationError

from vault import crypto
from vault.models import VaultEntry
from vault.services import vault_delete, vault_entry_create, vault_entry_update, vault_set

pytestmark = pytest.mark.django_db


def test_it_creates_then_replaces_a_value(org):
    first = vault_set(organization=org, key="SAP_PASSWORD", value="one", description="SAP")
    second = vault_set(organization=org, key="SAP_PASSWORD", value="two")
    assert first.pk == second.pk
    entry = VaultEntry.objects.get()
    assert crypto.decrypt(entry.ciphertext) == "two"
    assert entry.description == ""


def test_it_keeps_one_key_name_per_organization_only(org, other_org):
    vault_set(organization=org, key="K", value="a")
    vault_set(organization=other_org, key="K", value="b")
    assert VaultEntry.objects.count() == 2


def test_it_rejects_a_duplicate_create_as_a_key_error(org):
    vault_entry_create(organization=org, key="K", value="a")
    with pytest.raises(ValidationError) as info:
        vault_entry_create(organization=org, key="K", value="b")
    assert list(info.value.message_dict) == ["key"]
    assert "b" not in info.value.message_dict["key"][0].replace("already", "")


def test_it_rejects_a_rename_onto_an_existing_key(org):
    vault_entry_create(organization=org, key="A", value="a")
    b = vault_entry_create(organization=org, key="B", value="b")
    with pytest.raises(ValidationError) as info:
        vault_entry_update(entry=b, key="A")
    assert list(info.value.message_dict) == ["key"]


@pytest.mark.parametrize("key", ["1ABC", "has space", "", "x" * 129, "semi;colon"])
def test_it_rejects_bad_key_names(org, key):
    with pytest.raises(ValidationError) as info:
        vault_set(organization=org, key=key, value="v")
    assert list(info.value.message_dict) == ["key"]


def test_it_rejects_an_empty_value_without_quoting_anything(org):
    with pytest.raises(ValidationError) as info:
        vault_set(organization=org, key="K", value="")
    assert info.value.message_dict == {"value": ["The value must not be empty."]}


def test_it_updates_only_what_is_given(org):
    entry = vault_entry_create(organization=org, key="K", value="old", description="d")
    token = entry.ciphertext
    vault_entry_update(entry=entry, description="new description")
    entry.refresh_from_db()
    assert (entry.ciphertext, entry.description) == (token, "new description")
    vault_entry_update(entry=entry, value="new")
    entry.refresh_from_db()
    assert crypto.decrypt(entry.ciphertext) == "new"


def test_it_deletes(org):
    entry = vault_entry_create(organization=org, key="K", value="v")
    vault_delete(entry=entry)
    assert not VaultEntry.objects.exists()


def test_it_logs_each_write_as_an_event_with_key_names_only(org, caplog):
    with caplog.at_level(logging.INFO, logger="vault.services"):
        entry = vault_set(organization=org, key="SAP_PASSWORD", value="s3cret value")
        vault_entry_update(entry=entry, value="an0ther secret", description="SAP")
        vault_delete(entry=entry)

    events = [(r.event, r.organization, r.key) for r in caplog.records]
    assert events == [
        ("vault_set", str(org.pk), "SAP_PASSWORD"),
        ("vault_entry_update", str(org.pk), "SAP_PASSWORD"),
        ("vault_delete", str(org.pk), "SAP_PASSWORD"),
    ]
    assert caplog.records[1].changed == ["updated_at", "value", "description"]
    assert caplog.records[1].getMessage() == (
        f"vault_entry_update organization={org.pk} key=SAP_PASSWORD changed=updated_at,value,description"
    )
    assert "s3cret" not in caplog.text and "an0ther" not in caplog.text
