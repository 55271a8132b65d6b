"""Password resets by e-mail and verified e-mail addresses (issue 19).

* ``user_email_tokens``: links sent by e-mail to a user (set a new password, verify the
  address), each stored as the SHA-256 of its token, single use and expiring; rows
  without a token count requests that sent nothing, for throttling alike
  (salesapp.accounts.resets).
* ``users.email_verified_at``: when the user followed a verify link sent to their
  current e-mail; empty for users made before (none has verified yet).

Revision ID: t0020
Revises: t0019
Create Date: 2026-12-01
"""

import sqlalchemy as sa

from alembic import op
from salesapp.operations import fence
from salesapp.operations.rls import enable_rls_sql

revision = "t0020"
down_revision = "t0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_table(
        "user_email_tokens",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), server_default="", nullable=False),
        sa.Column("password_stamp", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_user_email_tokens")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_user_email_tokens_tenant_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "tenant_id", "token_hash", name=op.f("uq_user_email_tokens_tenant_id_token_hash")
        ),
        sa.CheckConstraint(
            "purpose in ('reset', 'verify')", name=op.f("ck_user_email_tokens_purpose_known")
        ),
    )
    op.create_index(
        "ix_user_email_tokens_tenant_id_user_id",
        "user_email_tokens",
        ["tenant_id", "user_id", "created_at"],
    )
    op.create_index(
        "ix_user_email_tokens_tenant_id_address",
        "user_email_tokens",
        ["tenant_id", "address", "created_at"],
    )
    for statement in enable_rls_sql("user_email_tokens"):
        op.execute(statement)
    op.execute(fence.trigger_sql("user_email_tokens"))


def downgrade() -> None:
    op.drop_table("user_email_tokens")
    op.drop_column("users", "email_verified_at")
