"""Registers, shifts and cash movements; every sale and refund belongs to a register and
a shift (issue 17).

* ``registers``: the tills of a location (a name unique within the location).
* ``shifts``: a register's drawer from its counted float to its counted close; at most
  one open shift per register (a partial unique index), so two people cannot open the
  same drawer twice.
* ``cash_movements``: cash put in or taken out of the drawer during a shift, with the
  reason.
* ``sales.register_id`` / ``shift_id`` and ``refunds.register_id`` / ``shift_id``: where
  the money went in or out. Empty for what was sold before registers existed.

Revision ID: t0010
Revises: t0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa

from alembic import op
from salesapp.operations import fence
from salesapp.operations.rls import enable_rls_sql

revision = "t0010"
down_revision = "t0009"
branch_labels = None
depends_on = None

NEW_TABLES = ("registers", "shifts", "cash_movements")
MONEY = sa.Numeric(12, 2)


def _fk(table: str, column: str, target: str, **kw) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.id"],
        name=op.f(f"fk_{table}_tenant_id_{column}_{target}"),
        **kw,
    )


def _columns() -> list:
    return [
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "registers",
        *_columns(),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        _fk("registers", "location_id", "locations"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_registers")),
        sa.UniqueConstraint(
            "tenant_id", "location_id", "name", name="uq_registers_tenant_id_location_id_name"
        ),
        sa.CheckConstraint("length(name) between 1 and 60", name="ck_registers_name_length"),
    )
    op.create_table(
        "shifts",
        *_columns(),
        sa.Column("register_id", sa.Uuid(), nullable=False),
        sa.Column("opened_by", sa.Uuid(), nullable=False),
        sa.Column(
            "opened_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("opening_float", MONEY, nullable=False),
        sa.Column("closed_by", sa.Uuid(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expected_cash", MONEY, nullable=True),
        sa.Column("counted_cash", MONEY, nullable=True),
        sa.Column("counted_card", MONEY, nullable=True),
        sa.Column("counted_mobile_money", MONEY, nullable=True),
        sa.Column("close_note", sa.Text(), nullable=True),
        _fk("shifts", "register_id", "registers"),
        _fk("shifts", "opened_by", "users"),
        _fk("shifts", "closed_by", "users"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_shifts")),
        sa.CheckConstraint("opening_float >= 0", name="ck_shifts_float_not_negative"),
        sa.CheckConstraint(
            "(closed_at is null) = (closed_by is null) and "
            "(closed_at is null) = (counted_cash is null) and "
            "(closed_at is null) = (expected_cash is null)",
            name="ck_shifts_closed_whole",
        ),
        sa.CheckConstraint(
            "coalesce(counted_cash, 0) >= 0 and coalesce(counted_card, 0) >= 0 "
            "and coalesce(counted_mobile_money, 0) >= 0",
            name="ck_shifts_counts_not_negative",
        ),
    )
    op.create_index(
        "uq_shifts_one_open_per_register",
        "shifts",
        ["tenant_id", "register_id"],
        unique=True,
        postgresql_where=sa.text("closed_at is null"),
    )
    op.create_index("ix_shifts_tenant_id_opened_at", "shifts", ["tenant_id", "opened_at"])
    op.create_table(
        "cash_movements",
        *_columns(),
        sa.Column("shift_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        _fk("cash_movements", "shift_id", "shifts", ondelete="CASCADE"),
        _fk("cash_movements", "user_id", "users"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_cash_movements")),
        sa.CheckConstraint("kind in ('in', 'out')", name="ck_cash_movements_kind"),
        sa.CheckConstraint("amount > 0", name="ck_cash_movements_amount_positive"),
        sa.CheckConstraint(
            "length(reason) between 1 and 200", name="ck_cash_movements_reason_length"
        ),
    )
    op.create_index(
        "ix_cash_movements_tenant_id_shift_id", "cash_movements", ["tenant_id", "shift_id"]
    )
    for table in ("sales", "refunds"):
        op.add_column(table, sa.Column("register_id", sa.Uuid(), nullable=True))
        op.add_column(table, sa.Column("shift_id", sa.Uuid(), nullable=True))
        op.create_foreign_key(
            f"fk_{table}_tenant_id_register_id_registers",
            table,
            "registers",
            ["tenant_id", "register_id"],
            ["tenant_id", "id"],
        )
        op.create_foreign_key(
            f"fk_{table}_tenant_id_shift_id_shifts",
            table,
            "shifts",
            ["tenant_id", "shift_id"],
            ["tenant_id", "id"],
        )
        op.create_index(f"ix_{table}_tenant_id_shift_id", table, ["tenant_id", "shift_id"])
    for table in NEW_TABLES:
        for statement in enable_rls_sql(table):
            op.execute(statement)
        op.execute(fence.trigger_sql(table))


def downgrade() -> None:
    for table in ("sales", "refunds"):
        op.drop_index(f"ix_{table}_tenant_id_shift_id", table_name=table)
        op.drop_constraint(f"fk_{table}_tenant_id_shift_id_shifts", table, type_="foreignkey")
        op.drop_constraint(f"fk_{table}_tenant_id_register_id_registers", table, type_="foreignkey")
        op.drop_column(table, "shift_id")
        op.drop_column(table, "register_id")
    for table in reversed(NEW_TABLES):
        op.drop_table(table)
