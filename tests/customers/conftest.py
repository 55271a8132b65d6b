"""Fixtures of the customers tests: the products tests' shops."""

from tests.products.conftest import pooled_shop, shop  # noqa: F401
