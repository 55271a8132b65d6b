"""`salesapp doctor` and the `check` lines that fail while it finds anything (issue 15,
item 8), on a deployment of its own: each inconsistent state is made for real (a
process killed with SIGKILL where it is a crash state, SQL as the owner or a superuser
where it is a hand at psql or an older version), then `check` fails, `doctor` lists it
with the command to repair, `doctor --yes` repairs it saying what it did, and `check`
passes again. Repairs empty or drop nothing a tenant lives in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql
from sqlalchemy import func, select, text, update

from salesapp.operations import bootstrap, door, identity, migrations, mobility, provisioning
from salesapp.operations.catalog import Catalog
from salesapp.operations.doctor import KIND_TITLES, ProblemKind, find_problems
from salesapp.operations.door import As
from salesapp.operations.models import Placement, Store, Tenant, TenantCopy, TenantMove
from salesapp.tenancy import urls
from salesapp.tenancy.binding import bind
from salesapp.tenancy.errors import FENCE_SQLSTATE
from tests.conftest import REPO, run_cli, write_ini

SALESAPP = os.path.join(os.path.dirname(sys.executable), "salesapp")


@dataclass
class Deployment:
    settings: object
    catalog: Catalog
    ini: Path


@pytest.fixture(scope="module")
def deployment(make_deployment, tmp_path_factory):
    """A deployment the tests break and the doctor mends."""
    settings = make_deployment()
    catalog = Catalog(settings)
    ini = write_ini(settings, tmp_path_factory.mktemp("doctor") / "doctor.ini")
    yield Deployment(settings, catalog, ini)
    catalog.dispose()


@pytest.fixture
def sound(deployment):
    """The deployment, with nothing for the doctor to find as the test starts."""
    assert [p.description for p in find_problems(deployment.catalog)] == []
    return deployment


def doctor(ini, *args, expect=0):
    """Run `salesapp -c INI doctor ARGS...` (the command object itself until the lead
    registers it in salesapp.cli)."""
    from salesapp.cli import Context, cli
    from salesapp.cli.doctor import doctor as command

    if "doctor" in cli.commands:
        return run_cli(ini, "doctor", *args, expect=expect)
    context = Context(str(ini))
    try:
        result = CliRunner().invoke(command, list(args), obj=context)
    finally:
        context.close()
    assert result.exit_code == expect, (result.exit_code, result.output, result.exception)
    return result


def found_and_repaired(d: Deployment, kind: ProblemKind, *words: str) -> str:
    """`check` fails on ``kind``, `doctor` lists it (with ``words``) and the command to
    repair, `doctor --yes` repairs it, `check` passes; returns what --yes printed."""
    checked = run_cli(d.ini, "check", expect=1).output
    assert f"FAIL  doctor: {KIND_TITLES[kind]}" in checked, checked
    listed = doctor(d.ini, expect=1).output
    assert f"[{kind}]" in listed, listed
    for word in words:
        assert word in listed, (word, listed)
    assert f"To repair: salesapp -c {d.ini} doctor --yes" in listed
    repaired = doctor(d.ini, "--yes").output
    assert "All repaired" in repaired, repaired
    assert f"{kind}: " in repaired
    assert doctor(d.ini).output.strip() == "No problems found."
    checked = run_cli(d.ini, "check").output
    assert f"PASS  doctor: {KIND_TITLES[kind]}" in checked and " 0 failed" in checked
    assert "Traceback" not in listed + repaired
    return repaired


def create(catalog, slug, placement="pooled", **kw) -> provisioning.ProvisionedTenant:
    return provisioning.create_tenant(
        catalog,
        provisioning.TenantRequest(
            name=slug, slug=slug, admin_email=f"admin@{slug}.example.org", placement=placement, **kw
        ),
    )


def superuser_on(d: Deployment, database: str) -> psycopg.Connection:
    return bootstrap.admin_connection(d.settings.server_admin_url, database)


def database_exists(d: Deployment, name: str) -> bool:
    with superuser_on(d, "postgres") as conn:
        return bootstrap.database_exists(conn, name)


def users_of(catalog, tenant_id: int, store_name: str) -> int:
    """The tenant's user rows in one store (as the owner, bound to the tenant)."""
    with door.store_connection(catalog, store_name) as conn:
        bind(conn, tenant_id)
        return conn.scalar(text("select count(*) from users"))


def rename_admin(catalog, slug: str) -> None:
    """A write as the app role, as a web request makes it."""
    with door.tenant_connection(catalog, slug, As.APP) as conn:
        conn.execute("update users set full_name = 'Renamed' where username = 'admin'")


def pool_url(d: Deployment) -> str:
    with d.catalog.session() as session:
        return d.catalog.store_url(d.catalog.store_named(session, "pool1"))


def wait_for_problem(catalog, kind: ProblemKind, timeout: float = 30.0) -> list:
    """The problems of ``kind``, once there are some (a lease may take seconds to lapse)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [p for p in find_problems(catalog) if p.kind == kind]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


# -- a sound deployment -------------------------------------------------------------------
def test_a_sound_deployment_has_no_problem_and_init_recorded_the_pool_identity(sound):
    d = sound
    with d.catalog.session() as session:
        pool = d.catalog.store_named(session, "pool1")
        recorded = identity.identity_of_store(pool)
    assert recorded == identity.read_identity(d.settings, pool_url(d))
    assert doctor(d.ini).output.strip() == "No problems found."
    assert json.loads(doctor(d.ini, "--json").output) == {
        "problems": [],
        "repaired": [],
        "remaining": [],
        "repair_command": None,
    }
    checked = run_cli(d.ini, "check").output
    for kind in ProblemKind:
        assert f"PASS  doctor: {KIND_TITLES[kind]}" in checked
    # init again keeps it (idempotent)
    bootstrap.init_deployment(d.settings)
    assert doctor(d.ini).output.strip() == "No problems found."


# -- the app role -------------------------------------------------------------------------
def test_grant_owner_to_app_fails_check_and_is_revoked(sound, admin_conn, monkeypatch):
    """`GRANT <owner> TO <app>` made the app role the tables' owner in all but name, and
    `check` passed (issue 15, item 8); also through a role in between. Revoking needs a
    superuser: without the server-admin URL the doctor says so and changes nothing."""
    d = sound
    app, owner = d.settings.app_role, d.settings.owner_role
    middle = f"{d.settings.role_prefix}_middle"

    def grant(role, member):
        admin_conn.execute(
            sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(member))
        )

    admin_conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(middle)))
    grant(owner, app)
    grant(owner, middle)
    grant(middle, app)
    checked = run_cli(d.ini, "check", expect=1).output
    assert (
        f"FAIL  store pool1 app role least-privileged: app role {app} is a member of role "
        f"{middle}: more than DML; app role {app} is a member of role {owner}: " in checked
    )
    left = doctor(d.ini, "--yes", expect=1).output
    assert f"REVOKE {owner} FROM {app} was refused" in left
    assert "SALESAPP_SERVER_ADMIN_URL" in left and "Traceback" not in left
    monkeypatch.setenv("SALESAPP_SERVER_ADMIN_URL", d.settings.server_admin_url)
    repaired = found_and_repaired(
        d, ProblemKind.APP_ROLE_PRIVILEGES, f"member of role {owner}", f"REVOKE {middle} FROM {app}"
    )
    assert f"revoked {owner} from {app}" in repaired and f"revoked {middle} from {app}" in repaired
    members = admin_conn.execute(
        "select count(*) from pg_auth_members where member = to_regrole(%s)", (app,)
    ).fetchone()[0]
    assert members == 0


def test_table_privileges_beyond_dml_are_revoked(sound):
    d = sound
    app = d.settings.app_role
    with superuser_on(d, urls.database_of(pool_url(d))) as conn:
        conn.execute(sql.SQL("GRANT TRUNCATE ON products TO {}").format(sql.Identifier(app)))
    checked = run_cli(d.ini, "check", expect=1).output
    assert f"app role {app} holds TRUNCATE on products" in checked
    repaired = found_and_repaired(d, ProblemKind.APP_ROLE_PRIVILEGES, "TRUNCATE on products")
    assert "revoked TRUNCATE on products" in repaired
    with door.store_connection(d.catalog, "pool1", As.APP) as conn:  # DML is still there
        assert conn.scalar(text("select has_table_privilege('products', 'DELETE')"))
        assert not conn.scalar(text("select has_table_privilege('products', 'TRUNCATE')"))


# -- fences -------------------------------------------------------------------------------
def test_a_fence_row_in_the_tenants_own_store_is_lifted(sound):
    d = sound
    tenant = create(d.catalog, "fenced-in")
    with psycopg.connect(urls.libpq_url(pool_url(d)), autocommit=True) as conn:
        conn.execute(
            "insert into tenant_fences (fenced_tenant, reason) values (%s, 'left by hand')",
            (tenant.id,),
        )
    with pytest.raises(psycopg.Error) as refused:
        rename_admin(d.catalog, tenant.slug)
    assert refused.value.sqlstate == FENCE_SQLSTATE
    repaired = found_and_repaired(
        d, ProblemKind.FENCE_WITHOUT_MOVER, "'fenced-in'", "fenced off in store pool1"
    )
    assert "lifted the fence of 'fenced-in' in store pool1" in repaired
    rename_admin(d.catalog, tenant.slug)  # writes go through again


def test_a_placement_moving_with_no_move_is_made_active(sound):
    d = sound
    tenant = create(d.catalog, "stuck-moving")
    with d.catalog.session() as session:
        session.execute(
            update(Placement).where(Placement.tenant_id == tenant.id).values(state="moving")
        )
    repaired = found_and_repaired(d, ProblemKind.FENCE_WITHOUT_MOVER, "'stuck-moving'", "'moving'")
    assert "set the placement of 'stuck-moving' active again" in repaired
    with d.catalog.session() as session:
        assert session.get(Placement, tenant.id).state == "active"


# -- the catalog's records of stores ----------------------------------------------------------
def test_a_wrong_revision_record_is_corrected(sound):
    d = sound
    with d.catalog.session() as session:
        session.execute(update(Store).where(Store.name == "pool1").values(schema_revision="t0005"))
    head = migrations.head_revision("tenant")
    repaired = found_and_repaired(
        d, ProblemKind.REVISION_MISMATCH, f"store pool1 is at schema revision {head}", "t0005"
    )
    assert f"recorded store pool1's revision {head} (the catalog had t0005)" in repaired


def test_a_missing_store_identity_is_read_and_recorded(sound):
    d = sound
    with d.catalog.session() as session:
        session.execute(
            update(Store)
            .where(Store.name == "pool1")
            .values(system_identifier=None, database_oid=None)
        )
    repaired = found_and_repaired(d, ProblemKind.STORE_IDENTITY, "pool1 has no recorded identity")
    live = identity.read_identity(d.settings, pool_url(d))
    assert f"recorded store pool1's identity {live}" in repaired
    with d.catalog.session() as session:
        assert identity.identity_of_store(d.catalog.store_named(session, "pool1")) == live


def test_two_store_rows_naming_one_database_are_merged_and_no_row_is_lost(sound):
    """What `store add pool3 --url <pool1's URL>` registered before identities (issue 15,
    item 2): a tenant placed through the second row, and a "kept copy" recorded there
    that is in truth its live rows. Removing that copy would empty the tenant; the merge
    forgets the record and keeps every row."""
    d = sound
    spelled = urls.plain(urls.parse(pool_url(d)).update_query_dict({"application_name": "dup"}))
    with d.catalog.session() as session:
        session.add(
            Store(
                name="pool3",
                kind="pooled",
                url_encrypted=d.catalog.box.encrypt(spelled),
                schema_revision=migrations.head_revision("tenant"),
            )
        )
    tenant = create(d.catalog, "twice-named", store_name="pool3")
    with d.catalog.session() as session:
        pool3 = d.catalog.store_named(session, "pool3")
        session.add(TenantCopy(tenant_id=tenant.id, store_id=pool3.id, reason="kept by a move"))
    before = users_of(d.catalog, tenant.id, "pool1")
    assert before == 1
    problems = find_problems(d.catalog)
    assert {p.kind for p in problems} == {ProblemKind.DUPLICATE_STORE, ProblemKind.KEPT_COPY}
    repaired = found_and_repaired(d, ProblemKind.DUPLICATE_STORE, "stores pool1, pool3 name one")
    assert "merged store pool3 into pool1" in repaired and "no database touched" in repaired
    with d.catalog.session() as session:
        assert d.catalog.store_by_name(session, "pool3") is None
        assert session.get(Placement, tenant.id).store.name == "pool1"
        assert session.scalar(select(func.count()).select_from(TenantCopy)) == 0
    assert users_of(d.catalog, tenant.id, "pool1") == before
    rename_admin(d.catalog, tenant.slug)


def test_a_store_row_naming_the_catalog_database_is_removed(sound):
    """`store add` took the catalog's own URL before (issue 15, item 2). With no tenant
    in it, the row goes; the catalog database is of course left as it is."""
    d = sound
    with d.catalog.session() as session:
        session.add(
            Store(
                name="cat",
                kind="pooled",
                url_encrypted=d.catalog.box.encrypt(d.settings.catalog_url),
            )
        )
    repaired = found_and_repaired(
        d, ProblemKind.DUPLICATE_STORE, "store cat names the catalog database"
    )
    assert "removed store row cat from the catalog; no database touched" in repaired
    assert database_exists(d, urls.database_of(d.settings.catalog_url))


# -- databases no store names -------------------------------------------------------------
def test_a_database_kept_by_delete_keep_database_is_dropped(sound):
    d = sound
    tenant = create(d.catalog, "kept-db", "dedicated")
    run_cli(d.ini, "tenant", "delete", "kept-db", "--force", "--keep-database")
    assert database_exists(d, tenant.database)
    repaired = found_and_repaired(
        d, ProblemKind.STRAY_DATABASE, f"database {tenant.database}", "is named by no store"
    )
    assert f"dropped database {tenant.database}" in repaired
    assert not database_exists(d, tenant.database)


@pytest.mark.parametrize("owner", ["superuser", "owner role"])
def test_a_stray_database_not_a_store_is_listed_and_left_to_a_person(sound, admin_conn, owner):
    """A database of the deployment's prefix that salesapp did not make as a store (owned
    by someone else, or holding tables of its own) is reported, never dropped."""
    d = sound
    name = d.settings.database_name("someone_elses")
    create_db = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if owner == "owner role":
        create_db = sql.SQL("{} OWNER {}").format(create_db, sql.Identifier(d.settings.owner_role))
    admin_conn.execute(create_db)
    try:
        with superuser_on(d, name) as conn:
            conn.execute("create table invoices (id int)")
            conn.execute("insert into invoices values (1)")
        run_cli(d.ini, "check", expect=1)
        listed = doctor(d.ini, expect=1).output
        assert f"database {name}" in listed and "needs a person" in listed
        why = "owned by postgres" if owner == "superuser" else "(1 relation, not a salesapp schema)"
        assert why in listed
        left = doctor(d.ini, "--yes", expect=1).output
        assert "left for a person" in left and database_exists(d, name)
    finally:
        bootstrap.drop_database(admin_conn, name)
    run_cli(d.ini, "check")


def test_databases_the_stores_name_are_never_strays(sound):
    """A dedicated store reached by a URL spelled another way, its identity not yet
    recorded: named by identity, so neither listed nor dropped."""
    d = sound
    tenant = create(d.catalog, "own-db", "dedicated")
    with d.catalog.session() as session:
        store = d.catalog.store_named(session, tenant.store_name)
        url = d.catalog.store_url(store)
        store.url_encrypted = d.catalog.box.encrypt(
            urls.plain(urls.parse(url).update_query_dict({"application_name": "other"}))
        )
        store.system_identifier = store.database_oid = None
    kinds = {p.kind for p in find_problems(d.catalog)}
    assert kinds == {ProblemKind.STORE_IDENTITY}
    doctor(d.ini, "--yes")
    assert database_exists(d, tenant.database)
    assert users_of(d.catalog, tenant.id, tenant.store_name) == 1


# -- kept copies --------------------------------------------------------------------------
def test_a_copy_kept_by_move_keep_source_is_removed(sound):
    d = sound
    tenant = create(d.catalog, "kept-copy")
    run_cli(d.ini, "tenant", "move", "kept-copy", "--to", "dedicated", "--keep-source")
    with d.catalog.session() as session:
        copies = session.scalars(select(TenantCopy).where(TenantCopy.tenant_id == tenant.id)).all()
        assert [c.store_id for c in copies] == [d.catalog.store_named(session, "pool1").id]
        home = session.get(Placement, tenant.id).store.name
    assert users_of(d.catalog, tenant.id, "pool1") == 1  # the copy
    found_and_repaired(d, ProblemKind.KEPT_COPY, "'kept-copy' has a copy kept in store pool1")
    assert users_of(d.catalog, tenant.id, "pool1") == 0
    assert users_of(d.catalog, tenant.id, home) == 1
    rename_admin(d.catalog, tenant.slug)


def test_a_copy_recorded_where_the_tenant_lives_is_forgotten_not_emptied(sound):
    """A kept-copy record naming the store the tenant lives in (it moved back): the
    "copy" is its live data, so only the record goes."""
    d = sound
    tenant = create(d.catalog, "came-back")
    with d.catalog.session() as session:
        pool = d.catalog.store_named(session, "pool1")
        session.add(TenantCopy(tenant_id=tenant.id, store_id=pool.id, reason="kept, then back"))
    repaired = found_and_repaired(d, ProblemKind.KEPT_COPY, "'came-back' has a copy kept")
    assert "only the record of the copy was removed" in repaired
    assert users_of(d.catalog, tenant.id, "pool1") == 1
    rename_admin(d.catalog, tenant.slug)


# -- crashes: kill -9 ---------------------------------------------------------------------
def killed(d: Deployment, hook: tuple[str, str], *args: str) -> subprocess.CompletedProcess:
    """Run `salesapp -c INI ARGS...` with its crash hook (variable, "command:step") set:
    it kills itself with SIGKILL right after that step."""
    env = {**os.environ, hook[0]: hook[1]}
    done = subprocess.run(
        [SALESAPP, "-c", str(d.ini), *args], env=env, capture_output=True, text=True, cwd=REPO
    )
    assert done.returncode == -9, done.stdout + done.stderr
    return done


@pytest.mark.parametrize("step", ["copy", "flip"])
def test_a_move_whose_mover_was_killed_is_settled(sound, step):
    d = sound
    tenant = create(d.catalog, f"killed-at-{step}")
    killed(
        d, (mobility.CRASH_ENV, f"move:{step}"), "tenant", "move", tenant.slug, "--to", "dedicated"
    )
    [problem] = wait_for_problem(d.catalog, ProblemKind.HALF_DONE_MOVE)
    assert f"stopped at phase {'flipped' if step == 'flip' else 'copied'}" in problem.description
    repaired = found_and_repaired(
        d, ProblemKind.HALF_DONE_MOVE, f"'{tenant.slug}'", "mover is gone"
    )
    with d.catalog.session() as session:
        assert session.get(TenantMove, tenant.id) is None
        placement = session.get(Placement, tenant.id)
        home = placement.store.name
        assert placement.state == "active"
    # wholly in one store: before the switch the source, after it the target
    assert (home == "pool1") is (step == "copy"), repaired
    assert users_of(d.catalog, tenant.id, home) == 1
    if home != "pool1":
        assert users_of(d.catalog, tenant.id, "pool1") == 0
    rename_admin(d.catalog, tenant.slug)


def test_a_creation_whose_creator_was_killed_is_undone(sound):
    d = sound
    slug = "killed-creation"
    name = provisioning.dedicated_database_name(d.catalog, slug)
    killed(
        d,
        (provisioning.CRASH_ENV, "create:seed"),
        *("tenant", "create", "--dedicated", "--", "Killed", slug, "admin@killed.example.org"),
    )
    assert database_exists(d, name)
    [problem] = wait_for_problem(d.catalog, ProblemKind.STUCK_PROVISIONING)
    assert f"tenant {slug!r}" in problem.description
    # its database is the creation's, not a stray: the undo owns it
    assert not [p for p in find_problems(d.catalog) if p.kind == ProblemKind.STRAY_DATABASE]
    found_and_repaired(d, ProblemKind.STUCK_PROVISIONING, f"{slug!r}", "stuck in provisioning")
    assert not database_exists(d, name)
    with d.catalog.session() as session:
        assert session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is None
    create(d.catalog, slug)  # the subdomain is free again
