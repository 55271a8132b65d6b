"""The stock back office's fixtures (tests/inventory/conftest.py) serve purchasing too."""

from tests.inventory.conftest import shop, small_shop  # noqa: F401
