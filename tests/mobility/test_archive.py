"""Tenant backup, restore and clone (salesapp.operations.archive, `salesapp tenant backup |
restore | clone`): what an archive holds (one tenant's rows and nothing of its
neighbours'), restores under a new subdomain into either kind of store that work like
the original, refusals that change nothing, atomicity at every step, archives of an
older schema migrated forward, and clones."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import secrets
import uuid
import zipfile
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import delete, func, select

from salesapp.inventory.services import InventoryService
from salesapp.operations import bootstrap, lifecycle, migrations, storeadmin
from salesapp.operations.archive import ArchiveError, backup_tenant, restore_tenant
from salesapp.operations.models import Domain, Placement, Store, Tenant
from salesapp.operations.tablecopy import TableSpec, checksum, normalize, set_tenant, table_specs
from salesapp.operations.tokens import issue_token
from salesapp.operations.workspace import tenant_accounts
from salesapp.products.services import ProductService
from salesapp.tenancy import urls
from tests.api.conftest import ApiClient
from tests.conftest import BASE_DOMAIN, run_cli, short_demo, sign_in, wait_for
from tests.mobility.conftest import fingerprint, placement_of, store_url

TODAY = dt.datetime.now(dt.UTC).date()
REPORT_RANGE = {"from": (TODAY - dt.timedelta(days=365)).isoformat(), "to": TODAY.isoformat()}


# -- helpers ----------------------------------------------------------------------------
def new_slug(prefix="r") -> str:
    return f"{prefix}{secrets.token_hex(4)}"


def host(slug: str) -> str:
    return f"{slug}.{BASE_DOMAIN}"


def tenant_id_of(catalog, slug) -> int:
    with catalog.session() as session:
        return catalog.tenant(session, slug).id


def query(catalog, store_name, tenant_id, statement, params=()):
    """Rows of a read-only query on a tenant's store, as the owner under its setting."""
    with psycopg.connect(urls.libpq_url(store_url(catalog, store_name))) as conn:
        conn.execute("SET TRANSACTION READ ONLY")
        set_tenant(conn, tenant_id)
        return conn.execute(statement, params).fetchall()


def catalog_state(catalog) -> dict:
    """What the catalog holds, to compare before and after something that must change
    nothing."""
    with catalog.session() as session:
        return {
            "tenants": sorted(session.scalars(select(Tenant.slug)).all()),
            "placements": session.scalar(select(func.count()).select_from(Placement)),
            "stores": sorted(session.scalars(select(Store.name)).all()),
            "domains": sorted(session.scalars(select(Domain.host)).all()),
            "max_tenant_id": session.scalar(select(func.max(Tenant.id))),
        }


def databases(admin_conn, catalog) -> set[str]:
    """This deployment's databases (other test sessions may share the server)."""
    prefix = catalog.settings.role_prefix
    return {
        row[0]
        for row in admin_conn.execute(
            "select datname from pg_database where datname like %s", (prefix + "\\_%",)
        )
    }


def rows_of_tenants_above(server_admin_url, store_owner_url, tenant_id) -> dict[str, int]:
    """Rows with a tenant id above ``tenant_id`` in a store, per table (as a superuser,
    who is not subject to row-level security: so every tenant's rows are seen)."""
    url = urls.with_database(server_admin_url, urls.database_of(store_owner_url))
    with psycopg.connect(urls.libpq_url(url)) as conn:
        found = {}
        for spec in table_specs(conn):
            (count,) = conn.execute(
                sql.SQL("select count(*) from {} where tenant_id > %s").format(
                    sql.Identifier(spec.name)
                ),
                (tenant_id,),
            ).fetchone()
            if count:
                found[spec.name] = count
        return found


def refused(result, *fragments) -> str:
    """The one-line error of a refused command (exit 1, no traceback)."""
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def rewrite_archive(source: Path, target: Path, manifest=None, members=None, drop=()):
    """A copy of an archive with another manifest and/or other member contents."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename in drop:
                continue
            if info.filename == "manifest.json" and manifest is not None:
                new.writestr("manifest.json", json.dumps(manifest, indent=2))
            elif members and info.filename in members:
                new.writestr(info.filename, members[info.filename])
            else:
                new.writestr(info.filename, old.read(info.filename))
    return target


def data_offset(raw: bytes, path: Path, member: str) -> int:
    """Where a member's (compressed) data begins in the zip file: after its 30-byte
    local header, its name and its extra field."""
    with zipfile.ZipFile(path) as zf:
        at = zf.getinfo(member).header_offset
    name_len = int.from_bytes(raw[at + 26 : at + 28], "little")
    extra_len = int.from_bytes(raw[at + 28 : at + 30], "little")
    return at + 30 + name_len + extra_len


def member_of(manifest, table) -> str:
    return next(t["file"] for t in manifest["tables"] if t["name"] == table)


# -- module tenants: made once, never changed by a test ----------------------------------
@pytest.fixture(scope="module")
def neighbour(make_tenant, make_user, catalog):
    """A pooled tenant with rows of its own (a user, a product), in the default store."""
    tenant = make_tenant("pooled")
    make_user(tenant, ("Cashiers",), username="neighbourzq")
    with tenant_accounts(catalog, tenant.slug) as (_, accounts):
        ProductService(accounts.db, tenant.id).create(
            sku="NEIGHBOUR-SKU", name="Neighbour's own item", unit_price=Decimal("1.00")
        )
    return tenant


@pytest.fixture(scope="module")
def source(neighbour, make_tenant):
    """A pooled tenant with a month of demo data, in the neighbour's store."""
    with short_demo():
        return make_tenant("pooled", demo_data=True, trial_days=20, max_users=7)


@pytest.fixture(scope="module")
def source_fp(catalog, source):
    return fingerprint(catalog, source.store_name, source.id)


@pytest.fixture(scope="module")
def dedicated_source(make_tenant, make_user, catalog):
    """A dedicated tenant with a few rows of its own."""
    tenant = make_tenant("dedicated", multi_location=True)
    make_user(tenant, ("Managers",), username="dmanager")
    with tenant_accounts(catalog, tenant.slug) as (_, accounts):
        ProductService(accounts.db, tenant.id).create(
            sku="D-1", name="Dedicated item", unit_price=Decimal("4.20")
        )
    return tenant


@pytest.fixture(scope="module")
def archives(tmp_path_factory, ini_file, source, source_fp, dedicated_source):
    """The two sources backed up with `salesapp tenant backup`: {kind: (path, output)}."""
    folder = tmp_path_factory.mktemp("archives")
    made = {}
    for kind, tenant in (("pooled", source), ("dedicated", dedicated_source)):
        path = folder / f"{tenant.slug}.zip"
        result = run_cli(ini_file, "tenant", "backup", tenant.slug, "-o", str(path))
        made[kind] = (path, result.output)
    return made


@pytest.fixture(scope="module")
def archive(archives):
    return archives["pooled"][0]


@pytest.fixture(scope="module")
def manifest(archive):
    with zipfile.ZipFile(archive) as zf:
        return json.loads(zf.read("manifest.json"))


# -- 1. what a backup holds ----------------------------------------------------------------
def test_backup_manifest_matches_the_source(
    catalog, source, neighbour, source_fp, archives, manifest
):
    assert source.store_name == neighbour.store_name  # the neighbour shares the store
    output = archives["pooled"][1]
    total = sum(rows for rows, _ in source_fp.values())
    assert f"Backed up {source.slug} (Tenant {source.slug}): {total} rows in " in output
    assert manifest["format"] == "salesapp-tenant-archive"
    assert manifest["version"] == 1
    assert manifest["schema_revision"] == migrations.head_revision("tenant")
    assert f"schema {manifest['schema_revision']}" in output
    entry = manifest["tenant"]
    assert (entry["slug"], entry["source_tenant_id"], entry["source_kind"]) == (
        source.slug,
        source.id,
        "pooled",
    )
    assert (entry["max_users"], entry["status"], entry["domains"]) == (7, "active", [])
    # every table of the store, with the source's rows and checksums
    assert {t["name"]: (t["rows"], t["checksum"]) for t in manifest["tables"]} == source_fp
    assert source_fp["sales"][0] > 0 and source_fp["expenses"][0] > 0  # demo data is there
    # parents before children: users before user_roles, sales before sale_lines
    order = [t["name"] for t in manifest["tables"]]
    assert order.index("users") < order.index("user_roles")
    assert order.index("sales") < order.index("sale_lines")


def test_backup_data_files_hold_exactly_the_tenants_rows(
    catalog, source, neighbour, source_fp, archive, manifest
):
    # every id of every row the neighbour has, and its tell-tale values
    foreign = {"neighbourzq", "NEIGHBOUR-SKU", "Neighbour's own item"}
    with psycopg.connect(urls.libpq_url(store_url(catalog, neighbour.store_name))) as conn:
        set_tenant(conn, neighbour.id)
        for spec in table_specs(conn):
            if "id" in spec.columns:
                foreign |= {
                    str(row[0])
                    for row in conn.execute(
                        sql.SQL("select id from {}").format(sql.Identifier(spec.name))
                    )
                }
    assert len(foreign) > 5  # users, roles, a location, a product...
    own_admin = query(
        catalog, source.store_name, source.id, "select id::text from users where username = 'admin'"
    )[0][0]

    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
        assert names == {"manifest.json"} | {t["file"] for t in manifest["tables"]}
        seen = ""
        for table in manifest["tables"]:
            data = zf.read(table["file"])
            assert hashlib.sha256(data).hexdigest() == table["sha256"]
            text = data.decode()
            # COPY text: a line per row; the count is the source's
            assert text.count("\n") == table["rows"] == source_fp[table["name"]][0], table["name"]
            assert not [value for value in foreign if value in text], table["name"]
            seen += text
    assert own_admin in seen  # the check above can see an id when it is there
    assert all("tenant_id" not in t["columns"] for t in manifest["tables"])


def test_backup_reads_one_snapshot(catalog, make_tenant, tmp_path):
    """A write committed while the backup runs (after its first table) is not in it:
    the manifest and data files agree with the tenant as it was when the backup began."""
    tenant = make_tenant("pooled")
    before = fingerprint(catalog, tenant.store_name, tenant.id)
    tables = []

    def write_meanwhile(event, **info):
        tables.append(info["table"])
        if len(tables) == 1:
            with tenant_accounts(catalog, tenant.slug) as (_, accounts):
                ProductService(accounts.db, tenant.id).create(
                    sku="MEANWHILE", name="Written during the backup", unit_price=Decimal("1")
                )

    made = backup_tenant(catalog, tenant.slug, tmp_path / "b.zip", progress=write_meanwhile)

    assert tables.index("products") > 0  # products were read after the write
    after = fingerprint(catalog, tenant.store_name, tenant.id)
    assert after["products"][0] == before["products"][0] + 1  # the write landed
    assert {t["name"]: (t["rows"], t["checksum"]) for t in made["tables"]} == before
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        assert b"MEANWHILE" not in zf.read(member_of(made, "products"))


# -- 2. restores that work -----------------------------------------------------------------
def sell_and_report(app, client_for, catalog, slug, password, expected_sales, last_number):
    """The restored tenant works: its admin signs in over the web with the source's
    password, the sales report counts the source's sales, and a sale by API succeeds
    with the next invoice number."""
    client = client_for(host(slug))
    assert wait_for(lambda: client.get("/login", expect_errors=True).status_int == 200)
    sign_in(client, "admin", "not-the-password", status=400)  # a wrong password is refused
    sign_in(client, "admin", password)
    assert client.get("/reports", status=200)
    csv_rows = client.get("/reports/sales-by-day.csv", params=REPORT_RANGE, status=200).text
    total = list(csv.reader(io.StringIO(csv_rows)))[-1]
    assert total[0] == "Total" and int(total[1]) == expected_sales, csv_rows[-300:]

    api = ApiClient(app, host(slug), issue_token(catalog, slug, "admin", "tests").plaintext)
    product = api.post(
        "/api/products", {"sku": "AFTER-RESTORE", "name": "New item", "unit_price": "3.00"}
    ).json
    with tenant_accounts(catalog, slug) as (tenant, accounts):
        inventory = InventoryService(accounts.db, tenant.id)
        inventory.receive(uuid.UUID(product["id"]), inventory.default_location().id, Decimal("5"))
    sale = api.post(
        "/api/sales",
        {
            "lines": [{"sku": "AFTER-RESTORE", "quantity": "2"}],
            "payments": [{"method": "cash", "amount": "10"}],
        },
    ).json
    assert (sale["total"], sale["change_due"]) == ("6.00", "4.00")
    assert sale["number"] == last_number + 1
    assert api.get(f"/api/sales/{sale['id']}").json["id"] == sale["id"]


def countable_sales(catalog, tenant) -> tuple[int, int]:
    """(sales the sales-by-day report counts over REPORT_RANGE, last invoice number)."""
    (count,) = query(
        catalog,
        tenant.store_name,
        tenant.id,
        "select count(*) from sales where status <> 'voided' "
        "and (created_at at time zone 'UTC')::date between %s and %s",
        (REPORT_RANGE["from"], REPORT_RANGE["to"]),
    )[0]
    last = query(
        catalog,
        tenant.store_name,
        tenant.id,
        "select coalesce(max(last_number), 0) from invoice_counters",
    )[0][0]
    return count, last


@pytest.mark.parametrize("into", ["pooled", "dedicated"])
@pytest.mark.parametrize("source_kind", ["pooled", "dedicated"])
def test_restore_under_a_new_subdomain(
    source_kind,
    into,
    request,
    catalog,
    cli,
    app,
    client_for,
    archives,
):
    tenant = request.getfixturevalue("source" if source_kind == "pooled" else "dedicated_source")
    expected = fingerprint(catalog, tenant.store_name, tenant.id)
    sales, last_number = countable_sales(catalog, tenant)
    path = archives[source_kind][0]
    slug = new_slug()

    # the archive's credentials kept: this test is about the data coming back whole
    # (tests/operations/test_clone_credentials.py: a copy gets new ones by default)
    result = cli("tenant", "restore", str(path), "--as", slug, f"--{into}", "--keep-credentials")

    assert (
        f"Restored {tenant.slug} as {slug} (Tenant {tenant.slug}), {into} in store" in result.output
    )
    assert "checksums verified" in result.output
    assert "migrated" not in result.output and "Domains:" not in result.output
    store_name, kind, state = placement_of(catalog, slug)
    assert (kind, state) == (into, "active")
    new_id = tenant_id_of(catalog, slug)
    assert new_id != tenant.id
    assert fingerprint(catalog, store_name, new_id) == expected
    # the source is untouched
    assert fingerprint(catalog, tenant.store_name, tenant.id) == expected
    with catalog.session() as session:
        restored, original = catalog.tenant(session, slug), catalog.tenant(session, tenant.slug)
        assert (restored.name, restored.admin_email, restored.max_users) == (
            original.name,
            original.admin_email,
            original.max_users,
        )
        assert restored.multi_location == original.multi_location
        assert restored.status == "active" and restored.domains == []
    sell_and_report(app, client_for, catalog, slug, tenant.admin_password, sales, last_number)
    if source_kind == "pooled":
        assert sales > 0  # the report check above counted real sales


def test_restore_as_itself_after_deletion_keeps_its_domains(
    catalog, make_tenant, make_user, tmp_path, cli, client_for
):
    tenant = make_tenant("pooled", trial_days=10, max_users=3)
    make_user(tenant, ("Managers",), username="keeper")
    domain = f"shop-{tenant.slug}.example.org"
    lifecycle.add_domain(catalog, tenant.slug, domain)
    before = fingerprint(catalog, tenant.store_name, tenant.id)
    with catalog.session() as session:
        trial_end = catalog.tenant(session, tenant.slug).trial_ends_at
    path = tmp_path / "t.zip"
    backup_tenant(catalog, tenant.slug, path)
    lifecycle.delete_tenant(catalog, tenant.slug)

    # bringing a deleted tenant back as itself: its own credentials are kept
    result = cli("tenant", "restore", str(path), "--keep-credentials")

    assert f"Restored {tenant.slug} as {tenant.slug}" in result.output
    assert f"Domains: {domain}" in result.output
    new_id = tenant_id_of(catalog, tenant.slug)
    assert placement_of(catalog, tenant.slug)[1:] == ("pooled", "active")
    assert fingerprint(catalog, tenant.store_name, new_id) == before
    with catalog.session() as session:
        restored = catalog.tenant(session, tenant.slug)
        assert [(d.host, d.is_primary) for d in restored.domains] == [(domain, True)]
        assert restored.max_users == 3
        assert trial_end <= restored.trial_ends_at <= trial_end + dt.timedelta(days=1)
    client = client_for(domain)
    assert wait_for(lambda: client.get("/login", expect_errors=True).status_int == 200)
    sign_in(client, "admin", tenant.admin_password)


# -- 3. refusals that change nothing ---------------------------------------------------------
def test_restore_refuses_a_subdomain_that_exists(catalog, cli, archive, source, neighbour):
    before = catalog_state(catalog)
    refused(
        cli("tenant", "restore", str(archive), "--as", neighbour.slug, expect=None),
        f"subdomain {neighbour.slug!r} exists; restore under another with --as",
    )
    refused(
        cli("tenant", "restore", str(archive), "--dedicated", expect=None),
        f"subdomain {source.slug!r} exists; restore under another with --as",
    )
    assert catalog_state(catalog) == before


# -- 4. damaged and wrong files ----------------------------------------------------------------
def test_a_damaged_data_file_is_refused_naming_it(
    catalog, cli, archive, manifest, tmp_path, admin_conn
):
    member = member_of(manifest, "products")
    with zipfile.ZipFile(archive) as zf:
        data = bytearray(zf.read(member))
    data[len(data) // 2] ^= 0x01  # one bit of one row
    damaged = rewrite_archive(archive, tmp_path / "damaged.zip", members={member: bytes(data)})
    before, dbs = catalog_state(catalog), databases(admin_conn, catalog)

    refused(
        cli("tenant", "restore", str(damaged), "--as", new_slug(), "--dedicated", expect=None),
        str(damaged),
        member,
        "damaged",
    )
    assert catalog_state(catalog) == before and databases(admin_conn, catalog) == dbs


def test_bytes_flipped_in_the_zip_itself_are_refused_naming_the_file(
    catalog, cli, archive, manifest, tmp_path
):
    """Corruption on disk (not a rewritten archive): the compressed stream of a data
    member is damaged."""
    member = member_of(manifest, "sales")
    raw = bytearray(archive.read_bytes())
    start = data_offset(raw, archive, member)
    with zipfile.ZipFile(archive) as zf:
        third = zf.getinfo(member).compress_size // 3
    for offset in range(start + third, start + third + 16):
        raw[offset] ^= 0xFF
    damaged = tmp_path / "bitrot.zip"
    damaged.write_bytes(bytes(raw))
    before = catalog_state(catalog)

    result = cli("tenant", "restore", str(damaged), "--as", new_slug(), expect=None)

    refused(result, str(damaged), member)
    assert catalog_state(catalog) == before


def test_a_damaged_compressed_stream_is_refused_naming_the_file(
    catalog, cli, archive, manifest, tmp_path
):
    """One damaged byte on disk, at the start of a data member's deflate stream: its
    block type becomes the reserved one, so zlib cannot even start to inflate it."""
    member = member_of(manifest, "sales")
    raw = bytearray(archive.read_bytes())
    start = data_offset(raw, archive, member)
    raw[start] |= 0b110  # BTYPE = 11: "invalid block type"
    damaged = tmp_path / "badblock.zip"
    damaged.write_bytes(bytes(raw))
    before = catalog_state(catalog)

    result = cli("tenant", "restore", str(damaged), "--as", new_slug(), expect=None)

    assert catalog_state(catalog) == before
    refused(result, str(damaged), member)


def test_wrong_and_missing_files_are_refused(catalog, cli, tmp_path, archive):
    before = catalog_state(catalog)
    text = tmp_path / "notes.zip"
    text.write_text("this is not an archive\n")
    refused(
        cli("tenant", "restore", str(text), "--as", new_slug(), expect=None),
        str(text),
        "not a readable archive",
    )
    missing = tmp_path / "nowhere.zip"
    refused(
        cli("tenant", "restore", str(missing), "--as", new_slug(), expect=None),
        f"no such file: {missing}",
    )
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("readme.txt", "hello")
    refused(
        cli("tenant", "restore", str(other), "--as", new_slug(), expect=None),
        "no manifest.json",
    )
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    refused(
        cli("tenant", "restore", str(truncated), "--as", new_slug(), expect=None),
        str(truncated),
    )
    assert catalog_state(catalog) == before


# -- 5. atomicity ------------------------------------------------------------------------------
@pytest.mark.parametrize("placement", ["pooled", "dedicated"])
@pytest.mark.parametrize("step", ["catalog", "database", "seed", "activate"])
def test_a_restore_that_fails_leaves_nothing(
    step, placement, catalog, archive, source, admin_conn, server_admin_url
):
    before, dbs = catalog_state(catalog), databases(admin_conn, catalog)
    slug = new_slug("f")

    with pytest.raises(RuntimeError, match=f"injected failure at {step}"):
        restore_tenant(catalog, archive, slug=slug, placement=placement, fail_at=step)

    assert catalog_state(catalog) == before
    with catalog.session() as session:  # not even a tenant in state provisioning
        assert session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is None
    assert databases(admin_conn, catalog) == dbs
    pooled_url = store_url(catalog, source.store_name)
    assert rows_of_tenants_above(server_admin_url, pooled_url, before["max_tenant_id"]) == {}


# -- 6. archives of older schema revisions -------------------------------------------------------
@pytest.fixture(scope="module")
def t0002_schema(catalog) -> dict[str, set[str]]:
    """{table: columns} of the tenant schema at revision t0002, read from a database
    migrated to t0002 (made and dropped here): what an archive made then holds."""
    settings = catalog.settings
    server_url = bootstrap.owner_server_url(settings)
    name = settings.database_name("t0002_" + secrets.token_hex(4))
    owner = urls.parse(server_url).username or settings.owner_role
    with bootstrap.admin_connection(server_url, settings=settings) as conn:
        bootstrap.create_database(conn, name, owner, settings.app_role)
    try:
        url = urls.with_database(server_url, name)
        migrations.upgrade("tenant", url, settings.app_role, revision="t0002", settings=settings)
        with psycopg.connect(urls.libpq_url(url)) as conn:
            return {spec.name: set(spec.columns) for spec in table_specs(conn)}
    finally:
        with bootstrap.admin_connection(server_url, settings=settings) as conn:
            bootstrap.drop_database(conn, name)


def added_after_t0002(manifest, t0002_schema) -> set[str]:
    """The archive's tables that revisions after t0002 added."""
    return {t["name"] for t in manifest["tables"]} - set(t0002_schema)


def older_archive(
    catalog, source, archive, manifest, t0002_schema, target, revision="t0002", keep=()
):
    """The source's archive as if made at ``revision``: without the tables and columns
    revisions after t0002 added (but the tables of ``keep``), checksums recomputed."""
    old = json.loads(json.dumps(manifest))
    old["schema_revision"] = revision
    gone = [t for t in old["tables"] if t["name"] not in t0002_schema and t["name"] not in keep]
    old["tables"] = [t for t in old["tables"] if t not in gone]
    members = {}
    if revision == "t0002":
        members = without_later_columns(catalog, source, archive, old, t0002_schema)
    return rewrite_archive(
        archive, target, manifest=old, members=members, drop={t["file"] for t in gone}
    )


def without_later_columns(catalog, source, archive, manifest, t0002_schema) -> dict[str, bytes]:
    """Take the columns t0002 did not have out of ``manifest`` (in place) and return the
    data members without them; each changed table's row checksum is the source's rows
    over the columns left, as a restore at t0002 computes it."""
    members = {}
    with (
        zipfile.ZipFile(archive) as zf,
        psycopg.connect(urls.libpq_url(store_url(catalog, source.store_name))) as conn,
    ):
        set_tenant(conn, source.id)
        normalize(conn, local=True)
        for table in manifest["tables"]:
            had = t0002_schema.get(table["name"])
            if had is None or set(table["columns"]) <= had:
                continue
            kept = [i for i, column in enumerate(table["columns"]) if column in had]
            rows = zf.read(table["file"]).split(b"\n")[:-1]  # COPY text: a row per line
            data = b"".join(b"\t".join(row.split(b"\t")[i] for i in kept) + b"\n" for row in rows)
            table["columns"] = [table["columns"][i] for i in kept]
            # a table keyed by tenant_id alone travels ordered by all its columns: then
            # by the columns it had at t0002
            table["key"] = [column for column in table["key"] if column in had]
            table["rows"], table["checksum"] = checksum(conn, TableSpec.from_dict(table), source.id)
            table["sha256"] = hashlib.sha256(data).hexdigest()
            members[table["file"]] = data
    return members


def column_names(manifest, table: str) -> list[str]:
    return next((t["columns"] for t in manifest["tables"] if t["name"] == table), [])


def t0002_checksum(catalog, store_name, tenant_id, table, t0002_schema):
    """(rows, checksum) of one tenant's rows of ``table`` over the columns t0002 had."""
    had = t0002_schema[table]
    with psycopg.connect(urls.libpq_url(store_url(catalog, store_name))) as conn:
        set_tenant(conn, tenant_id)
        normalize(conn, local=True)
        spec = next(s for s in table_specs(conn) if s.name == table)
        columns = tuple(c for c in spec.columns if c in had)
        key = tuple(c for c in spec.key if c in had) or columns
        return checksum(conn, TableSpec(table, columns, key), tenant_id)


def test_an_archive_at_an_older_revision_is_migrated_forward(
    catalog, cli, source, archive, manifest, source_fp, tmp_path, admin_conn, t0002_schema
):
    added = added_after_t0002(manifest, t0002_schema)
    assert {"expenses", "api_tokens", "registers"} <= added <= set(source_fp)
    assert source_fp["expenses"][0] > 0  # so that leaving them out shows
    old = older_archive(catalog, source, archive, manifest, t0002_schema, tmp_path / "t0002.zip")
    dbs = databases(admin_conn, catalog)
    slug = new_slug("m")

    result = cli("tenant", "restore", str(old), "--as", slug, "--keep-credentials")

    assert (
        "migrated the archive from t0002 to " + migrations.head_revision("tenant") in result.output
    )
    assert "The archive was at schema t0002; it was migrated forward" in result.output
    store_name, kind, _ = placement_of(catalog, slug)
    assert kind == "pooled"
    got = fingerprint(catalog, store_name, tenant_id_of(catalog, slug))
    assert set(got) == set(source_fp)  # the schema is head's
    # tables that later revisions gave columns: what t0002 had of them came back whole
    # (the later columns hold their defaults, not the source's values, e.g. a refund's
    # credit-note number, which t0002 never had)
    widened = {t for t, had in t0002_schema.items() if set(column_names(manifest, t)) - had}
    restored_id = tenant_id_of(catalog, slug)
    for table, value in source_fp.items():
        if table in added:
            assert got[table] == (0, hashlib.md5(b"").hexdigest()), table
        elif table in widened:
            assert t0002_checksum(catalog, store_name, restored_id, table, t0002_schema) == (
                t0002_checksum(catalog, source.store_name, source.id, table, t0002_schema)
            ), table
        else:
            assert got[table] == value, table
    assert databases(admin_conn, catalog) == dbs  # the scratch database is gone


def test_an_archive_of_an_unknown_revision_is_refused(
    catalog, cli, source, archive, manifest, tmp_path, t0002_schema
):
    future = older_archive(
        catalog,
        source,
        archive,
        manifest,
        t0002_schema,
        tmp_path / "t9999.zip",
        revision="t9999",
        keep=added_after_t0002(manifest, t0002_schema),
    )
    before = catalog_state(catalog)
    refused(
        cli("tenant", "restore", str(future), "--as", new_slug(), expect=None),
        "schema revision t9999",
        "does not know",
    )
    assert catalog_state(catalog) == before


def test_an_older_archive_that_does_not_fit_its_revision_leaves_no_scratch_database(
    catalog, source, archive, manifest, tmp_path, admin_conn, t0002_schema
):
    """An archive claiming t0002 but holding a table t0002 does not have is refused, and
    the scratch database made to migrate it is dropped."""
    bad = older_archive(
        catalog, source, archive, manifest, t0002_schema, tmp_path / "bad.zip", keep={"expenses"}
    )
    before, dbs = catalog_state(catalog), databases(admin_conn, catalog)

    with pytest.raises(ArchiveError, match="table expenses of the archive does not fit"):
        restore_tenant(catalog, bad, slug=new_slug())

    assert catalog_state(catalog) == before
    assert databases(admin_conn, catalog) == dbs, databases(admin_conn, catalog) - dbs


# -- 7. clone -------------------------------------------------------------------------------------
def test_clone_makes_a_working_copy_without_custom_domains(catalog, cli, source, client_for):
    domain = f"shop-{source.slug}.example.org"
    lifecycle.add_domain(catalog, source.slug, domain)
    try:
        before = fingerprint(catalog, source.store_name, source.id)
        slug = new_slug("c")

        result = cli("tenant", "clone", source.slug, slug)

        assert f"as {slug} (Tenant {source.slug} (copy)), pooled in store" in result.output
        assert "Domains:" not in result.output and domain not in result.output
        store_name, kind, state = placement_of(catalog, slug)
        assert (kind, state) == ("pooled", "active")
        copied = fingerprint(catalog, store_name, tenant_id_of(catalog, slug))
        # every table alike but the users' (new one-time passwords: a copy gets credentials
        # of its own; tests/operations/test_clone_credentials.py checks them)
        assert {k: v for k, v in copied.items() if k != "users"} == {
            k: v for k, v in before.items() if k != "users"
        }
        assert copied["users"][0] == before["users"][0]
        assert fingerprint(catalog, source.store_name, source.id) == before
        assert "New credentials" in result.output
        one_time = re.search(r"^\s+admin\s+(\S+)\s+\(one-time password\)", result.output, re.M)
        with catalog.session() as session:
            clone, original = catalog.tenant(session, slug), catalog.tenant(session, source.slug)
            assert clone.name == f"{original.name} (copy)"
            assert clone.domains == []
            assert [d.host for d in original.domains] == [domain]
        client = client_for(host(slug))
        assert wait_for(lambda: client.get("/login", expect_errors=True).status_int == 200)
        sign_in(client, "admin", source.admin_password, status=400)  # the source's: refused
        sign_in(client, "admin", one_time.group(1))
        assert "password" in client.get("/").follow().request.path  # set a password first
    finally:
        lifecycle.remove_domain(catalog, source.slug, domain)


@pytest.fixture
def server_store(catalog):
    """The catalog's server registered as a dedicated-server store (removed after)."""
    name = f"srv{secrets.token_hex(3)}"
    url = urls.with_database(bootstrap.owner_server_url(catalog.settings), "postgres")
    storeadmin.add_store(catalog, name, url, "dedicated-server")
    yield name
    with catalog.session() as session:
        session.execute(delete(Store).where(Store.name == name))


def test_clone_into_a_dedicated_server_store_given_by_name(
    catalog, cli, archives, dedicated_source, server_store
):
    # restore infers the kind from the store ...
    restored = new_slug()
    cli(
        "tenant",
        "restore",
        str(archives["dedicated"][0]),
        "--as",
        restored,
        "--store",
        server_store,
    )
    assert placement_of(catalog, restored)[1] == "dedicated"
    # ... and clone, whose --store has the same help, should too
    cloned = new_slug("c")
    cli("tenant", "clone", dedicated_source.slug, cloned, "--store", server_store)
    assert placement_of(catalog, cloned)[1] == "dedicated"


# -- 8. a backup file appears only when complete ------------------------------------------------
def test_a_failed_backup_leaves_no_file(catalog, cli, tmp_path, source):
    out = tmp_path / "unknown.zip"
    refused(
        cli("tenant", "backup", "no-such-tenant", "-o", str(out), expect=None),
        "no tenant with subdomain 'no-such-tenant'",
    )
    assert list(tmp_path.iterdir()) == []

    # a failure half-way (after the first table) leaves an earlier file as it was
    earlier = tmp_path / "earlier.zip"
    earlier.write_bytes(b"the previous backup")

    def fail(event, **info):
        raise KeyboardInterrupt("operator pressed ^C")

    with pytest.raises(KeyboardInterrupt):
        backup_tenant(catalog, source.slug, earlier, progress=fail)
    assert earlier.read_bytes() == b"the previous backup"
    assert [p.name for p in tmp_path.iterdir()] == ["earlier.zip"]  # no partial file left
