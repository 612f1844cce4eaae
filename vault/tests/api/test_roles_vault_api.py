"""Roles on /api/vault/ (SPEC §6): viewer reads; admin and owner write; another organization's
object is a 404 for read, write and delete.

A table of (role, method, url, expected status). `{own}` is an entry of the caller's organization,
`{other}` one of another organization. Extend the table (or copy the pattern) for other endpoints.
"""

import pytest
from rest_framework.test import APIClient

from billing.models import Role
from tests.factories import UserFactory
from vault.services import vault_set

pytestmark = pytest.mark.django_db

CREATE = {"key": "NEW_KEY", "value": "new-value"}
REPLACE = {"key": "OWN_KEY", "value": "replaced"}
PATCH = {"description": "changed"}

V, OP, AD, OW = Role.VIEWER, Role.OPERATOR, Role.ADMIN, Role.OWNER

TABLE = [
    # role, method, url, body, expected
    *[(r, "get", "/api/vault/", None, 200) for r in (V, OP, AD, OW)],
    *[(r, "get", "/api/vault/{own}/", None, 200) for r in (V, OP, AD, OW)],
    *[(r, "post", "/api/vault/", CREATE, 403) for r in (V, OP)],
    *[(r, "post", "/api/vault/", CREATE, 201) for r in (AD, OW)],
    *[(r, "put", "/api/vault/{own}/", REPLACE, 403) for r in (V, OP)],
    *[(r, "put", "/api/vault/{own}/", REPLACE, 200) for r in (AD, OW)],
    *[(r, "patch", "/api/vault/{own}/", PATCH, 403) for r in (V, OP)],
    *[(r, "patch", "/api/vault/{own}/", PATCH, 200) for r in (AD, OW)],
    *[(r, "delete", "/api/vault/{own}/", None, 403) for r in (V, OP)],
    *[(r, "delete", "/api/vault/{own}/", None, 204) for r in (AD, OW)],
    # Another organization's entry: not found, whatever the role may do in its own organization.
    *[(r, "get", "/api/vault/{other}/", None, 404) for r in (V, OP, AD, OW)],
    *[(r, "put", "/api/vault/{other}/", REPLACE, 404) for r in (AD, OW)],
    *[(r, "patch", "/api/vault/{other}/", PATCH, 404) for r in (AD, OW)],
    *[(r, "delete", "/api/vault/{other}/", None, 404) for r in (AD, OW)],
]


@pytest.fixture
def entry_ids(org, other_org):
    """Ids of an entry of `org` (own) and one of `other_org` (other)."""
    own = vault_set(organization=org, key="OWN_KEY", value="own-value")
    other = vault_set(organization=other_org, key="OTHER_KEY", value="other-value")
    return {"own": own.pk, "other": other.pk}


@pytest.mark.parametrize(
    ("role", "method", "url", "body", "expected"),
    TABLE,
    ids=[f"{r}-{m}-{u}-{e}" for r, m, u, _b, e in TABLE],
)
def test_it_allows_each_role_exactly_its_actions(
    entry_ids, org, client_for, role, method, url, body, expected
):
    client = client_for(org, role)
    response = getattr(client, method)(url.format(**entry_ids), body, format="json")
    assert response.status_code == expected, response.content


def test_it_leaves_another_organizations_entry_untouched(entry_ids, org, client_for):
    from vault import crypto
    from vault.models import VaultEntry

    client = client_for(org, Role.OWNER)
    client.put(f"/api/vault/{entry_ids['other']}/", REPLACE, format="json")
    client.delete(f"/api/vault/{entry_ids['other']}/")
    other = VaultEntry.objects.get(pk=entry_ids["other"])
    assert crypto.decrypt(other.ciphertext) == "other-value"


def test_it_forbids_users_without_a_membership(entry_ids):
    client = APIClient()
    client.force_authenticate(UserFactory())
    assert client.get("/api/vault/").status_code == 403
    assert client.get(f"/api/vault/{entry_ids['own']}/").status_code == 403
