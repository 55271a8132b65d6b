"""Receipts: logos, per-location receipt address, reprints, credit notes, e-mailed receipts.

(Filled in by the work on issue 18; until then it changes nothing.)

Revision ID: t0017
Revises: t0016
Create Date: 2026-12-01
"""

revision = "t0017"
down_revision = "t0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
