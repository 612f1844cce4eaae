"""Autocompletes answer from the target admin's scoped queryset: no other tenant's names."""

import pytest
from django.test import Client

from billing.models import Role
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db

URL = "/app/autocomplete/?app_label=vault&model_name=vaultentry&field_name=organization&term="


def test_it_offers_only_the_users_organizations(org, other_org):
    client = Client()
    client.force_login(member(org, Role.ADMIN))
    response = client.get(URL)
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["Acme"]


def test_it_offers_every_organization_to_a_superuser(org, other_org):
    client = Client()
    client.force_login(UserFactory(is_superuser=True))
    assert [r["text"] for r in client.get(URL).json()["results"]] == ["Acme", "Globex"]
