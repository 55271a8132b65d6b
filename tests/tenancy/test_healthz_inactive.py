"""/healthz on the host of a workspace that is not active touches no store: a suspended
one is answered as any request to its host is (the suspended page, 403), one whose trial
has ended reports the catalog alone. Hosts of deleted workspaces and of workspaces being
created name nothing (the directory loads neither) and get the unknown host's answer.

Anyone can send a health check: it used to open a connection to the store of a
suspended workspace (and an engine for a dedicated one) on every request."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest
from sqlalchemy import update

from salesapp.operations.models import Tenant


@contextmanager
def no_store_touched(app):
    """Fail the test if anything asks for a store's engine meanwhile."""
    stores = app.registry.stores

    def refuse(*args, **kwargs):
        raise AssertionError("a store was touched")

    original, stores.engine_for = stores.engine_for, refuse
    try:
        yield
    finally:
        stores.engine_for = original


def change(app, catalog, tenant, **values):
    with catalog.session() as session:
        session.execute(update(Tenant).where(Tenant.id == tenant.id).values(**values))
    app.registry.directory.invalidate(tenant.id)


@pytest.mark.parametrize("placement", ["pooled", "dedicated"])
def test_a_suspended_workspace_health_check_is_its_suspended_page(
    app, catalog, make_tenant, client_for, placement
):
    tenant = make_tenant(placement)
    change(app, catalog, tenant, status="suspended", status_reason="unpaid")
    with no_store_touched(app):
        res = client_for(tenant).get("/healthz", status=403)
    assert "suspended" in res.text


def test_a_workspace_whose_trial_ended_reports_the_catalog_only(
    app, catalog, make_tenant, client_for
):
    tenant = make_tenant("pooled")
    change(app, catalog, tenant, trial_ends_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    with no_store_touched(app):
        res = client_for(tenant).get("/healthz")
    assert res.json == {"status": "ok", "catalog": "ok"}


def test_a_deleted_or_unfinished_workspace_host_names_nothing(
    app, catalog, make_tenant, client_for
):
    tenant = make_tenant("pooled")
    change(app, catalog, tenant, status="provisioning")
    with no_store_touched(app):
        res = client_for(tenant).get("/healthz")
    assert res.json == {"status": "ok", "catalog": "ok"}


def test_an_active_workspace_still_checks_its_store(make_tenant, client_for):
    res = client_for(make_tenant("pooled")).get("/healthz")
    assert res.json == {"status": "ok", "catalog": "ok", "store": "ok"}
