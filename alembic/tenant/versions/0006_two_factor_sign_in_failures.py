"""Sign-in hardening: TOTP secrets per user, failed sign-ins per address, and the
tenant's sign-in policy (two-factor sign-in mandatory for Admins). New tables only, no
new columns: an archive of an older revision still restores table by table.

Revision ID: t0006
Revises: t0005
Create Date: 2026-11-24
"""

import sqlalchemy as sa

from alembic import op
from salesapp.operations import fence
from salesapp.operations.rls import enable_rls_sql

revision = "t0006"
down_revision = "t0005"
branch_labels = None
depends_on = None

NEW_TABLES = ("user_two_factor", "sign_in_failures", "sign_in_policies")


def upgrade() -> None:
    op.create_table(
        "user_two_factor",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("enabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_user_two_factor_tenant_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", name=op.f("pk_user_two_factor")),
    )
    op.create_table(
        "sign_in_failures",
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column(
            "failed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_sign_in_failures")),
    )
    op.create_index(
        "ix_sign_in_failures_tenant_id_address",
        "sign_in_failures",
        ["tenant_id", "address", "failed_at"],
    )
    op.create_index(
        "ix_sign_in_failures_tenant_id_failed_at", "sign_in_failures", ["tenant_id", "failed_at"]
    )
    op.create_table(
        "sign_in_policies",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("admins_need_two_factor", sa.Boolean(), server_default="false", nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_sign_in_policies")),
    )
    for table in NEW_TABLES:
        for statement in enable_rls_sql(table):
            op.execute(statement)
        op.execute(fence.trigger_sql(table))


def downgrade() -> None:
    for table in reversed(NEW_TABLES):
        op.drop_table(table)
