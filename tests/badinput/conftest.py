"""The API tests' fixtures, for the bad-input tests that go through the API (and the
check that nothing here reached the API's catch-all 500 view)."""

from tests.api.conftest import (  # noqa: F401
    make_shop,
    module_shop,
    no_server_error_logged,
    store,
)
