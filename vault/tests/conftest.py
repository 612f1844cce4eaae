import pytest

from tests.factories import OrganizationFactory


@pytest.fixture
def org(db):
    return OrganizationFactory(slug="acme", name="Acme")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(slug="globex", name="Globex")
