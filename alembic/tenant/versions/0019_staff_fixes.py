"""Smaller fixes: customers' normalised phone numbers, two-factor recovery codes.

(Filled in by the work on issue 18; until then it changes nothing.)

Revision ID: t0019
Revises: t0018
Create Date: 2026-12-01
"""

revision = "t0019"
down_revision = "t0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
