"""Revocable sessions and sign-in throttling (issue 16; filled in by its sign-in work).

Revision ID: t0007
Revises: t0006
Create Date: 2026-12-01
"""

revision = "t0007"
down_revision = "t0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
