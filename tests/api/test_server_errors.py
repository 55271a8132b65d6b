"""An unexpected error under /api (a bug, a failed database) is a JSON 500 that shows
no traceback, is logged, and keeps nothing of the request."""

from __future__ import annotations

from salesapp.customers.services import CustomerService
from salesapp.products.services import ProductService


def test_a_bug_is_a_json_500_without_traceback(api_staff, monkeypatch, caplog):
    def broken(self, *args, **kw):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(ProductService, "listing", broken)
    res = api_staff.admin.get("/api/products", status=500)
    assert res.content_type == "application/json"
    assert res.json["message"].startswith("Internal error: nothing was changed")
    assert "secret" not in res.text and "Traceback" not in res.text
    logged = [r for r in caplog.records if r.name == "salesapp.api.errors"]
    assert len(logged) == 1 and logged[0].exc_info[1].args == ("secret internals",)
    caplog.clear()  # expected here: the autouse check looks for unexpected ones


def test_a_failure_after_a_write_keeps_nothing(api_staff, monkeypatch, caplog):
    create = CustomerService.create

    def create_then_fail(self, **fields):
        create(self, **fields)  # flushed to the database
        raise RuntimeError("after the insert")

    monkeypatch.setattr(CustomerService, "create", create_then_fail)
    api_staff.manager.post("/api/customers", {"name": "Ghost"}, status=500)
    caplog.clear()
    monkeypatch.undo()
    assert api_staff.manager.get("/api/customers").json["total"] == 0


def test_the_catch_all_is_for_api_paths_only(api_staff, client_for, monkeypatch):
    """Pages keep Pyramid's behaviour (the error propagates to the server)."""
    import pytest

    from tests.api.conftest import browser

    def broken(self, *args, **kw):
        raise RuntimeError("page bug")

    monkeypatch.setattr(ProductService, "listing", broken)
    web = browser(client_for, api_staff, "Managers")
    with pytest.raises(RuntimeError, match="page bug"):
        web.get("/products")
