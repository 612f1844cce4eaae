"""Roles in the admin (/app/) for the vault, organizations and memberships (SPEC §6, §11).

Permissions come from the role, not Django's per-user permission table: the users below are
plain staff with no model permissions at all. Another organization's object is a 404.
A table of (role, method, url, data, expected status); `{own}`/`{other}` are filled per model.
"""

import pytest
from django.test import Client

from billing.models import Membership, Role
from tests.factories import MembershipFactory, UserFactory, member
from vault.services import vault_set

pytestmark = pytest.mark.django_db

V, OP, AD, OW = Role.VIEWER, Role.OPERATOR, Role.ADMIN, Role.OWNER
ALL = (V, OP, AD, OW)
READERS_ONLY = (V, OP)
WRITERS = (AD, OW)

VAULT = "/app/vault/vaultentry"
ORGS = "/app/billing/organization"
MEMBERS = "/app/billing/membership"


def _org_form(roles_world):
    n = Membership.objects.filter(organization_id=roles_world["org_id"]).count()
    return {
        "name": "Renamed",
        "billing_status": "active",
        "memberships-TOTAL_FORMS": str(n),
        "memberships-INITIAL_FORMS": str(n),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }


VAULT_CHANGE = {"key": "OWN_KEY", "value": "", "description": "changed"}
VAULT_ADD = {"key": "NEW_KEY", "value": "new-value", "description": ""}
DELETE = {"post": "yes"}

TABLE = [
    # role, method, url, data, expected
    *[(r, "get", "/app/", None, 200) for r in ALL],
    # vault entries
    *[(r, "get", f"{VAULT}/", None, 200) for r in ALL],
    *[(r, "get", f"{VAULT}/{{vault_own}}/change/", None, 200) for r in ALL],
    *[(r, "post", f"{VAULT}/{{vault_own}}/change/", VAULT_CHANGE, 403) for r in READERS_ONLY],
    *[(r, "post", f"{VAULT}/{{vault_own}}/change/", VAULT_CHANGE, 302) for r in WRITERS],
    *[(r, "get", f"{VAULT}/add/", None, 403) for r in READERS_ONLY],
    *[(r, "get", f"{VAULT}/add/", None, 200) for r in WRITERS],
    *[(r, "post", f"{VAULT}/add/", VAULT_ADD, 403) for r in READERS_ONLY],
    *[(r, "post", f"{VAULT}/add/", VAULT_ADD, 302) for r in WRITERS],
    *[(r, "get", f"{VAULT}/{{vault_own}}/delete/", None, 403) for r in READERS_ONLY],
    *[(r, "get", f"{VAULT}/{{vault_own}}/delete/", None, 200) for r in WRITERS],
    *[(r, "post", f"{VAULT}/{{vault_own}}/delete/", DELETE, 403) for r in READERS_ONLY],
    *[(r, "post", f"{VAULT}/{{vault_own}}/delete/", DELETE, 302) for r in WRITERS],
    *[(r, "get", f"{VAULT}/{{vault_other}}/change/", None, 404) for r in ALL],
    *[(r, "post", f"{VAULT}/{{vault_other}}/change/", VAULT_CHANGE, 404) for r in ALL],
    *[(r, "get", f"{VAULT}/{{vault_other}}/delete/", None, 404) for r in ALL],
    *[(r, "post", f"{VAULT}/{{vault_other}}/delete/", DELETE, 404) for r in ALL],
    *[(r, "get", f"{VAULT}/{{vault_other}}/history/", None, 404) for r in ALL],
    # organizations: members view; admins/owners change; tenants are added/deleted by superusers
    *[(r, "get", f"{ORGS}/", None, 200) for r in ALL],
    *[(r, "get", f"{ORGS}/{{org_id}}/change/", None, 200) for r in ALL],
    *[(r, "post", f"{ORGS}/{{org_id}}/change/", _org_form, 403) for r in READERS_ONLY],
    *[(r, "post", f"{ORGS}/{{org_id}}/change/", _org_form, 302) for r in WRITERS],
    *[(r, "get", f"{ORGS}/add/", None, 403) for r in ALL],
    *[(r, "get", f"{ORGS}/{{org_id}}/delete/", None, 403) for r in ALL],
    *[(r, "get", f"{ORGS}/{{other_org_id}}/change/", None, 404) for r in ALL],
    *[(r, "post", f"{ORGS}/{{other_org_id}}/change/", _org_form, 404) for r in ALL],
    # memberships
    *[(r, "get", f"{MEMBERS}/", None, 200) for r in ALL],
    *[(r, "get", f"{MEMBERS}/{{membership_own}}/change/", None, 200) for r in ALL],
    *[(r, "get", f"{MEMBERS}/add/", None, 403) for r in READERS_ONLY],
    *[(r, "get", f"{MEMBERS}/add/", None, 200) for r in WRITERS],
    *[(r, "post", f"{MEMBERS}/{{membership_own}}/delete/", DELETE, 403) for r in READERS_ONLY],
    *[(r, "post", f"{MEMBERS}/{{membership_own}}/delete/", DELETE, 302) for r in WRITERS],
    *[(r, "get", f"{MEMBERS}/{{membership_other}}/change/", None, 404) for r in ALL],
    *[(r, "post", f"{MEMBERS}/{{membership_other}}/delete/", DELETE, 404) for r in ALL],
]


@pytest.fixture
def roles_world(org, other_org):
    """A colleague's membership and a vault entry in `org`, the same in `other_org`: ids."""
    colleague = MembershipFactory(organization=org, role=Role.VIEWER)
    stranger = MembershipFactory(organization=other_org, role=Role.VIEWER)
    return {
        "org_id": org.pk,
        "other_org_id": other_org.pk,
        "vault_own": vault_set(organization=org, key="OWN_KEY", value="own-value").pk,
        "vault_other": vault_set(organization=other_org, key="OTHER_KEY", value="other-value").pk,
        "membership_own": colleague.pk,
        "membership_other": stranger.pk,
    }


@pytest.mark.parametrize(
    ("role", "method", "url", "data", "expected"),
    TABLE,
    ids=[f"{r}-{m}-{u}-{e}" for r, m, u, _d, e in TABLE],
)
def test_it_allows_each_role_exactly_its_admin_actions(
    roles_world, org, staff_client, role, method, url, data, expected
):
    client = staff_client(org, role)
    if callable(data):
        data = data(roles_world)
    response = getattr(client, method)(url.format(**roles_world), data or {})
    assert response.status_code == expected


@pytest.mark.parametrize("role", ALL)
def test_it_lists_the_models_on_the_admin_index_for_every_role(org, staff_client, role):
    content = staff_client(org, role).get("/app/").content.decode()
    for name in ("Vault entries", "Organizations", "Memberships"):
        assert name in content


@pytest.mark.parametrize(("role", "can_delete"), [(V, False), (OP, False), (AD, True), (OW, True)])
def test_it_offers_bulk_delete_only_to_writers(roles_world, org, staff_client, role, can_delete):
    response = staff_client(org, role).get(f"{VAULT}/")
    action_form = response.context["action_form"]  # None when no action is available
    choices = action_form.fields["action"].choices if action_form else []
    actions = [name for name, _label in choices]
    assert ("delete_selected" in actions) is can_delete


def test_it_keeps_members_without_staff_status_out(roles_world, org):
    client = Client()
    client.force_login(member(org, OW, is_staff=False))
    response = client.get(f"{VAULT}/")
    assert response.status_code == 302 and "/app/login/" in response["Location"]


def test_it_shows_staff_without_a_membership_nothing(roles_world):
    client = Client()
    client.force_login(UserFactory())
    assert client.get(f"{VAULT}/").status_code == 403
    assert "Vault entries" not in client.get("/app/").content.decode()


def test_it_lets_a_superuser_see_every_organizations_objects(roles_world):
    client = Client()
    client.force_login(UserFactory(is_superuser=True))
    content = client.get(f"{VAULT}/").content.decode()
    assert "OWN_KEY" in content and "OTHER_KEY" in content
    assert client.get(f"{VAULT}/{roles_world['vault_other']}/change/").status_code == 200
    assert client.get(f"{ORGS}/add/").status_code == 200


def test_it_exposes_an_operate_permission_for_actions(roles_world, org, rf):
    from django.contrib import admin

    from billing.tenancy_admin import user_has_role
    from vault.models import VaultEntry

    model_admin = admin.site._registry[VaultEntry]
    for role, expected in [(V, False), (OP, True), (AD, True), (OW, True)]:
        request = rf.get("/app/")
        request.user = member(org, role)
        assert model_admin.has_operate_permission(request) is expected
        assert user_has_role(request, Role.OPERATOR) is expected
        assert user_has_role(request, Role.OPERATOR, roles_world["other_org_id"]) is False
