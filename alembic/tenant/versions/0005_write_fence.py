"""The write fence for moves: a statement trigger on every tenant table, and the table of
tenants that have left this store (see salesapp.operations.fence).

Revision ID: t0005
Revises: t0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa

from alembic import op
from salesapp.operations import fence

revision = "t0005"
down_revision = "t0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        fence.FENCE_TABLE,
        sa.Column("fenced_tenant", sa.BigInteger, primary_key=True),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column(
            "fenced_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.execute(fence.FUNCTION_SQL)
    for table in _tenant_tables():
        op.execute(fence.trigger_sql(table))


def _tenant_tables():
    rows = op.get_bind().execute(
        sa.text(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' "
            "where n.nspname = 'public' and c.relkind = 'r' order by 1"
        )
    )
    return [row[0] for row in rows]


def downgrade() -> None:
    for table in _tenant_tables():
        op.execute(f"DROP TRIGGER {fence.TRIGGER} ON {table}")
    op.execute("DROP FUNCTION salesapp_write_fence()")
    op.drop_table(fence.FENCE_TABLE)
