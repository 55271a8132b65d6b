"""Products with a price typed at the till or sold by weight, and quick keys per location
(issue 17; filled in by its catalogue work).

Revision ID: t0013
Revises: t0012
Create Date: 2026-12-01
"""

revision = "t0013"
down_revision = "t0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
