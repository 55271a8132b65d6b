"""The API tests' fixtures, for the bad-input tests that go through the API (and the
check that nothing here reached the API's catch-all 500 view)."""

from tests.api.conftest import (  # noqa: F401  (fixtures, found by name)
    make_api_staff,
    module_api_staff,
    no_server_error_logged,
    store,
)
