"""Fixtures of the products tests (the customers tests use them too)."""

import pytest


@pytest.fixture(params=["pooled", "dedicated"])
def shop(request, staff):
    """(tenant, clients by role) in a pooled and in a dedicated store."""
    return staff(request.param)


@pytest.fixture
def pooled_shop(staff):
    """(tenant, clients by role) in a pooled store, where the placement does not matter."""
    return staff("pooled")
