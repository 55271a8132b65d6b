"""Moves in progress: one row per tenant being moved between stores, so that a mover
that dies at any step can be run again and finish (or undo) its work.

Revision ID: c0003
Revises: c0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa

from alembic import op

revision = "c0003"
down_revision = "c0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant_moves",
        sa.Column(
            "tenant_id",
            sa.BigInteger,
            sa.ForeignKey("tenants.id", ondelete="CASCADE", name="fk_tenant_moves_tenant_id"),
            primary_key=True,
        ),
        sa.Column("source_store_id", sa.BigInteger, nullable=False),
        sa.Column("target_store_id", sa.BigInteger),
        sa.Column("created_target", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("keep_source", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("phase", sa.Text, nullable=False),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint(
            "phase in ('preparing', 'fenced', 'copied', 'verified', 'flipped')",
            name="ck_tenant_moves_phase",
        ),
    )


def downgrade() -> None:
    op.drop_table("tenant_moves")
