"""Carts on the server per register: several open carts, parked and resumed, and idempotent
completion keys (issue 17; filled in by its till work).

Revision ID: t0011
Revises: t0010
Create Date: 2026-12-01
"""

revision = "t0011"
down_revision = "t0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
