import pytest

from billing.models import Role


@pytest.fixture
def operator(org, client_for):
    """An operator of `org` calling with a DRF token, as a script would."""
    return client_for(org, Role.OPERATOR, token=True)
