"""Two store rows never name one database (issue 15, item 2, and item 13's "store add of
the catalog database says so"): `store add` reads what database its URL reaches (the
server's system identifier and the database's oid) and refuses one that is already a
store under any URL, the catalog or the template; what it adds carries its identity."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import select

from salesapp.operations import bootstrap, storeadmin
from salesapp.operations.errors import OperationError
from salesapp.operations.identity import identity_of_store, read_identity
from salesapp.operations.models import Operation, Store
from salesapp.tenancy import urls
from tests.mobility.conftest import fingerprint, store_url
from tests.operations.test_move_safety import alias


def store_names(catalog) -> set[str]:
    with catalog.session() as session:
        return set(session.scalars(select(Store.name)))


def new_name() -> str:
    return f"pool{secrets.token_hex(3)}"


@pytest.mark.parametrize("spelling", ["same URL", "another URL"])
def test_a_pooled_database_is_registered_once(catalog, make_tenant, spelling):
    """`store add pool3 --kind pooled --url <pool1's URL>` was accepted, after which a
    move to pool3 deleted the tenant's rows."""
    tenant = make_tenant("pooled")
    before = fingerprint(catalog, tenant.store_name, tenant.id)
    url = store_url(catalog, tenant.store_name)
    stores = store_names(catalog)
    name = new_name()
    with pytest.raises(OperationError, match=f"is the database of store {tenant.store_name}"):
        storeadmin.add_store(catalog, name, url if spelling == "same URL" else alias(url), "pooled")
    assert store_names(catalog) == stores
    assert fingerprint(catalog, tenant.store_name, tenant.id) == before


def test_a_dedicated_tenants_database_is_no_pool(catalog, make_tenant):
    tenant = make_tenant("dedicated")
    with pytest.raises(OperationError, match=f"database of store {tenant.store_name}"):
        storeadmin.add_store(catalog, new_name(), store_url(catalog, tenant.store_name), "pooled")


@pytest.mark.parametrize(
    ("which", "message"),
    [("catalog", "that is the catalog database"), ("template", "the tenant template database")],
)
def test_the_catalog_and_the_template_are_no_store(catalog, which, message):
    url = catalog.settings.catalog_url
    if which == "template":
        url = urls.with_database(url, bootstrap.template_database(catalog.settings))
    stores = store_names(catalog)
    with pytest.raises(OperationError, match=message):
        storeadmin.add_store(catalog, new_name(), url, "pooled")
    assert store_names(catalog) == stores


def test_the_cli_says_the_catalog_is_no_store(catalog, cli):
    result = cli(
        "store",
        "add",
        new_name(),
        "--kind",
        "pooled",
        "--url",
        catalog.settings.catalog_url,
        expect=1,
    )
    assert "that is the catalog database" in result.output
    assert "Traceback" not in result.output


def test_a_new_store_records_its_identity_and_the_refusals_are_logged(catalog):
    name = new_name()
    url = urls.with_database(store_url(catalog, "pool1"), catalog.settings.database_name(name))
    result = storeadmin.add_store(catalog, name, url, "pooled", accepting=False)
    assert result["created"]
    with catalog.session() as session:
        recorded = identity_of_store(catalog.store_named(session, name))
    assert recorded == read_identity(catalog.settings, url)
    assert result["identity"] == str(recorded)
    with pytest.raises(OperationError, match=f"database of store {name}"):
        storeadmin.add_store(catalog, new_name(), alias(url), "pooled")
    with catalog.session() as session:
        outcomes = session.execute(
            select(Operation.outcome, Operation.finished_at.is_not(None))
            .where(Operation.action == "store.add")
            .order_by(Operation.id.desc())
            .limit(2)
        ).all()
    assert [tuple(row) for row in outcomes] == [("refused", True), ("ok", True)]


def test_stores_registered_before_identities_get_theirs(catalog):
    """A row without an identity (a catalog from before) is read live and filled in."""
    with catalog.session() as session:
        pool = catalog.store_named(session, "pool1")
        pool.system_identifier = pool.database_oid = None
    known = {store.name: store for store in storeadmin.known_stores(catalog)}
    assert known["pool1"].identity == read_identity(catalog.settings, store_url(catalog, "pool1"))
    with catalog.session() as session:
        assert identity_of_store(catalog.store_named(session, "pool1")) == known["pool1"].identity
