"""Stores: a dedicated-server kind (a server that receives new dedicated databases),
and per-store migration status so `salesapp migrate` can resume after a crash.

Revision ID: c0002
Revises: c0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa

from alembic import op

revision = "c0002"
down_revision = "c0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("ck_stores_kind", "stores", type_="check")
    op.create_check_constraint(
        "ck_stores_kind", "stores", "kind in ('pooled', 'dedicated', 'dedicated-server')"
    )
    op.add_column("stores", sa.Column("migration_status", sa.Text))
    op.add_column("stores", sa.Column("migration_error", sa.Text))
    op.add_column("stores", sa.Column("migrated_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("stores", "migrated_at")
    op.drop_column("stores", "migration_error")
    op.drop_column("stores", "migration_status")
    op.drop_constraint("ck_stores_kind", "stores", type_="check")
    op.create_check_constraint("ck_stores_kind", "stores", "kind in ('pooled', 'dedicated')")
