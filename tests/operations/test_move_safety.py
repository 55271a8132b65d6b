"""No move can empty or drop the database a tenant lives in (issue 15, items 1, 2, 7 and
kept copies): a target that is, by identity, the tenant's own database (or another
store's) is refused before anything changes, whatever URL names it; every undo and
clean-up proves what it empties or drops is not where the tenant lives; a move is
logged when it starts and when it ends; a kept source is recorded."""

from __future__ import annotations

import secrets

import psycopg
import pytest
from sqlalchemy import delete, select

from salesapp.operations import mobility, storeadmin
from salesapp.operations.identity import identity_of_store, read_identity
from salesapp.operations.mobility import MoveError, MoveRequest
from salesapp.operations.models import (
    MovePhase,
    Operation,
    Placement,
    Store,
    TenantCopy,
    TenantMove,
)
from salesapp.tenancy import urls
from tests.mobility.conftest import fingerprint, placement_of, store_url, tenant_rows


def alias(url: str) -> str:
    """The same database by another URL: another spelling of its server's address."""
    parsed = urls.parse(url)
    socket_dir = parsed.query.get("host")
    if socket_dir:  # a unix socket directory, named another way
        return urls.plain(parsed.update_query_dict({"host": socket_dir.rstrip("/") + "/."}))
    other = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}.get(parsed.host)
    if other is None:
        pytest.skip(f"no other name known for host {parsed.host}")
    return urls.plain(parsed.set(host=other))


def move(catalog, slug, to, **options):
    return mobility.move_tenant(catalog, MoveRequest(slug=slug, to=to, **options))


def database_exists(catalog, url) -> bool:
    with psycopg.connect(urls.libpq_url(urls.with_database(url, "postgres"))) as conn:
        name = urls.database_of(url)
        return conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()


def store_names(catalog) -> set[str]:
    with catalog.session() as session:
        return set(session.scalars(select(Store.name)))


def nothing_changed(catalog, tenant, before, stores_before):
    """The tenant is where it was, all of it, with no move pending and no store added."""
    assert placement_of(catalog, tenant.slug)[::2] == (tenant.store_name, "active")
    assert fingerprint(catalog, tenant.store_name, tenant.id) == before
    with catalog.session() as session:
        assert session.get(TenantMove, tenant.id) is None
    assert store_names(catalog) == stores_before


@pytest.fixture
def register_alias(catalog):
    """register_alias(store name) -> the name of a second store row naming the same
    database by another URL, written straight into the catalog as a catalog from before
    identities could have it (`store add` refuses it now); removed after the test."""
    made = []

    def register(name, kind=None):
        with catalog.session() as session:
            original = catalog.store_named(session, name)
            row = Store(
                name=f"alias{secrets.token_hex(3)}",
                kind=kind or original.kind,
                url_encrypted=catalog.box.encrypt(alias(catalog.store_url(original))),
            )
            session.add(row)
            session.flush()
            made.append(row.id)
            return row.name

    yield register
    with catalog.session() as session:
        session.execute(delete(TenantMove).where(TenantMove.target_store_id.in_(made)))
        session.execute(delete(TenantCopy).where(TenantCopy.store_id.in_(made)))
        session.execute(delete(Store).where(Store.id.in_(made)))


# -- item 1: refused before anything changes ---------------------------------------------
@pytest.mark.parametrize("spelling", ["same URL", "another URL"])
def test_a_dedicated_tenant_cannot_move_into_its_own_database(catalog, make_tenant, spelling):
    """`tenant move T --to dedicated --database-url <T's own database>` deleted all of T's
    rows, then said the move was called off."""
    tenant = make_tenant("dedicated")
    url = store_url(catalog, tenant.store_name)
    before = fingerprint(catalog, tenant.store_name, tenant.id)
    assert sum(rows for rows, _ in before.values()) > 0
    stores = store_names(catalog)
    target = url if spelling == "same URL" else alias(url)
    with pytest.raises(MoveError, match=f"lives in now \\(store {tenant.store_name}\\)"):
        move(catalog, tenant.slug, "dedicated", database_url=target)
    nothing_changed(catalog, tenant, before, stores)


@pytest.mark.parametrize("spelling", ["same URL", "another URL"])
def test_a_pooled_tenant_cannot_move_into_its_pool_by_url(catalog, make_tenant, spelling):
    """The same with the URL of T's pooled store: its rows there were deleted (the other
    tenants' were not)."""
    tenant, neighbour = make_tenant("pooled"), make_tenant("pooled")
    url = store_url(catalog, tenant.store_name)
    before = fingerprint(catalog, tenant.store_name, tenant.id)
    theirs = fingerprint(catalog, neighbour.store_name, neighbour.id)
    stores = store_names(catalog)
    target = url if spelling == "same URL" else alias(url)
    with pytest.raises(MoveError, match="lives in now"):
        move(catalog, tenant.slug, "dedicated", database_url=target)
    nothing_changed(catalog, tenant, before, stores)
    assert fingerprint(catalog, neighbour.store_name, neighbour.id) == theirs


def test_a_dedicated_target_is_not_another_stores_database(catalog, make_tenant):
    tenant, other = make_tenant("pooled"), make_tenant("dedicated")
    before = fingerprint(catalog, tenant.store_name, tenant.id)
    theirs = fingerprint(catalog, other.store_name, other.id)
    stores = store_names(catalog)
    with pytest.raises(MoveError, match=f"database of store {other.store_name}"):
        move(catalog, tenant.slug, "dedicated", database_url=store_url(catalog, other.store_name))
    nothing_changed(catalog, tenant, before, stores)
    assert fingerprint(catalog, other.store_name, other.id) == theirs


def test_a_dedicated_target_is_not_the_catalog(catalog, make_tenant):
    tenant = make_tenant("pooled")
    before = fingerprint(catalog, tenant.store_name, tenant.id)
    stores = store_names(catalog)
    with pytest.raises(MoveError, match="is the catalog database"):
        move(catalog, tenant.slug, "dedicated", database_url=catalog.settings.catalog_url)
    nothing_changed(catalog, tenant, before, stores)


def test_a_pool_registered_twice_is_no_target(catalog, make_tenant, register_alias):
    """`store add pool3 --url <pool1's URL>` was accepted; `tenant move X --to pooled
    --store pool3` then deleted X's rows. A catalog that has such a pair already (from
    before identities) still cannot lose X."""
    tenant = make_tenant("pooled")
    twin = register_alias(tenant.store_name)
    before = fingerprint(catalog, tenant.store_name, tenant.id)
    stores = store_names(catalog)
    with pytest.raises(MoveError, match=f"store {twin} is the database .* lives in now"):
        move(catalog, tenant.slug, "pooled", store_name=twin)
    nothing_changed(catalog, tenant, before, stores)


# -- item 1: every undo proves what it empties or drops ----------------------------------
def pending_move(catalog, tenant, target_name, *, created_target, phase=MovePhase.FENCED):
    """A move of ``tenant`` to ``target_name`` that a killed mover left at ``phase``."""
    with catalog.session() as session:
        target = catalog.store_named(session, target_name)
        placement = session.get(Placement, tenant.id)
        placement.state = "moving"
        session.add(
            TenantMove(
                tenant_id=tenant.id,
                source_store_id=placement.store_id,
                target_store_id=target.id,
                created_target=created_target,
                phase=phase,
            )
        )


def test_an_undo_never_empties_the_store_the_tenant_lives_in(catalog, make_tenant, register_alias):
    """A half-made move whose target is the tenant's own pool under another name: undoing
    it must not empty the "target"."""
    tenant = make_tenant("pooled")
    before = fingerprint(catalog, tenant.store_name, tenant.id)
    twin = register_alias(tenant.store_name)
    pending_move(catalog, tenant, twin, created_target=False)
    result = mobility.resume_move(catalog, tenant.slug)
    assert result.undone and f"left {twin} as it was" in result.source_fate
    assert placement_of(catalog, tenant.slug) == (tenant.store_name, "pooled", "active")
    assert fingerprint(catalog, tenant.store_name, tenant.id) == before
    with catalog.session() as session:
        assert session.get(TenantMove, tenant.id) is None


def test_an_undo_never_drops_the_database_the_tenant_lives_in(catalog, make_tenant, register_alias):
    """A half-made move whose "new" dedicated database is the tenant's own: the undo
    would have dropped it."""
    tenant = make_tenant("dedicated")
    url = store_url(catalog, tenant.store_name)
    before = fingerprint(catalog, tenant.store_name, tenant.id)
    twin = register_alias(tenant.store_name)
    pending_move(catalog, tenant, twin, created_target=True, phase=MovePhase.PREPARING)
    result = mobility.resume_move(catalog, tenant.slug)
    assert result.undone and "lives in now" in result.source_fate
    assert database_exists(catalog, url)
    assert fingerprint(catalog, tenant.store_name, tenant.id) == before
    assert twin not in store_names(catalog)  # the bogus row is forgotten, nothing else


def test_an_undo_never_drops_another_tenants_database(catalog, make_tenant, register_alias):
    """For a drop, no other store row may name that database: here a pooled tenant's
    half-made move whose target row names a dedicated tenant's database."""
    mover, other = make_tenant("pooled"), make_tenant("dedicated")
    theirs = fingerprint(catalog, other.store_name, other.id)
    twin = register_alias(other.store_name)
    pending_move(catalog, mover, twin, created_target=True, phase=MovePhase.PREPARING)
    result = mobility.resume_move(catalog, mover.slug)
    assert result.undone and f"also store {other.store_name}" in result.source_fate
    assert database_exists(catalog, store_url(catalog, other.store_name))
    assert fingerprint(catalog, other.store_name, other.id) == theirs
    assert placement_of(catalog, mover.slug) == (mover.store_name, "pooled", "active")


def test_resume_move_without_a_pending_move_does_nothing(catalog, make_tenant):
    tenant = make_tenant("pooled")
    assert mobility.resume_move(catalog, tenant.slug) is None
    assert placement_of(catalog, tenant.slug) == (tenant.store_name, "pooled", "active")


# -- item 2: the stores a move makes are known by identity -------------------------------
def test_a_new_dedicated_store_has_its_identity_recorded(catalog, make_tenant):
    tenant = make_tenant("pooled")
    result = move(catalog, tenant.slug, "dedicated")
    with catalog.session() as session:
        store = catalog.store_named(session, result.target)
        recorded, url = identity_of_store(store), catalog.store_url(store)
    assert recorded is not None
    assert recorded == read_identity(catalog.settings, url)
    move(catalog, tenant.slug, "pooled")  # and back: the dedicated database is dropped
    assert not database_exists(catalog, url)


# -- item 7: started before, outcome after ------------------------------------------------
def logged_moves(catalog, slug):
    with catalog.session() as session:
        rows = session.scalars(
            select(Operation)
            .where(Operation.tenant_slug == slug, Operation.action.like("tenant.move%"))
            .order_by(Operation.id)
        ).all()
        return [(row.action, row.outcome, row.finished_at is not None, row.detail) for row in rows]


def test_a_move_is_logged_when_it_starts_and_when_it_ends(catalog, make_tenant):
    tenant = make_tenant("pooled")
    with pytest.raises(MoveError):  # refused early: logged all the same
        move(catalog, tenant.slug, "pooled")
    with pytest.raises(mobility.SimulatedCrash):
        mobility.move_tenant(catalog, MoveRequest(tenant.slug, "dedicated"), fail_at="copy")
    move(catalog, tenant.slug, "dedicated")  # undoes the crashed one, then moves
    logged = logged_moves(catalog, tenant.slug)
    assert [(action, outcome, ended) for action, outcome, ended, _ in logged] == [
        ("tenant.move", "refused", True),
        ("tenant.move", "failed", True),
        ("tenant.move", "ok", True),
    ]
    assert "already in pooled store" in logged[0][3]["error"]
    assert logged[2][3]["earlier_move"].startswith("undone")
    assert logged[2][3]["target"] == placement_of(catalog, tenant.slug)[0]


# -- kept copies are recorded --------------------------------------------------------------
@pytest.fixture(scope="module")
def spare_pool(catalog):
    name = f"spare{secrets.token_hex(2)}"
    url = urls.with_database(store_url(catalog, "pool1"), catalog.settings.database_name(name))
    storeadmin.add_store(catalog, name, url, "pooled", accepting=False)
    return name


def kept_copies(catalog, tenant_id):
    with catalog.session() as session:
        rows = session.execute(
            select(Store.name, TenantCopy.reason)
            .join(Store, Store.id == TenantCopy.store_id)
            .where(TenantCopy.tenant_id == tenant_id)
        ).all()
        return {name: reason for name, reason in rows}


def test_keep_source_records_the_kept_copy(catalog, make_tenant, spare_pool):
    tenant = make_tenant("pooled")
    before = fingerprint(catalog, tenant.store_name, tenant.id)
    result = move(catalog, tenant.slug, "pooled", store_name=spare_pool, keep_source=True)
    assert "recorded as a kept copy" in result.source_fate
    copies = kept_copies(catalog, tenant.id)
    assert list(copies) == [tenant.store_name] and "--keep-source" in copies[tenant.store_name]
    assert fingerprint(catalog, tenant.store_name, tenant.id) == before  # the copy is there
    # moving back into it: the copy is the tenant itself again, no longer a copy
    move(catalog, tenant.slug, "pooled", store_name=tenant.store_name)
    assert kept_copies(catalog, tenant.id) == {}
    assert tenant_rows(catalog, spare_pool, tenant.id) == 0
