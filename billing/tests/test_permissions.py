"""HasOrganizationRole: per-action least role, and the object's own organization decides."""

import pytest
from django.test import RequestFactory
from rest_framework.request import Request

from billing.models import Role
from billing.permissions import HasOrganizationRole
from tests.factories import MembershipFactory, UserFactory, member
from vault.services import vault_set

pytestmark = pytest.mark.django_db


class View:
    required_roles = {"execute": Role.OPERATOR}

    def __init__(self, action):
        self.action = action


def request(user, method="get", header=None):
    headers = {"HTTP_X_ORGANIZATION": header} if header else {}
    django_request = getattr(RequestFactory(), method)("/", **headers)
    django_request.user = user
    drf_request = Request(django_request)
    drf_request.user = user
    return drf_request


@pytest.mark.parametrize(
    ("role", "method", "action", "expected"),
    [
        (Role.VIEWER, "get", "list", True),
        (Role.VIEWER, "post", "execute", False),
        (Role.OPERATOR, "post", "execute", True),
        (Role.OPERATOR, "post", "create", False),
        (Role.ADMIN, "post", "create", True),
        (Role.ADMIN, "delete", "destroy", True),
        (Role.VIEWER, "delete", "destroy", False),
    ],
)
def test_it_requires_the_least_role_of_each_action(org, role, method, action, expected):
    perm = HasOrganizationRole()
    assert perm.has_permission(request(member(org, role), method), View(action)) is expected


def test_it_checks_the_role_in_the_objects_organization(org, other_org):
    user = member(org, Role.ADMIN)
    MembershipFactory(user=user, organization=other_org, role=Role.VIEWER)
    theirs = vault_set(organization=other_org, key="K", value="v")
    perm = HasOrganizationRole()
    # Admin of acme, acting for acme, touching a globex object where they only view.
    drf_request = request(user, "delete")
    assert perm.has_permission(drf_request, View("destroy")) is True
    assert perm.has_object_permission(drf_request, View("destroy"), theirs) is False
    assert perm.has_object_permission(request(user, "get"), View("retrieve"), theirs) is True


def test_it_lets_superusers_do_anything_and_anonymous_nothing(org):
    from django.contrib.auth.models import AnonymousUser

    perm = HasOrganizationRole()
    assert perm.has_permission(request(UserFactory(is_superuser=True), "delete"), View("destroy"))
    assert not perm.has_permission(request(AnonymousUser()), View("list"))
