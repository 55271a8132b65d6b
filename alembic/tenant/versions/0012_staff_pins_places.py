"""Staff PINs for a shared till, and which locations and registers a user may sell from
(issue 17).

* ``user_pins``: a user's short PIN, hashed with the deployment's Argon2 parameters like
  passwords; one row per user (no row: no PIN).
* ``user_locations`` / ``user_registers``: the places an Admin ties a user to. A user
  with no row in either may work anywhere (the behaviour before issue 17).

New tables only, no new columns: an archive of an older revision still restores table by
table.

Revision ID: t0012
Revises: t0011
Create Date: 2026-12-01
"""

import sqlalchemy as sa

from alembic import op
from salesapp.operations import fence
from salesapp.operations.rls import enable_rls_sql

revision = "t0012"
down_revision = "t0011"
branch_labels = None
depends_on = None

NEW_TABLES = ("user_pins", "user_locations", "user_registers")


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", "user_id"],
        ["users.tenant_id", "users.id"],
        name=op.f(f"fk_{table}_tenant_id_user_id_users"),
        ondelete="CASCADE",
    )


def _place_table(table: str, column: str, target: str) -> None:
    """A user's tie to a location or a register: (tenant_id, user_id, <place>)."""
    op.create_table(
        table,
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(column, sa.Uuid(), nullable=False),
        _user_fk(table),
        sa.ForeignKeyConstraint(
            ["tenant_id", column],
            [f"{target}.tenant_id", f"{target}.id"],
            name=op.f(f"fk_{table}_tenant_id_{column}_{target}"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", column, name=op.f(f"pk_{table}")),
    )
    op.create_index(f"ix_{table}_tenant_id_{column}", table, ["tenant_id", column])


def upgrade() -> None:
    op.create_table(
        "user_pins",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("pin_hash", sa.Text(), nullable=False),
        sa.Column(
            "set_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        _user_fk("user_pins"),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", name=op.f("pk_user_pins")),
    )
    _place_table("user_locations", "location_id", "locations")
    _place_table("user_registers", "register_id", "registers")
    for table in NEW_TABLES:
        for statement in enable_rls_sql(table):
            op.execute(statement)
        op.execute(fence.trigger_sql(table))


def downgrade() -> None:
    for table in reversed(NEW_TABLES):
        op.drop_table(table)
