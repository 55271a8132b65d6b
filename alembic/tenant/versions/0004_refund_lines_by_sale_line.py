"""Refund lines by sale line: the refund service and the reports look them up so.

Revision ID: t0004
Revises: t0003
Create Date: 2026-11-23
"""

from alembic import op

revision = "t0004"
down_revision = "t0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_refund_lines_tenant_id_sale_line_id", "refund_lines", ["tenant_id", "sale_line_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_refund_lines_tenant_id_sale_line_id", table_name="refund_lines")
