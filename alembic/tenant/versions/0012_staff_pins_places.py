"""Staff PINs for a shared till, and which locations and registers a user may sell from
(issue 17; filled in by its staff work).

Revision ID: t0012
Revises: t0011
Create Date: 2026-12-01
"""

revision = "t0012"
down_revision = "t0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
