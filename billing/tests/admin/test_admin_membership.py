"""Membership admin: scoped to the user's organizations; only owners grant or touch `owner`."""

import pytest
from django.test import Client

from billing.models import Membership, Role
from tests.factories import MembershipFactory, member

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_adds_a_member_into_the_admins_organization(org, other_org):
    from tests.factories import OrganizationFactory

    admin_user = member(org, Role.ADMIN)
    MembershipFactory(user=admin_user, organization=other_org, role=Role.VIEWER)
    colleague = MembershipFactory(organization=other_org, role=Role.VIEWER).user
    stranger = MembershipFactory(organization=OrganizationFactory(), role=Role.OWNER).user
    client = login(admin_user)
    form = client.get("/app/billing/membership/add/").context["adminform"].form
    # Adds into acme, the only organization the user administers: no organization field.
    assert "organization" not in form.fields
    # No tenant-wide user directory: only people who share an organization are offered.
    assert set(form.fields["user"].queryset) == {admin_user, colleague}
    assert stranger not in form.fields["user"].queryset
    response = client.post(
        "/app/billing/membership/add/", {"user": colleague.pk, "role": "operator"}
    )
    assert response.status_code == 302
    assert Membership.objects.get(user=colleague, organization=org).role == Role.OPERATOR


def test_it_stops_an_admin_from_granting_owner(org):
    admin_user = member(org, Role.ADMIN)
    viewer = MembershipFactory(organization=org, role=Role.VIEWER)
    client = login(admin_user)
    response = client.post(
        f"/app/billing/membership/{viewer.pk}/change/", {"user": viewer.user_id, "role": "owner"}
    )
    assert response.status_code == 200
    assert "role" in response.context["adminform"].form.errors
    viewer.refresh_from_db()
    assert viewer.role == Role.VIEWER
    response = client.post(
        f"/app/billing/membership/{viewer.pk}/change/", {"user": viewer.user_id, "role": "operator"}
    )
    assert response.status_code == 302
    viewer.refresh_from_db()
    assert viewer.role == Role.OPERATOR


def test_it_stops_an_admin_from_changing_or_removing_an_owner(org):
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    client = login(member(org, Role.ADMIN))
    url = f"/app/billing/membership/{owner.pk}"
    response = client.post(f"{url}/change/", {"user": owner.user_id, "role": "viewer"})
    assert response.status_code == 403
    assert client.post(f"{url}/delete/", {"post": "yes"}).status_code == 403
    assert Membership.objects.get(pk=owner.pk).role == Role.OWNER


def test_it_lets_an_owner_grant_owner(org):
    viewer = MembershipFactory(organization=org, role=Role.VIEWER)
    client = login(member(org, Role.OWNER))
    response = client.post(
        f"/app/billing/membership/{viewer.pk}/change/", {"user": viewer.user_id, "role": "owner"}
    )
    assert response.status_code == 302
    viewer.refresh_from_db()
    assert viewer.role == Role.OWNER


def test_it_rejects_a_second_membership_of_the_same_user_as_a_form_error(org):
    admin_user = member(org, Role.ADMIN)
    client = login(admin_user)
    response = client.post(
        "/app/billing/membership/add/", {"user": admin_user.pk, "role": "viewer"}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert Membership.objects.filter(user=admin_user).count() == 1
