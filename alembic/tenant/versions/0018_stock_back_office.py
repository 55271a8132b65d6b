"""The stock back office: suppliers, purchase orders, goods receipts, stock counts, reorder levels per location.

(Filled in by the work on issue 18; until then it changes nothing.)

Revision ID: t0018
Revises: t0017
Create Date: 2026-12-01
"""

revision = "t0018"
down_revision = "t0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
