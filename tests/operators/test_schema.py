"""The operators' model and migration c0006 agree (a model without its migration, or
the other way round, would break sign-in at run time, not at start-up), and the app
role, which tenants' requests use, cannot read an operator's hash or secret."""

from __future__ import annotations

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

from salesapp.operations.operator_models import Operator, OperatorFailedSignIn
from salesapp.tenancy import urls

TABLES = (Operator.__table__, OperatorFailedSignIn.__table__)


def test_the_model_matches_the_migration(catalog):
    metadata = MetaData(naming_convention=Operator.metadata.naming_convention)
    for table in TABLES:
        table.to_metadata(metadata)
    with catalog.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = [
            diff
            for diff in compare_metadata(context, metadata)
            if _table_of(diff) in {table.name for table in TABLES}
        ]
    assert differences == []


def _table_of(diff) -> str | None:
    change = diff[0] if isinstance(diff, list) else diff
    for part in change:
        table = getattr(part, "table", None)
        if table is not None:
            return table.name
        if isinstance(part, str) and part in {t.name for t in TABLES}:
            return part
    return None


@pytest.mark.parametrize("table", ["operators", "operator_failed_sign_ins"])
def test_the_app_role_cannot_read_them(settings, table):
    url = urls.with_role(settings.catalog_url, settings.app_role, settings.app_password)
    with (
        psycopg.connect(urls.libpq_url(url), autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute(f"select * from {table}")
