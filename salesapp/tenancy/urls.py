"""Database URL helpers: one URL form in the catalog and settings (``postgresql://``),
converted for SQLAlchemy or libpq, re-pointed at another database or role; and the
options every connection the app and the operator tools make is opened with."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url


def parse(url: str | URL) -> URL:
    """Parse a database URL, refusing anything but PostgreSQL with an actionable message."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except Exception:
        raise ValueError(
            "not a database URL; expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
        ) from None
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise ValueError(
            f"only PostgreSQL is supported, got a {parsed.get_backend_name()!r} URL; "
            "use postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
        )
    return parsed


def connect_args(settings) -> dict:
    """psycopg's connection options for every connection to a catalog or a store: the
    deployment's connect timeout, and no prepared statements when
    ``salesapp.prepared_statements`` is off.

    psycopg prepares a statement run 5 times on one connection under a name of its own
    (``_pg3_0`` ...); a transaction-mode pooler older than PgBouncer 1.21 hands each
    transaction any server connection, where that name is another client's or missing.
    One function, so that no connection (web engine, catalog, operator tool) is missed.
    """
    args = {"connect_timeout": settings.connect_timeout}
    if not settings.prepared_statements:
        args["prepare_threshold"] = None  # behind a transaction-mode pooler
    return args


def sqlalchemy_url(url: str | URL) -> URL:
    """The URL for SQLAlchemy's psycopg 3 dialect."""
    return parse(url).set(drivername="postgresql+psycopg")


def libpq_url(url: str | URL) -> str:
    """The URL as a libpq connection string, for psycopg.connect()."""
    return parse(url).set(drivername="postgresql").render_as_string(hide_password=False)


def plain(url: str | URL) -> str:
    """The URL in the form kept in settings and the catalog, password included."""
    return libpq_url(url)


def with_database(url: str | URL, database: str) -> str:
    return plain(parse(url).set(database=database))


def with_role(url: str | URL, user: str, password: str | None) -> str:
    return plain(parse(url).set(username=user, password=password))


def database_of(url: str | URL) -> str:
    return parse(url).database or ""


def via(url: str | URL, host: str, port: int) -> str:
    """The same role and database at another host and port (a pooler in front of it)."""
    parsed = parse(url)
    query = {k: v for k, v in parsed.query.items() if k != "host"}
    return plain(parsed.set(host=host, port=port, query=query))
