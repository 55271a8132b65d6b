"""Refunds bounded by what was paid, and carts on the server (issue 16; filled in by its
money work).

Revision ID: t0009
Revises: t0008
Create Date: 2026-12-01
"""

revision = "t0009"
down_revision = "t0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
