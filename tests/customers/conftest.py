"""Fixtures of the customers tests: the products tests' workspaces."""

from tests.products.conftest import workspace, workspace_per_placement  # noqa: F401
