"""Rotating the deployment's secrets: the owner role's password and the secret key.

**The owner role's password** is in every store's URL in the catalog (encrypted), in the
catalog URL and in ``SALESAPP_OWNER_PASSWORD``. :func:`rotate_owner_password` sets a new
one on the owner role of every server a store (or the catalog) is on, and rewrites
every store URL that connects as the owner role, in one catalog transaction that
commits only once every server has the new password; a server that refuses makes it
put the old password back on those done before, so the catalog and the servers never
disagree. The operator then puts the new password in ``SALESAPP_OWNER_PASSWORD`` and in
the catalog URL (``SALESAPP_CATALOG_URL``) wherever salesapp runs. The app role (what
web requests use) is not touched, so the app serves throughout. An interruption between
the servers' change and the catalog's commit is finished by running the rotation again
with the same password (the servers that have it already are reached with it).

**The secret key** encrypts the store URLs in the catalog and users' two-factor secrets
in the stores, and signs session cookies. It is rotated in three steps, so that every
process can read every secret at every moment:

1. the operator sets the new key as ``SALESAPP_SECRET_KEY`` and the old one in
   ``SALESAPP_PREVIOUS_SECRET_KEYS`` for every app process and the CLI, and restarts the
   app processes (they sign and encrypt under the new key, and still read the old);
2. :func:`reencrypt_secrets` (``salesapp rotate secret-key``) re-encrypts every store URL
   and two-factor secret still under a previous key; a rerun changes nothing twice;
3. after the grace (``SESSION_SECONDS``: the longest a session lives), the operator
   removes ``SALESAPP_PREVIOUS_SECRET_KEYS``: sessions signed under the old key end.

Tenant archives made before the rotation keep their two-factor secrets under the old
key: restored after step 3, their users set two-factor sign-in up again.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from sqlalchemy import event, select, union, update
from sqlalchemy.exc import DBAPIError

from ..accounts.models import TwoFactor
from ..security import TWO_FACTOR_PURPOSE
from ..sessions import SESSION_SECONDS
from ..tenancy import urls
from ..tenancy.binding import bind
from ..tenancy.crypto import SecretBox, mask_url
from ..tenancy.errors import first_line
from . import door, operators
from .catalog import Catalog
from .errors import OperationError
from .models import Placement, Store, TenantCopy
from .tablecopy import connect

#: bytes of randomness in a generated owner password (43 URL-safe characters)
PASSWORD_BYTES = 32


class RotationError(OperationError):
    """A rotation was refused or failed; the message says where things stand."""


def new_password() -> str:
    """A generated owner password: URL-safe, so it needs no quoting in a URL."""
    return secrets.token_urlsafe(PASSWORD_BYTES)


def new_secret_key() -> str:
    """A generated secret key (what `salesapp check` wants: 32 characters or more)."""
    return secrets.token_urlsafe(48)


# -- the owner role's password ----------------------------------------------------------
@dataclass
class OwnerPasswordRotation:
    """What :func:`rotate_owner_password` did."""

    role: str
    password: str
    servers: list[str] = field(default_factory=list)  # where the role has it (masked)
    stores: list[str] = field(default_factory=list)  # stores whose URL carries it
    #: stores that connect as another role: their URLs and that role are left as they are
    other_roles: dict[str, str] = field(default_factory=dict)
    #: what SALESAPP_CATALOG_URL must become (the password masked), or None when the
    #: catalog is reached as another role
    catalog_url: str | None = None


def _server(url: str) -> tuple[str, int]:
    """Which server ``url`` reaches: host (or unix-socket directory) and port."""
    parsed = urls.parse(url)
    return parsed.host or parsed.query.get("host") or "localhost", parsed.port or 5432


def _with_password(url: str, password: str | None) -> str:
    return urls.with_role(url, urls.parse(url).username, password)


def _set_password(settings, url: str, password: str | None, otherwise: str | None) -> None:
    """Give the role ``url`` connects as ``password`` (None: no password) on the server
    ``url`` reaches. Connects with ``url``'s password, or with ``otherwise`` if the role
    has that one already (an interrupted rotation run again).

    The server gets the password's SCRAM verifier, never the password itself, so it is
    in no server log or statement statistics."""
    try:
        conn = connect(settings, url, autocommit=True)
    except psycopg.OperationalError as refused:
        try:
            conn = connect(settings, _with_password(url, otherwise), autocommit=True)
        except psycopg.OperationalError:
            raise refused from None
    with conn:
        role = urls.parse(url).username
        if password is None:
            statement = sql.SQL("ALTER ROLE {} PASSWORD NULL").format(sql.Identifier(role))
        else:
            verifier = conn.pgconn.encrypt_password(password.encode(), role.encode())
            statement = sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(verifier.decode())
            )
        conn.execute(statement)


def _follow_password(catalog: Catalog, password: str) -> None:
    """From now on, this process's catalog connections log in with ``password`` (its
    settings still carry the old one until the operator changes them)."""

    @event.listens_for(catalog.engine, "do_connect")
    def _new_password(dialect, conn_rec, cargs, cparams):
        cparams["password"] = password


def rotate_owner_password(catalog: Catalog, password: str | None = None) -> OwnerPasswordRotation:
    """Set a new password (``password``, or a generated one) on the owner role of every
    server the catalog and the stores are on, and rewrite every store URL that connects
    as the owner role (see the module's docstring for the order and the failures)."""
    settings = catalog.settings
    role = settings.owner_role
    result = OwnerPasswordRotation(role=role, password=password or new_password())
    with catalog.operation("rotate.owner-password") as record:
        # old URL per server: one role per server, whichever of its URLs reaches it
        servers: dict[tuple[str, int], str] = {}
        if urls.parse(settings.catalog_url).username == role:
            servers[_server(settings.catalog_url)] = settings.catalog_url
            result.catalog_url = mask_url(_with_password(settings.catalog_url, "x"))
        # the stores' rows stay locked until the end: nothing adds or rewrites one meanwhile
        with catalog.session() as session:
            for store in session.scalars(select(Store).order_by(Store.id).with_for_update()):
                url = catalog.store_url(store)
                user = urls.parse(url).username
                if user != role:
                    result.other_roles[store.name] = user or "(none)"
                    continue
                servers.setdefault(_server(url), url)
                store.url_encrypted = catalog.box.encrypt(_with_password(url, result.password))
                result.stores.append(store.name)
            session.flush()
            done: list[str] = []
            try:
                for url in servers.values():
                    _set_password(settings, url, result.password, result.password)
                    done.append(url)
            except Exception as exc:
                _put_back(settings, done, result.password)
                raise RotationError(
                    f"{mask_url(url)} refused the new password: {first_line(exc)}; the "
                    "owner role keeps its old password everywhere and nothing was changed"
                ) from None
            result.servers = [mask_url(url) for url in done]
            if _server(settings.catalog_url) in servers:
                _follow_password(catalog, result.password)
        record.detail.update(servers=result.servers, stores=result.stores)
        if result.other_roles:
            record.detail["other_roles"] = result.other_roles
    return result


def _put_back(settings, done: list[str], password: str) -> None:
    """Give the owner role its old password back on the servers in ``done`` (their old
    URLs), reached with the new one."""
    for url in reversed(done):
        old = urls.parse(url).password
        try:
            _set_password(settings, _with_password(url, password), old, old)
        except Exception as exc:  # said, not hidden: that server's owner has the new one
            raise RotationError(
                f"the rotation failed, and {mask_url(url)} kept the new password of the "
                f"owner role ({first_line(exc)}): run `salesapp rotate owner-password "
                "--ask` again with the same new password to finish it"
            ) from None


# -- the secret key ---------------------------------------------------------------------
@dataclass
class SecretKeyRotation:
    """What :func:`reencrypt_secrets` did."""

    stores: list[str] = field(default_factory=list)  # store URLs re-encrypted
    two_factor: dict[str, int] = field(default_factory=dict)  # store -> secrets re-encrypted
    failed: dict[str, str] = field(default_factory=dict)  # store -> why (run it again)
    operator_secrets: int = 0  # operators' two-factor secrets re-encrypted (the catalog's)
    #: when the previous keys may be removed (the longest session signed under them ended)
    grace_ends_at: dt.datetime | None = None


def rotation_steps() -> str:
    """How to rotate the secret key, with a freshly generated key to use."""
    return (
        "to rotate the secret key: (1) wherever salesapp runs (every app process and "
        "here), set SALESAPP_PREVIOUS_SECRET_KEYS to the current key and "
        f"SALESAPP_SECRET_KEY to a new one (such as {new_secret_key()}), then restart the "
        "app processes; (2) run `salesapp rotate secret-key`; (3) after "
        f"{SESSION_SECONDS // 3600} hours (the longest a session lives), remove "
        "SALESAPP_PREVIOUS_SECRET_KEYS"
    )


def reencrypt_secrets(catalog: Catalog) -> SecretKeyRotation:
    """Re-encrypt under the current secret key every store URL in the catalog and every
    two-factor secret in the stores still under a key of ``previous_secret_keys`` (step
    2 of the module's docstring). A store that cannot be reached is named in ``failed``
    (its two-factor secrets stay readable under the previous keys): run it again."""
    settings = catalog.settings
    if not settings.previous_secret_keys:
        raise RotationError(
            "salesapp.previous_secret_keys is empty, so nothing is encrypted under an "
            f"older key; {rotation_steps()}"
        )
    result = SecretKeyRotation()
    with catalog.operation("rotate.secret-key") as record:
        with catalog.session() as session:
            for store in session.scalars(select(Store).order_by(Store.id).with_for_update()):
                token = catalog.box.reencrypt(store.url_encrypted)
                if token is not None:
                    store.url_encrypted = token
                    result.stores.append(store.name)
        result.operator_secrets = operators.reencrypt_secrets(catalog)
        box = SecretBox(settings.secret_key, settings.previous_secret_keys, TWO_FACTOR_PURPOSE)
        for store, tenant_ids in _tenants_by_store(catalog):
            try:
                result.two_factor[store.name] = _reencrypt_two_factor(
                    catalog, store, tenant_ids, box
                )
            except (DBAPIError, psycopg.Error, ValueError) as exc:
                result.failed[store.name] = first_line(exc)
        result.grace_ends_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=SESSION_SECONDS)
        record.detail.update(
            stores=result.stores,
            two_factor=result.two_factor,
            operator_secrets=result.operator_secrets,
            failed=result.failed,
        )
    return result


def _tenants_by_store(catalog: Catalog) -> list[tuple[Store, list[int]]]:
    """Every store with the ids of the tenants whose rows it holds: those placed there
    and the copies kept there (`tenant move --keep-source`)."""
    held = union(
        select(Placement.store_id, Placement.tenant_id),
        select(TenantCopy.store_id, TenantCopy.tenant_id),
    ).subquery()
    with catalog.session() as session:
        rows = session.execute(
            select(Store, held.c.tenant_id)
            .join(held, held.c.store_id == Store.id)
            .order_by(Store.id, held.c.tenant_id)
        ).all()
    by_store: dict[int, tuple[Store, list[int]]] = {}
    for store, tenant_id in rows:
        by_store.setdefault(store.id, (store, []))[1].append(tenant_id)
    return list(by_store.values())


def _reencrypt_two_factor(catalog: Catalog, store: Store, tenant_ids, box: SecretBox) -> int:
    """Re-encrypt the two-factor secrets of ``tenant_ids`` in ``store`` (one transaction,
    bound to each tenant in turn); return how many were."""
    count = 0
    with door.store_connection(catalog, store) as conn:
        for tenant_id in tenant_ids:
            bind(conn, tenant_id)
            rows = conn.execute(
                select(TwoFactor.user_id, TwoFactor.secret).where(TwoFactor.tenant_id == tenant_id)
            ).all()
            for user_id, secret in rows:
                token = box.reencrypt(secret)
                if token is None:
                    continue
                conn.execute(
                    update(TwoFactor)
                    .where(TwoFactor.tenant_id == tenant_id, TwoFactor.user_id == user_id)
                    .values(secret=token)
                )
                count += 1
    return count
