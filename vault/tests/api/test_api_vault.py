"""/api/vault/: names and metadata in camelCase, write-only values, clean 400s."""

import pytest
from rest_framework.test import APIClient

from billing.models import Role
from tests.factories import MembershipFactory, member
from vault import crypto
from vault.models import VaultEntry
from vault.services import vault_set

pytestmark = pytest.mark.django_db

SECRET = "Sup3r-Secret-Value!"


def test_it_creates_an_entry_and_returns_metadata_only(api, org):
    response = api.post(
        "/api/vault/", {"key": "SAP_PASSWORD", "value": SECRET, "description": "SAP"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "key", "description", "createdAt", "updatedAt", "hasValue"}
    assert body["key"] == "SAP_PASSWORD" and body["hasValue"] is True
    assert body["createdAt"].endswith("Z")
    entry = VaultEntry.objects.get(pk=body["id"])
    assert entry.organization == org
    assert crypto.decrypt(entry.ciphertext) == SECRET


def test_it_lists_paginated_names_of_the_callers_organization_only(api, org, other_org):
    vault_set(organization=org, key="B_KEY", value="b")
    vault_set(organization=org, key="A_KEY", value="a")
    vault_set(organization=other_org, key="THEIRS", value="t")
    body = api.get("/api/vault/").json()
    assert body["count"] == 2 and body["next"] is None and body["previous"] is None
    assert [e["key"] for e in body["results"]] == ["A_KEY", "B_KEY"]
    assert api.get("/api/vault/?pageSize=1").json()["next"].endswith("page=2&pageSize=1")


def test_it_replaces_a_value_with_put_and_patches_the_description(api, org):
    entry = vault_set(organization=org, key="K", value="old")
    url = f"/api/vault/{entry.pk}/"
    response = api.put(url, {"key": "K", "value": "new"}, format="json")
    assert response.status_code == 200, response.content
    assert "value" not in response.json()
    entry.refresh_from_db()
    assert crypto.decrypt(entry.ciphertext) == "new"
    response = api.patch(url, {"description": "rotated monthly"}, format="json")
    assert response.json()["description"] == "rotated monthly"
    entry.refresh_from_db()
    assert crypto.decrypt(entry.ciphertext) == "new"


def test_it_deletes(api, org):
    entry = vault_set(organization=org, key="K", value="v")
    assert api.delete(f"/api/vault/{entry.pk}/").status_code == 204
    assert not VaultEntry.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"key": "1BAD", "value": SECRET}, "key"),
        ({"key": "has space", "value": SECRET}, "key"),
        ({"key": "K"}, "value"),
        ({"key": "K", "value": ""}, "value"),
        ({"key": "K", "value": {"nested": SECRET}}, "value"),
        ({"value": SECRET}, "key"),
    ],
)
def test_it_answers_bad_input_with_field_errors_that_never_echo_the_value(api, payload, field):
    response = api.post("/api/vault/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert SECRET not in response.content.decode()
    assert not VaultEntry.objects.exists()


def test_it_answers_a_duplicate_key_with_400_not_500(api, org):
    vault_set(organization=org, key="DUP", value="first")
    response = api.post("/api/vault/", {"key": "DUP", "value": SECRET}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["key"]
    assert SECRET not in response.content.decode()


def test_it_answers_a_rename_onto_an_existing_key_with_400(api, org):
    vault_set(organization=org, key="A", value="a")
    b = vault_set(organization=org, key="B", value="b")
    response = api.patch(f"/api/vault/{b.pk}/", {"key": "A"}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["key"]


def test_it_uses_the_x_organization_header_for_users_of_several_organizations(org, other_org):
    user = member(org, Role.VIEWER)
    MembershipFactory(user=user, organization=other_org, role=Role.ADMIN)
    vault_set(organization=org, key="ACME_KEY", value="a")
    client = APIClient()
    client.force_authenticate(user)
    # Acting for globex (admin there): creates in globex and sees only globex's names.
    response = client.post(
        "/api/vault/",
        {"key": "GLOBEX_KEY", "value": "g"},
        format="json",
        HTTP_X_ORGANIZATION="globex",
    )
    assert response.status_code == 201
    assert VaultEntry.objects.get(key="GLOBEX_KEY").organization == other_org
    names = client.get("/api/vault/", HTTP_X_ORGANIZATION=str(other_org.pk)).json()["results"]
    assert [e["key"] for e in names] == ["GLOBEX_KEY"]
    # Acting for acme (viewer there): reads acme, cannot write.
    acme_entry = VaultEntry.objects.get(key="ACME_KEY")
    assert client.get("/api/vault/", HTTP_X_ORGANIZATION="acme").json()["count"] == 1
    assert (
        client.delete(f"/api/vault/{acme_entry.pk}/", HTTP_X_ORGANIZATION="acme").status_code == 403
    )
    # An admin role elsewhere never reaches acme's objects.
    response = client.delete(f"/api/vault/{acme_entry.pk}/", HTTP_X_ORGANIZATION="globex")
    assert response.status_code == 404


def test_it_lets_a_superuser_see_all_or_act_for_a_named_organization(org, other_org):
    from tests.factories import UserFactory

    vault_set(organization=org, key="A", value="a")
    vault_set(organization=other_org, key="B", value="b")
    client = APIClient()
    client.force_authenticate(UserFactory(is_superuser=True))
    assert client.get("/api/vault/").json()["count"] == 2
    assert client.get("/api/vault/", HTTP_X_ORGANIZATION="globex").json()["count"] == 1
    response = client.post("/api/vault/", {"key": "NEW", "value": "n"}, format="json")
    assert response.status_code == 400 and "organization" in response.json()
    response = client.post(
        "/api/vault/", {"key": "NEW", "value": "n"}, format="json", HTTP_X_ORGANIZATION="acme"
    )
    assert response.status_code == 201
    assert VaultEntry.objects.get(key="NEW").organization == org


def test_it_requires_authentication():
    assert APIClient().get("/api/vault/").status_code in (401, 403)
