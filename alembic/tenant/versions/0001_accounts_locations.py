"""Tenant schema: users, roles, user_roles, locations — all under row-level security.

Revision ID: t0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa

from alembic import op
from salesapp.operations.rls import enable_rls_sql

revision = "t0001"
down_revision = None
branch_labels = None
depends_on = None

NOW = sa.text("now()")
TABLES = ("users", "roles", "user_roles", "locations")


def tenant_keys():
    return [
        sa.Column("tenant_id", sa.BigInteger, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "users",
        *tenant_keys(),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("email", sa.Text),
        sa.Column("full_name", sa.Text, nullable=False, server_default=""),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("last_login_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_users"),
        sa.UniqueConstraint("tenant_id", "username", name="uq_users_tenant_id_username"),
        sa.UniqueConstraint("tenant_id", "email", name="uq_users_tenant_id_email"),
    )
    op.create_table(
        "roles",
        *tenant_keys(),
        sa.Column("name", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_roles"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_roles_tenant_id_name"),
    )
    op.create_table(
        "user_roles",
        sa.Column("tenant_id", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("role_id", sa.Uuid, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", "role_id", name="pk_user_roles"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name="fk_user_roles_tenant_id_user_id_users",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "role_id"],
            ["roles.tenant_id", "roles.id"],
            name="fk_user_roles_tenant_id_role_id_roles",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_user_roles_tenant_id_role_id", "user_roles", ["tenant_id", "role_id"])
    op.create_table(
        "locations",
        *tenant_keys(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False, server_default=""),
        sa.Column("is_default", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_locations"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_locations_tenant_id_name"),
    )
    for table in TABLES:
        for statement in enable_rls_sql(table):
            op.execute(statement)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
