"""Smaller fixes: customers' normalised phone numbers, two-factor recovery codes.

* ``customers.phone_normalized``: the phone in E.164 (``+254712345678``) as the
  workspace's country reads it, or its digits where it cannot be read, so a search
  finds ``0712 345 678`` and ``+254 712 345 678`` as one number and a duplicate can be
  told. Empty for customers made before: the app fills it when it first needs it (a
  migration cannot, as row-level security hides every tenant's rows from it).
* ``user_recovery_codes``: a user's single-use codes for signing in without their
  authenticator app, hashed; ``used_at`` set once a code is taken.

Revision ID: t0019
Revises: t0018
Create Date: 2026-12-01
"""

import sqlalchemy as sa

from alembic import op
from salesapp.operations import fence
from salesapp.operations.rls import enable_rls_sql

revision = "t0019"
down_revision = "t0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "customers",
        sa.Column("phone_normalized", sa.Text(), server_default="", nullable=False),
    )
    op.create_index(
        "ix_customers_tenant_id_phone_normalized",
        "customers",
        ["tenant_id", "phone_normalized"],
    )
    op.create_table(
        "user_recovery_codes",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_user_recovery_codes")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_user_recovery_codes_tenant_id_user_id_users"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_user_recovery_codes_tenant_id_user_id",
        "user_recovery_codes",
        ["tenant_id", "user_id"],
    )
    for statement in enable_rls_sql("user_recovery_codes"):
        op.execute(statement)
    op.execute(fence.trigger_sql("user_recovery_codes"))


def downgrade() -> None:
    op.drop_table("user_recovery_codes")
    op.drop_index("ix_customers_tenant_id_phone_normalized", table_name="customers")
    op.drop_column("customers", "phone_normalized")
