"""Fixtures for the REST API tests: organizations, callers by role, row counting."""

from __future__ import annotations

import pytest
from django.apps import apps
from rest_framework.test import APIClient

from billing.models import Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

OUR_APPS = ("billing", "vault", "agents", "schedules")


@pytest.fixture
def org(db):
    return OrganizationFactory(slug="acme", name="Acme")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(slug="globex", name="Globex")


@pytest.fixture
def client_for(db):
    """client_for(org, role) -> an APIClient authenticated as a member of `org` with `role`."""

    def make(organization, role=Role.ADMIN) -> APIClient:
        membership = MembershipFactory(organization=organization, role=role)
        client = APIClient()
        client.force_authenticate(membership.user)
        client.user = membership.user
        return client

    return make


@pytest.fixture
def api(org, client_for):
    """An admin of `org`."""
    return client_for(org, Role.ADMIN)


@pytest.fixture
def superuser_client(db):
    user = UserFactory(is_superuser=True, is_staff=True)
    client = APIClient()
    client.force_authenticate(user)
    return client


def row_counts() -> dict[str, int]:
    """Rows of every model of our apps (and auth users), to show a failed write left nothing."""
    models = [m for name in OUR_APPS for m in apps.get_app_config(name).get_models()]
    models.append(apps.get_model("auth", "User"))
    return {m._meta.label: m._default_manager.count() for m in models}


@pytest.fixture
def assert_no_rows_written(db):
    """with assert_no_rows_written(): <a write that must fail> — counts rows before and after."""
    from contextlib import contextmanager

    @contextmanager
    def check():
        before = row_counts()
        yield
        assert row_counts() == before

    return check
