"""Vault admin: set or replace a value through a password field that never renders one back;
the ciphertext is never shown; lists show names and metadata."""

import pytest
from django.test import Client

from billing.models import Role
from tests.factories import MembershipFactory, UserFactory, member
from vault import crypto
from vault.models import VaultEntry
from vault.services import vault_set

pytestmark = pytest.mark.django_db

ADD = "/app/vault/vaultentry/add/"


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_sets_a_value_into_the_users_organization(org):
    client = login(member(org, Role.ADMIN))
    form = client.get(ADD).content.decode()
    assert 'type="password"' in form and 'name="organization"' not in form
    response = client.post(ADD, {"key": "SAP_PASSWORD", "value": "v1", "description": "SAP"})
    assert response.status_code == 302
    entry = VaultEntry.objects.get()
    assert entry.organization == org and crypto.decrypt(entry.ciphertext) == "v1"


def test_it_replaces_a_value_or_keeps_it_when_left_empty(org):
    entry = vault_set(organization=org, key="K", value="old")
    client = login(member(org, Role.OWNER))
    url = f"/app/vault/vaultentry/{entry.pk}/change/"
    assert client.post(url, {"key": "K", "value": "", "description": "kept"}).status_code == 302
    entry.refresh_from_db()
    assert crypto.decrypt(entry.ciphertext) == "old" and entry.description == "kept"
    assert client.post(url, {"key": "K", "value": "new", "description": ""}).status_code == 302
    entry.refresh_from_db()
    assert crypto.decrypt(entry.ciphertext) == "new"


def test_it_never_renders_the_value_or_the_ciphertext(org):
    entry = vault_set(organization=org, key="K", value="hidden-value")
    client = login(member(org, Role.ADMIN))
    page = client.get(f"/app/vault/vaultentry/{entry.pk}/change/").content.decode()
    assert entry.ciphertext not in page and "hidden-value" not in page
    assert '<input type="password" name="value"' in page
    changelist = client.get("/app/vault/vaultentry/").content.decode()
    assert "K" in changelist and entry.ciphertext not in changelist


def test_it_requires_a_value_on_add(org):
    client = login(member(org, Role.ADMIN))
    response = client.post(ADD, {"key": "K", "value": "", "description": ""})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"value": ["This field is required."]}


def test_it_reports_a_duplicate_key_as_a_form_error(org):
    vault_set(organization=org, key="DUP", value="x")
    client = login(member(org, Role.ADMIN))
    response = client.post(ADD, {"key": "DUP", "value": "y", "description": ""})
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors()
    assert VaultEntry.objects.count() == 1


def test_it_shows_a_viewer_metadata_only(org):
    entry = vault_set(organization=org, key="K", value="v")
    page = login(member(org, Role.VIEWER)).get(f"/app/vault/vaultentry/{entry.pk}/change/")
    assert page.status_code == 200
    content = page.content.decode()
    assert 'name="value"' not in content
    assert 'name="_save"' not in content  # read-only: no save button


def test_it_offers_only_organizations_the_user_administers(org, other_org):
    from tests.factories import OrganizationFactory

    third = OrganizationFactory(slug="initech")
    user = member(org, Role.ADMIN)
    MembershipFactory(user=user, organization=other_org, role=Role.OWNER)
    MembershipFactory(user=user, organization=third, role=Role.VIEWER)
    response = login(user).get(ADD)
    choices = response.context["adminform"].form.fields["organization"].queryset
    assert set(choices) == {org, other_org}
    response = login(user).post(
        ADD, {"organization": str(third.pk), "key": "K", "value": "v", "description": ""}
    )
    assert (
        response.status_code == 200 and "organization" in response.context["adminform"].form.errors
    )


def test_it_shows_superusers_the_organization_field(org, other_org):
    client = login(UserFactory(is_superuser=True))
    response = client.post(
        ADD, {"organization": str(other_org.pk), "key": "K", "value": "v", "description": ""}
    )
    assert response.status_code == 302
    assert VaultEntry.objects.get().organization == other_org


def test_it_turns_missing_keys_into_a_form_error_not_a_500(org, settings):
    settings.VAULT_ENCRYPTION_KEYS = []
    response = login(member(org, Role.ADMIN)).post(
        ADD, {"key": "K", "value": "v", "description": ""}
    )
    assert response.status_code == 200
    assert "VAULT_ENCRYPTION_KEYS is empty" in response.content.decode()
    assert not VaultEntry.objects.exists()
