"""Schema migrations for the catalog (alembic/control) and for stores (alembic/tenant).

Alembic runs programmatically on a connection of the owner role; after the migrations,
the same transaction grants the app role exactly what it needs (DML on tenant tables,
SELECT on the catalog's lookup tables), so every new table is covered without a
migration having to know the deployment's role names.
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from alembic import command

from . import urls

ALEMBIC_DIR = Path(__file__).resolve().parents[2] / "alembic"
KINDS = ("control", "tenant")

#: the catalog tables the app role reads to resolve hosts; it writes none of them
CATALOG_READABLE = ("tenants", "domains", "stores", "placements")


def alembic_config(kind: str, url: str | None = None, app_role: str | None = None) -> Config:
    if kind not in KINDS:
        raise ValueError(f"unknown schema kind {kind!r}; expected one of {KINDS}")
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR / kind))
    if url:
        config.set_main_option("sqlalchemy.url", str(urls.sqlalchemy_url(url)).replace("%", "%%"))
    config.attributes["app_role"] = app_role
    config.attributes["kind"] = kind
    return config


def head_revision(kind: str) -> str:
    return ScriptDirectory.from_config(alembic_config(kind)).get_current_head()


def current_revision(connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(kind: str, url: str, app_role: str, revision: str = "head") -> str:
    """Migrate the database at ``url`` (owner role) to ``revision``; return the new revision."""
    engine = create_engine(urls.sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            config = alembic_config(kind, url, app_role)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            return current_revision(connection)
    finally:
        engine.dispose()


def grant_app_role(connection, kind: str, app_role: str | None) -> None:
    """Grant the app role its least privileges on the schema just migrated."""
    if not app_role:
        return
    if kind == "tenant":
        connection.execute(
            text(
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app_role}"
            )
        )
        connection.execute(text(f"REVOKE ALL ON alembic_version FROM {app_role}"))
    else:
        connection.execute(text(f"GRANT SELECT ON {', '.join(CATALOG_READABLE)} TO {app_role}"))


def run_env(context, target_metadata) -> None:
    """The body of both env.py files: online migrations, then the grants."""
    config = context.config
    kind = config.attributes.get("kind") or Path(config.get_main_option("script_location")).name
    x_args = context.get_x_argument(as_dictionary=True)
    app_role = config.attributes.get("app_role") or x_args.get("app_role")

    if context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url"),
            target_metadata=target_metadata,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return

    def run(connection):
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
            grant_app_role(connection, kind, app_role)

    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=NullPool)
    with engine.begin() as connection:
        run(connection)
    engine.dispose()
