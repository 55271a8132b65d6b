"""Fixtures of the products tests (the customers tests use them too)."""

import pytest


@pytest.fixture
def workspace(staff):
    """(tenant, signed-in clients by role) of a new pooled tenant: for the rules, which
    the placement cannot change."""
    return staff("pooled")


@pytest.fixture(params=["pooled", "dedicated"])
def workspace_per_placement(request, staff):
    """(tenant, signed-in clients by role) of a new tenant in a pooled and in a dedicated
    store: for what a page writes, which must land in the tenant's own store either way."""
    return staff(request.param)
