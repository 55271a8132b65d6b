"""An expired trial makes the workspace read-only (issue 15, item 13): reads work, a write
gets a page (JSON under /api) saying the trial ended and how to continue, with 402;
signing in still works; extending the trial opens it again. Nothing is written."""

from __future__ import annotations

import datetime as dt

import pytest

from salesapp.operations import door
from salesapp.operations.models import Tenant
from salesapp.tenancy.tween import TRIAL_ENDED_STATUS
from tests.conftest import form_with, sign_in, wait_for
from tests.mobility.test_moves import api, sale, stock_product


def set_trial_end(catalog, app, tenant, days_from_now: float | None):
    """End (negative days) or extend the tenant's trial; wait until the app knows."""
    ends = None
    if days_from_now is not None:
        ends = dt.datetime.now(dt.UTC) + dt.timedelta(days=days_from_now)
    with catalog.session() as session:
        session.get(Tenant, tenant.id).trial_ends_at = ends
    assert wait_for(
        lambda: (
            (snapshot := app.registry.directory.by_id(tenant.id)) is not None
            and snapshot.trial_ends_at == ends
        )
    )


def customers(catalog, tenant) -> int:
    with door.tenant_connection(catalog, tenant) as conn:
        return conn.execute("select count(*) from customers").fetchone()[0]


@pytest.fixture
def expired(app, catalog, make_tenant):
    """A tenant whose trial ended yesterday (with a product to sell)."""
    tenant = make_tenant("pooled", trial_days=14)
    stock_product(catalog, tenant.slug)
    set_trial_end(catalog, app, tenant, -1)
    return tenant


def test_an_expired_trial_is_read_only_with_a_page_that_says_how_to_continue(
    app, catalog, client_for, expired
):
    web = client_for(expired)
    sign_in(web, "admin", expired.admin_password)  # signing in still works
    page = web.get("/customers/new", status=200)  # and reading
    web.get("/customers", status=200)
    form = form_with(page, "name")
    form["name"] = "Not Saved"
    res = form.submit(status=TRIAL_ENDED_STATUS)
    assert "trial of this workspace has ended" in res.text
    assert "salesapp tenant extend-trial" in res.text and "operator" in res.text
    assert customers(catalog, expired) == 0


def test_the_api_says_so_in_json(app, catalog, expired):
    client = api(app, expired, catalog)
    client.get("/api/products", status=200)
    res = client.post_json("/api/sales", sale(), status=TRIAL_ENDED_STATUS)
    assert "trial of this workspace has ended" in res.json["message"]
    assert "extend-trial" in res.json["message"]
    with door.tenant_connection(catalog, expired) as conn:
        assert conn.execute("select count(*) from sales").fetchone()[0] == 0


def test_extending_the_trial_opens_it_again(app, catalog, expired):
    client = api(app, expired, catalog)
    client.post_json("/api/sales", sale(), status=TRIAL_ENDED_STATUS)
    set_trial_end(catalog, app, expired, 7)
    client.post_json("/api/sales", sale(), status=201)


def test_a_running_trial_and_no_trial_write_as_usual(app, catalog, make_tenant):
    for tenant in (make_tenant("pooled", trial_days=3), make_tenant("pooled")):
        stock_product(catalog, tenant.slug)
        api(app, tenant, catalog).post_json("/api/sales", sale(), status=201)
