"""Revocable sessions (issue 16): a per-user session generation.

A session names the generation of its user at sign-in (salesapp/security.py); a request
whose session names another generation is signed out. Signing out, a new password (own
or reset), deactivation and a change of roles add one, which ends every session of the
user at once, copies of the cookie included. A column with a default: an archive made
at an older revision restores (migrated forward, every user at generation 0).

Revision ID: t0007
Revises: t0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa

from alembic import op

revision = "t0007"
down_revision = "t0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("session_generation", sa.BigInteger, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("users", "session_generation")
