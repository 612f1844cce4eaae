"""Names for the tick (one query, no values) and decrypt-for-this-job for the runner."""

import uuid

import pytest
from cryptography.fernet import Fernet

from vault.errors import VaultKeysMissing, VaultUnreadable
from vault.models import VaultEntry
from vault.selectors import vault_decrypt_for_job, vault_key_names_for
from vault.services import vault_delete, vault_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries(org, other_org):
    vault_set(organization=org, key="SAP_PASSWORD", value="pw-1")
    vault_set(organization=org, key="API_TOKEN", value="tok-1")
    vault_set(organization=other_org, key="OTHER", value="x")


def test_it_lists_key_names_per_organization_in_one_query(
    entries, org, other_org, django_assert_num_queries
):
    empty = uuid.uuid4()
    with django_assert_num_queries(1) as ctx:
        names = vault_key_names_for([org.pk, other_org.pk, empty])
    assert names == {
        org.pk: {"SAP_PASSWORD", "API_TOKEN"},
        other_org.pk: {"OTHER"},
        empty: set(),
    }
    assert "ciphertext" not in ctx.captured_queries[0]["sql"]


def test_it_asks_nothing_for_no_organizations(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert vault_key_names_for([]) == {}


def test_it_decrypts_the_keys_of_a_job_in_one_query(entries, org, django_assert_num_queries):
    with django_assert_num_queries(1):
        values = vault_decrypt_for_job(organization_id=org.pk, keys=["SAP_PASSWORD", "API_TOKEN"])
    assert values == {"SAP_PASSWORD": "pw-1", "API_TOKEN": "tok-1"}
    assert vault_decrypt_for_job(organization_id=org.pk, keys=[]) == {}


def test_it_never_reads_another_organizations_keys(entries, org):
    with pytest.raises(VaultKeysMissing) as info:
        vault_decrypt_for_job(organization_id=org.pk, keys=["OTHER"])
    assert info.value.missing == ["OTHER"]


def test_it_names_every_key_deleted_after_dispatch(entries, org):
    vault_delete(entry=VaultEntry.objects.get(organization=org, key="API_TOKEN"))
    with pytest.raises(VaultKeysMissing) as info:
        vault_decrypt_for_job(organization_id=org.pk, keys=["SAP_PASSWORD", "GONE", "API_TOKEN"])
    assert info.value.missing == ["GONE", "API_TOKEN"]
    assert str(info.value) == "missing vault keys: GONE, API_TOKEN"


def test_it_names_the_key_it_cannot_decrypt(entries, org):
    stranger = Fernet(Fernet.generate_key()).encrypt(b"hidden").decode()
    VaultEntry.objects.filter(organization=org, key="API_TOKEN").update(ciphertext=stranger)
    with pytest.raises(VaultUnreadable) as info:
        vault_decrypt_for_job(organization_id=org.pk, keys=["SAP_PASSWORD", "API_TOKEN"])
    assert info.value.key == "API_TOKEN"
    assert "hidden" not in str(info.value) and stranger not in str(info.value)
