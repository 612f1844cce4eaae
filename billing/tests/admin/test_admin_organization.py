"""Organization admin: members see their organizations; only owners edit billing fields."""

import pytest
from django.test import Client

from billing.models import BillingStatus, Membership, Organization, Role
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_change(client, org, **fields):
    n = Membership.objects.filter(organization=org).count()
    data = {
        "name": org.name,
        "slug": org.slug,
        "billing_status": org.billing_status,
        "monthly_run_quota": "",
        "memberships-TOTAL_FORMS": str(n),
        "memberships-INITIAL_FORMS": str(n),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        **fields,
    }
    return client.post(f"/app/billing/organization/{org.pk}/change/", data)


def test_it_lists_only_the_users_organizations(org, other_org):
    content = login(member(org, Role.VIEWER)).get("/app/billing/organization/").content.decode()
    assert "Acme" in content and "Globex" not in content


def test_it_lets_an_admin_rename_but_not_touch_billing_or_slug(org):
    client = login(member(org, Role.ADMIN))
    response = post_change(
        client, org, name="Acme Corp", slug="hijack", billing_status="active", monthly_run_quota="9"
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.name, org.slug, org.billing_status, org.monthly_run_quota) == (
        "Acme Corp",
        "acme",
        BillingStatus.ACTIVE,
        None,
    )
    Organization.objects.filter(pk=org.pk).update(billing_status=BillingStatus.SUSPENDED)
    org.refresh_from_db()
    post_change(client, org, billing_status="active")
    org.refresh_from_db()
    assert org.billing_status == BillingStatus.SUSPENDED


def test_it_lets_an_owner_edit_billing_fields(org):
    client = login(member(org, Role.OWNER))
    response = post_change(client, org, billing_status="past_due", monthly_run_quota="500")
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.billing_status, org.monthly_run_quota) == (BillingStatus.PAST_DUE, 500)


def test_it_lets_only_superusers_create_or_delete_tenants(org):
    assert login(member(org, Role.OWNER)).get("/app/billing/organization/add/").status_code == 403
    root = login(UserFactory(is_superuser=True))
    assert root.get("/app/billing/organization/add/").status_code == 200
    assert (
        root.post(f"/app/billing/organization/{org.pk}/delete/", {"post": "yes"}).status_code == 302
    )
    assert not Organization.objects.exists()
