"""API token scopes and expiry (issue 16): ``api_tokens.scope`` (read, sales or full,
checked) and ``api_tokens.expires_at`` (NULL: never).

Tokens made before this revision become ``full`` and never expire, so integrations that
use them keep working; the column keeps ``full`` as its server default for the same
reason (an app process of the previous release inserting a token during a rolling
deployment). New columns with defaults: an archive of an older revision is migrated
forward in a scratch database before it is copied in (salesapp.operations.archive), so
it gets them too. The table already has RLS and the write fence (t0003, t0005).

Revision ID: t0008
Revises: t0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa

from alembic import op

revision = "t0008"
down_revision = "t0007"
branch_labels = None
depends_on = None

#: the scopes when this revision was written (salesapp.api.grants.Scope), spelled out:
#: a migration must not change when the code does
SCOPES = ("read", "sales", "full")


def upgrade() -> None:
    op.add_column(
        "api_tokens", sa.Column("scope", sa.Text(), server_default="full", nullable=False)
    )
    op.add_column("api_tokens", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(op.f("ck_api_tokens_scope"), "api_tokens", f"scope in {SCOPES!r}")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_api_tokens_scope"), "api_tokens", type_="check")
    op.drop_column("api_tokens", "expires_at")
    op.drop_column("api_tokens", "scope")
