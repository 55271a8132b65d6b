"""Back up one tenant to a file, restore it (as itself or under a new subdomain, into
either kind of store), and clone it.

The archive is a zip file: ``manifest.json`` (the tenant's catalog entry, the schema
revision, per table its columns, row count, the checksum of its ordered rows and the
SHA-256 of its data file, and when it was made) and ``data/NN-TABLE.copy`` per table
(COPY text, without ``tenant_id``). It is read from one consistent snapshot of the
tenant's store under the tenant's setting, so it cannot hold another tenant's row.

A restore is a tenant creation (provisioning.create_tenant) whose seed step loads the
archive, so it is atomic like one: any failure leaves no tenant, no rows, no database.
The same step gives the restored tenant credentials of its own (one-time passwords, new
API token keys), so that a copy of production opens with nothing production's staff or
integrations hold; a deleted tenant brought back as itself may keep the archive's.
An archive of an older schema revision is loaded into a scratch database at that
revision, migrated forward there, then copied in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import tempfile
import zipfile
import zlib
from pathlib import Path

import psycopg
from alembic.script import ScriptDirectory
from sqlalchemy import select

from ..tenancy import urls
from ..tenancy.binding import bind
from ..tenancy.directory import StoreKind, TenantStatus
from ..tenancy.errors import first_line
from . import bootstrap, door, migrations, provisioning
from .catalog import Catalog
from .errors import OperationError
from .lifecycle import ordered_domains
from .models import Tenant
from .provisioning import TenantRequest, create_tenant, generate_password
from .tablecopy import (
    TableSpec,
    checksum,
    connect,
    load,
    normalize,
    stream_out,
    table_specs,
)
from .workspace import renew_credentials

FORMAT = "salesapp-tenant-archive"
VERSION = 1
MANIFEST = "manifest.json"
CHUNK = 1 << 16


class ArchiveError(OperationError):
    """The archive cannot be written or restored; the message says why and what to do."""


def _connect(catalog: Catalog, url: str) -> psycopg.Connection:
    return connect(catalog.settings, url)


# -- backup ---------------------------------------------------------------------------
def backup_tenant(catalog: Catalog, slug: str, path: str | Path, progress=None) -> dict:
    """Write the tenant to ``path`` (replaced only once complete); return the manifest.
    Logged before it starts and when it ends."""
    with catalog.operation(
        "tenant.backup", tenant_slug=provisioning.normal_slug(slug), file=str(path)
    ) as record:
        manifest = _backup(catalog, slug, path, progress)
        record.store_name = manifest["tenant"]["source_store"]
        record.detail.update(
            rows=sum(t["rows"] for t in manifest["tables"]),
            revision=manifest["schema_revision"],
        )
        return manifest


def _backup(catalog: Catalog, slug: str, path: str | Path, progress) -> dict:
    progress = progress or (lambda event, **info: None)
    path = Path(path)
    with catalog.session() as session:
        tenant = catalog.tenant(session, slug)
        _, store = catalog.placement(session, tenant)
        where = door.TenantAddress(tenant.id, store.name)
        entry = {
            "slug": tenant.slug,
            "name": tenant.name,
            "admin_email": tenant.admin_email,
            "status": tenant.status,
            "max_users": tenant.max_users,
            "multi_location": tenant.multi_location,
            "trial_ends_at": tenant.trial_ends_at.isoformat() if tenant.trial_ends_at else None,
            "domains": ordered_domains(tenant),
            "source_tenant_id": tenant.id,
            "source_store": store.name,
            "source_kind": store.kind,
        }
    tid = entry["source_tenant_id"]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        with (
            door.tenant_connection(catalog, where, snapshot=True) as conn,
            zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        ):
            normalize(conn, local=True)
            revision = conn.execute("select version_num from alembic_version").fetchone()[0]
            tables = []
            for number, spec in enumerate(table_specs(conn), 1):
                member = f"data/{number:02d}-{spec.name}.copy"
                digest = hashlib.sha256()
                with archive.open(member, "w", force_zip64=True) as out:
                    for chunk in stream_out(conn, spec, tid):
                        digest.update(chunk)
                        out.write(chunk)
                rows, sum_ = checksum(conn, spec, tid)
                tables.append(
                    {
                        **spec.as_dict(),
                        "file": member,
                        "rows": rows,
                        "checksum": sum_,
                        "sha256": digest.hexdigest(),
                    }
                )
                progress("table", table=spec.name, rows=rows)
            manifest = {
                "format": FORMAT,
                "version": VERSION,
                "made_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "schema_revision": revision,
                "tenant": entry,
                "tables": tables,
            }
            archive.writestr(MANIFEST, json.dumps(manifest, indent=2))
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return manifest


# -- reading an archive -----------------------------------------------------------------
def read_manifest(path: str | Path) -> dict:
    """The archive's manifest, after checking it is one of ours and every data file is
    intact (SHA-256); ArchiveError with what is wrong otherwise."""
    try:
        with zipfile.ZipFile(path) as archive:
            try:
                manifest = json.loads(archive.read(MANIFEST))
            except KeyError:
                raise ArchiveError(
                    f"{path} has no {MANIFEST}: not a salesapp tenant archive"
                ) from None
            if manifest.get("format") != FORMAT:
                raise ArchiveError(f"{path} is not a salesapp tenant archive")
            if manifest.get("version") != VERSION:
                raise ArchiveError(
                    f"{path} is archive format {manifest.get('version')}; this salesapp reads "
                    f"format {VERSION}"
                )
            for table in manifest["tables"]:
                digest = hashlib.sha256()
                try:
                    with archive.open(table["file"]) as data:
                        while chunk := data.read(CHUNK):
                            digest.update(chunk)
                except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                    raise ArchiveError(
                        f"{path} is damaged: {table['file']} cannot be read ({first_line(exc)})"
                    ) from None
                if digest.hexdigest() != table["sha256"]:
                    raise ArchiveError(
                        f"{path} is damaged: {table['file']} does not match its checksum"
                    )
    except FileNotFoundError:
        raise ArchiveError(f"no such file: {path}") from None
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        json.JSONDecodeError,
        KeyError,
        zlib.error,
        EOFError,
    ) as exc:
        raise ArchiveError(f"{path} is not a readable archive: {first_line(exc)}") from None
    return manifest


def _chunks(archive: zipfile.ZipFile, member: str):
    with archive.open(member) as data:
        while chunk := data.read(CHUNK):
            yield chunk


def _revision_status(revision: str) -> str:
    """'head', 'older', or raise for a revision this code does not know."""
    script = ScriptDirectory.from_config(migrations.alembic_config("tenant"))
    head = script.get_current_head()
    if revision == head:
        return "head"
    known = {rev.revision for rev in script.walk_revisions()}
    if revision not in known:
        raise ArchiveError(
            f"the archive is at schema revision {revision}, which this salesapp does not "
            f"know (it is at {head}): restore it with the salesapp version that made it, or a newer one"
        )
    return "older"


def _load_tables(conn, archive, manifest, tenant_id, progress) -> None:
    """Load every table of the archive into ``conn`` (tenant setting and schema at the
    archive's revision) and check each against the manifest's checksum."""
    normalize(conn, local=True)
    present = {spec.name: spec for spec in table_specs(conn)}
    for table in manifest["tables"]:
        spec = TableSpec.from_dict(table)
        if spec.name not in present or set(spec.columns) - set(present[spec.name].columns):
            raise ArchiveError(
                f"table {spec.name} of the archive does not fit the schema at revision "
                f"{manifest['schema_revision']}"
            )
        rows = load(conn, spec, tenant_id, _chunks(archive, table["file"]))
        got = checksum(conn, spec, tenant_id)
        if got != (table["rows"], table["checksum"]):
            raise ArchiveError(
                f"table {spec.name}: {got[0]} rows restored with checksum {got[1][:12]}, the "
                f"archive says {table['rows']} rows, {table['checksum'][:12]}; nothing was restored"
            )
        progress("table", table=spec.name, rows=rows)


def _scratch_database(catalog: Catalog) -> tuple[str, str]:
    """(server url, name) of a scratch database for migrating an archive forward."""
    settings = catalog.settings
    return (
        bootstrap.owner_server_url(settings),
        settings.database_name("restore_" + secrets.token_hex(4)),
    )


def _migrate_forward(catalog: Catalog, scratch, archive, manifest, progress) -> None:
    """Load the archive into the scratch database at its revision and migrate that to
    head. The caller drops the scratch database, whatever happens."""
    settings = catalog.settings
    server_url, name = scratch
    owner = urls.parse(server_url).username or settings.owner_role
    with bootstrap.admin_connection(server_url, settings=settings) as conn:
        bootstrap.create_database(conn, name, owner, settings.app_role)
    url = urls.with_database(server_url, name)
    revision = manifest["schema_revision"]
    progress("migrate", detail=f"scratch database at {revision}")
    migrations.upgrade("tenant", url, settings.app_role, revision=revision, settings=settings)
    tid = manifest["tenant"]["source_tenant_id"]
    with _connect(catalog, url) as conn:  # a scratch database: no store of the catalog
        bind(conn, tid)
        _load_tables(conn, archive, manifest, tid, lambda *a, **k: None)
    head = migrations.upgrade("tenant", url, settings.app_role, settings=settings)
    progress("migrate", detail=f"migrated the archive from {revision} to {head}")


def _drop_scratch(catalog: Catalog, server_url: str, name: str) -> None:
    with bootstrap.admin_connection(server_url, settings=catalog.settings) as conn:
        bootstrap.drop_database(conn, name)


# -- restore --------------------------------------------------------------------------
def restore_tenant(
    catalog: Catalog,
    path: str | Path,
    *,
    slug: str | None = None,
    name: str | None = None,
    placement: str | None = None,
    store_name: str | None = None,
    progress=None,
    fail_at: str | None = None,
    keep_domains: bool | None = None,
    keep_credentials: bool = False,
) -> dict:
    """Restore an archive as a new tenant; return what was done.

    ``slug`` restores under another subdomain (custom domains are then left out);
    ``placement`` pooled or dedicated (default: the kind the tenant came from);
    ``store_name`` a pooled store or a dedicated-server store.

    The restored tenant gets credentials of its own (salesapp.operations.workspace.
    renew_credentials): every user a one-time password, every working API token a new
    key, in the same transaction as its rows; none of the source's passwords or tokens
    works on it. The result's ``credentials`` holds them and ``credential_lines`` says
    them for the operator to hand out (shown once, stored only hashed).
    ``keep_credentials`` keeps the archive's instead: for bringing back a deleted tenant
    as itself, whose staff and integrations go on as before.
    """
    progress = progress or (lambda event, **info: None)
    with catalog.operation(
        "tenant.restore",
        tenant_slug=provisioning.normal_slug(slug) or None,
        file=str(path),
        keep_credentials=keep_credentials,
    ) as record:
        manifest = read_manifest(path)
        entry = manifest["tenant"]
        record.tenant_slug = record.tenant_slug or entry["slug"]
        record.detail.update(source=entry["slug"], revision=manifest["schema_revision"])
        result = _restore(
            catalog,
            path,
            manifest,
            slug=slug,
            name=name,
            placement=placement,
            store_name=store_name,
            progress=progress,
            fail_at=fail_at,
            keep_domains=keep_domains,
            keep_credentials=keep_credentials,
        )
        record.tenant_slug, record.store_name = result["slug"], result["store"]
        record.detail.update(
            rows=result["rows"],
            new_passwords=len(result["credentials"].passwords) if result["credentials"] else 0,
            new_tokens=len(result["credentials"].tokens) if result["credentials"] else 0,
        )
        return result


def _restore(
    catalog: Catalog,
    path,
    manifest: dict,
    *,
    slug,
    name,
    placement,
    store_name,
    progress,
    fail_at,
    keep_domains,
    keep_credentials,
) -> dict:
    entry = manifest["tenant"]
    status = _revision_status(manifest["schema_revision"])
    if store_name and placement is None:
        with catalog.session() as session:
            store = catalog.store_named(session, store_name)
            placement = StoreKind.POOLED if store.kind == StoreKind.POOLED else StoreKind.DEDICATED
    placement = placement or (
        StoreKind.POOLED if entry["source_kind"] == StoreKind.POOLED else StoreKind.DEDICATED
    )
    keep_domains = slug is None if keep_domains is None else keep_domains
    wanted = (slug or entry["slug"]).strip().lower()
    with catalog.session() as session:
        # a creation of that subdomain still in progress, or abandoned, is the creation's
        # business (create_tenant undoes an abandoned one, refuses a running one)
        exists = session.scalar(
            select(Tenant.id).where(
                Tenant.slug == wanted, Tenant.status != TenantStatus.PROVISIONING
            )
        )
        if exists is not None:
            raise ArchiveError(
                f"subdomain {wanted!r} exists; restore under another with --as NEW_SUBDOMAIN"
                + ("" if slug else f" (or delete {wanted} first to restore it as itself)")
            )
    request = TenantRequest(
        name=name or entry["name"],
        slug=slug or entry["slug"],
        admin_email=entry["admin_email"],
        placement=placement,
        store_name=store_name,
        admin_password=generate_password(),  # unused: the archive's users come back
        max_users=entry["max_users"],
        multi_location=entry["multi_location"],
        domains=list(entry["domains"]) if keep_domains else [],
    )
    scratch = None
    renewed = {}
    try:
        with zipfile.ZipFile(path) as archive:
            if status == "older":
                scratch = _scratch_database(catalog)
                _migrate_forward(catalog, scratch, archive, manifest, progress)

            def seed(session, tenant_id, **_):
                conn = session.connection().connection.driver_connection
                if scratch is None:
                    _load_tables(conn, archive, manifest, tenant_id, progress)
                else:
                    _copy_from_scratch(catalog, scratch, manifest, conn, tenant_id, progress)
                if not keep_credentials:
                    renewed["credentials"] = renew_credentials(session, tenant_id, catalog.settings)

            made = create_tenant(catalog, request, seed=seed, fail_at=fail_at)
        if entry["trial_ends_at"]:  # as it was, ended or not
            with catalog.session() as session:
                restored = catalog.tenant(session, made.slug)
                restored.trial_ends_at = dt.datetime.fromisoformat(entry["trial_ends_at"])
    finally:
        if scratch is not None:
            _drop_scratch(catalog, *scratch)
    credentials = renewed.get("credentials")
    return {
        "slug": made.slug,
        "name": made.name,
        "store": made.store_name,
        "kind": made.store_kind,
        "rows": sum(t["rows"] for t in manifest["tables"]),
        "tables": len(manifest["tables"]),
        "from": entry["slug"],
        "schema_revision": manifest["schema_revision"],
        "migrated": status == "older",
        "domains": request.domains,
        "credentials": credentials,
        "credential_lines": (
            credentials.lines()
            if credentials is not None
            else ["  Its users sign in with the passwords they had; its API tokens work."]
        ),
    }


def _copy_from_scratch(catalog, scratch, manifest, conn, tenant_id, progress) -> None:
    tid = manifest["tenant"]["source_tenant_id"]
    with _connect(catalog, urls.with_database(scratch[0], scratch[1])) as src:
        bind(src, tid)
        normalize(src, local=True)
        normalize(conn, local=True)
        for spec in table_specs(src):
            rows = load(conn, spec, tenant_id, stream_out(src, spec, tid))
            if checksum(conn, spec, tenant_id) != checksum(src, spec, tid):
                raise ArchiveError(
                    f"table {spec.name} differs after the copy from the scratch database"
                )
            progress("table", table=spec.name, rows=rows)


def clone_tenant(
    catalog: Catalog,
    slug: str,
    new_slug: str,
    *,
    name=None,
    placement=None,
    store_name=None,
    progress=None,
) -> dict:
    """A copy of a tenant under a new subdomain (e.g. a training workspace): a backup
    restored at once; custom domains are not copied, and the copy gets credentials of its
    own (one-time passwords, new API token keys: see :func:`restore_tenant`), so that no
    production credential works on it."""
    with catalog.operation(
        "tenant.clone", tenant_slug=provisioning.normal_slug(new_slug), source=slug
    ) as record:
        with tempfile.TemporaryDirectory(prefix="salesapp-clone-") as folder:
            path = Path(folder) / f"{slug}.zip"
            manifest = backup_tenant(catalog, slug, path)
            result = restore_tenant(
                catalog,
                path,
                slug=new_slug,
                name=name or f"{manifest['tenant']['name']} (copy)",
                placement=placement or (None if store_name else StoreKind.POOLED),
                store_name=store_name,
                progress=progress,
            )
        record.store_name = result["store"]
        record.detail.update(rows=result["rows"])
        return result
