"""Named tax rates per workspace, chosen per product; tax per rate on sale lines.

(Filled in by the work on issue 18; until then it changes nothing.)

Revision ID: t0016
Revises: t0015
Create Date: 2026-12-01
"""

revision = "t0016"
down_revision = "t0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
