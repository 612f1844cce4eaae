"""The caller's organization and role: membership, X-Organization, superusers, scoping."""

import pytest
from django.test import RequestFactory

from billing.models import Membership, Organization, Role
from billing.tenancy import (
    organization_from_request,
    resolve_membership,
    role_at_least,
    role_in_organization,
    scope_queryset,
    scope_queryset_for_request,
    user_has_role,
)
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, member

pytestmark = pytest.mark.django_db


def request_for(user, header=None):
    headers = {"HTTP_X_ORGANIZATION": header} if header else {}
    request = RequestFactory().get("/", **headers)
    request.user = user
    return request


@pytest.mark.parametrize(
    ("role", "required", "expected"),
    [
        (Role.VIEWER, Role.VIEWER, True),
        (Role.VIEWER, Role.OPERATOR, False),
        (Role.OPERATOR, Role.OPERATOR, True),
        (Role.OPERATOR, Role.ADMIN, False),
        (Role.ADMIN, Role.OPERATOR, True),
        (Role.ADMIN, Role.OWNER, False),
        (Role.OWNER, Role.ADMIN, True),
        (None, Role.VIEWER, False),
    ],
)
def test_it_ranks_roles(role, required, expected):
    assert role_at_least(role, required) is expected


def test_it_uses_the_only_or_oldest_membership_without_a_header(org, other_org):
    user = member(org, Role.VIEWER)
    MembershipFactory(user=user, organization=other_org, role=Role.ADMIN)
    assert resolve_membership(user).organization == org
    assert organization_from_request(request_for(user)) == org


@pytest.mark.parametrize("header", ["globex", "id"])
def test_it_picks_the_organization_named_by_the_header(org, other_org, header):
    user = member(org, Role.VIEWER)
    MembershipFactory(user=user, organization=other_org, role=Role.ADMIN)
    value = str(other_org.pk) if header == "id" else header
    assert organization_from_request(request_for(user, value)) == other_org
    assert resolve_membership(user, value).role == Role.ADMIN


def test_it_gives_no_organization_for_a_header_naming_a_stranger(org, other_org):
    user = member(org, Role.OWNER)
    assert organization_from_request(request_for(user, "globex")) is None
    assert organization_from_request(request_for(user, "no-such-org")) is None


def test_it_lets_a_superuser_act_for_any_organization_by_header(org, other_org):
    root = UserFactory(is_superuser=True)
    assert organization_from_request(request_for(root)) is None
    assert organization_from_request(request_for(root, "globex")) == other_org
    assert organization_from_request(request_for(root, str(org.pk))) == org


def test_it_scopes_querysets_to_every_organization_of_a_user(org, other_org):
    third = OrganizationFactory()
    user = member(org, Role.VIEWER)
    MembershipFactory(user=user, organization=other_org)
    assert set(scope_queryset(Organization.objects.all(), user, field="pk")) == {org, other_org}
    memberships = scope_queryset(Membership.objects.all(), user)
    assert {m.organization for m in memberships} == {org, other_org}
    assert third not in scope_queryset(Organization.objects.all(), UserFactory(), field="pk")
    assert (
        scope_queryset(
            Organization.objects.all(), UserFactory(is_superuser=True), field="pk"
        ).count()
        == 3
    )


def test_it_scopes_api_querysets_to_the_acting_organization_only(org, other_org):
    user = member(org, Role.VIEWER)
    MembershipFactory(user=user, organization=other_org)
    qs = Organization.objects.all()
    assert list(scope_queryset_for_request(qs, request_for(user), field="pk")) == [org]
    assert list(scope_queryset_for_request(qs, request_for(user, "globex"), field="pk")) == [
        other_org
    ]
    assert list(scope_queryset_for_request(qs, request_for(UserFactory()), field="pk")) == []
    root = UserFactory(is_superuser=True)
    assert scope_queryset_for_request(qs, request_for(root), field="pk").count() == 2
    assert list(scope_queryset_for_request(qs, request_for(root, "acme"), field="pk")) == [org]


def test_it_answers_roles_per_organization_from_one_query(
    org, other_org, django_assert_num_queries
):
    user = member(org, Role.OPERATOR)
    MembershipFactory(user=user, organization=other_org, role=Role.VIEWER)
    request = request_for(user)
    with django_assert_num_queries(1):
        assert role_in_organization(request, org.pk) == Role.OPERATOR
        assert role_in_organization(request, str(other_org.pk)) == Role.VIEWER
        assert user_has_role(request, Role.OPERATOR) is True
        assert user_has_role(request, Role.OPERATOR, other_org.pk) is False
        assert user_has_role(request, Role.ADMIN) is False


def test_it_gives_inactive_users_no_role(org):
    user = member(org, Role.OWNER, is_active=False)
    assert user_has_role(request_for(user), Role.VIEWER) is False
