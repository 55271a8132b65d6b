"""Stores accepting or draining new tenants (issue 19).

``stores.accepting``: true (every store so far, and every store added) while a pooled
store takes new tenants; false once `salesapp store drain` marks it draining, when new
tenants go elsewhere and its tenants are moved out one at a time
(salesapp/operations/placement.py). The web process reads it through its existing
SELECT on ``stores``.

Revision ID: c0008
Revises: c0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa

from alembic import op

revision = "c0008"
down_revision = "c0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "stores",
        sa.Column("accepting", sa.Boolean, nullable=False, server_default=sa.true()),
    )


def downgrade() -> None:
    op.drop_column("stores", "accepting")
