"""A deployment-wide record of failed sign-ins per address (issue 16; filled in by its
sign-in work).

Revision ID: c0005
Revises: c0004
Create Date: 2026-12-01
"""

revision = "c0005"
down_revision = "c0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
