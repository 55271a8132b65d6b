"""A database error in the middle of a request undoes everything the request wrote:
pyramid_tm rolls the one transaction back, whether the API or a page met the error."""

from __future__ import annotations

import pytest
import webtest
from sqlalchemy import text
from sqlalchemy.exc import DataError

from salesapp.customers.services import CustomerService
from salesapp.sales.services import SaleService
from tests.conftest import form_with, host_of, sign_in
from tests.mobility.conftest import fingerprint
from tests.mobility.test_moves import api, sale, stock_product


def fail_in_the_database(db):
    db.execute(text("select 1 / 0"))  # division_by_zero: an error of the server's own


def test_a_sale_that_meets_a_database_error_leaves_nothing(app, catalog, make_tenant, monkeypatch):
    tenant = make_tenant("pooled")
    stock_product(catalog, tenant.slug)
    client = api(app, tenant, catalog)
    assert client.post_json("/api/sales", sale(), status=201).json["number"] == 1
    before = fingerprint(catalog, tenant.store_name, tenant.id)
    complete = SaleService.complete

    def complete_then_fail(self, *args, **kw):
        written = complete(self, *args, **kw)  # sale, lines, payments, stock: all flushed
        assert self.db.execute(text("select count(*) from sales")).scalar_one() == 2
        fail_in_the_database(self.db)
        return written

    monkeypatch.setattr(SaleService, "complete", complete_then_fail)
    res = client.post_json("/api/sales", sale(), status=500)
    assert res.json["message"].startswith("Internal error: nothing was changed")
    assert "Traceback" not in res.text and "division" not in res.text
    monkeypatch.undo()
    assert fingerprint(catalog, tenant.store_name, tenant.id) == before  # row for row
    # the next sale takes number 2: the invoice counter went back as well
    assert client.post_json("/api/sales", sale(), status=201).json["number"] == 2


def test_a_form_that_meets_a_database_error_leaves_nothing(app, catalog, make_tenant, monkeypatch):
    tenant = make_tenant("pooled")
    web = webtest.TestApp(app, extra_environ={"HTTP_HOST": host_of(tenant)})
    sign_in(web, "admin", tenant.admin_password)
    form = form_with(web.get("/customers/new"), "name")
    form["name"] = "Half Written"
    before = fingerprint(catalog, tenant.store_name, tenant.id)
    create = CustomerService.create

    def create_then_fail(self, **fields):
        customer = create(self, **fields)
        self.db.flush()
        fail_in_the_database(self.db)
        return customer

    monkeypatch.setattr(CustomerService, "create", create_then_fail)
    # pages leave an unexpected error to the server (waitress: a bare 500, no traceback)
    with pytest.raises(DataError, match="division by zero"):
        form.submit()
    monkeypatch.undo()
    assert fingerprint(catalog, tenant.store_name, tenant.id) == before
    assert "Half Written" not in web.get("/customers").text  # and the app goes on
