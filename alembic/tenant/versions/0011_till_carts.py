"""Carts on the server per register: several open carts, parked and resumed, and idempotent
completion keys (issue 17).

* ``pos_carts`` becomes a cart of its own rather than one per user: an ``id`` (the
  primary key), the ``register_id`` it is rung on (empty when the workspace has no
  registers), ``user_id`` now meaning who opened it, a ``status`` (``open``: on a till's
  screen; ``parked``: put aside to be resumed), a ``label``, ``created_at``, the
  ``payments`` typed so far (so they survive every cart update), and a cart-level
  discount (``discount``, an amount or, with ``discount_is_percent``, a percentage).
  Existing carts are kept as open carts without a register.
* ``sale_completions``: the client-made key of every completed sale (the till form's
  hidden key, the API's ``Idempotency-Key`` header) with a fingerprint of what was
  asked, so a retry returns the first sale and never makes a second; the primary key
  ``(tenant_id, key)`` is what makes two concurrent completions with one key wait for
  each other.
* ``sale_policies.needs_open_shift``: a register can't sell without an open shift
  (default on).

Revision ID: t0011
Revises: t0010
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op
from salesapp.operations import fence
from salesapp.operations.rls import enable_rls_sql

revision = "t0011"
down_revision = "t0010"
branch_labels = None
depends_on = None


def _upgrade_carts() -> None:
    op.add_column(
        "pos_carts",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
    )
    op.drop_constraint("pk_pos_carts", "pos_carts", type_="primary")
    op.create_primary_key("pk_pos_carts", "pos_carts", ["tenant_id", "id"])
    op.add_column("pos_carts", sa.Column("register_id", sa.Uuid(), nullable=True))
    op.add_column(
        "pos_carts", sa.Column("status", sa.Text(), server_default="open", nullable=False)
    )
    op.add_column("pos_carts", sa.Column("label", sa.Text(), server_default="", nullable=False))
    op.add_column(
        "pos_carts",
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.add_column(
        "pos_carts",
        sa.Column(
            "payments",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
    )
    op.add_column(
        "pos_carts",
        sa.Column("discount", sa.Numeric(12, 2), server_default="0", nullable=False),
    )
    op.add_column(
        "pos_carts",
        sa.Column("discount_is_percent", sa.Boolean(), server_default="false", nullable=False),
    )
    op.create_foreign_key(
        "fk_pos_carts_tenant_id_register_id_registers",
        "pos_carts",
        "registers",
        ["tenant_id", "register_id"],
        ["tenant_id", "id"],
        ondelete="CASCADE",
    )
    op.create_check_constraint("ck_pos_carts_status", "pos_carts", "status in ('open', 'parked')")
    op.create_check_constraint("ck_pos_carts_label_length", "pos_carts", "length(label) <= 60")
    op.create_check_constraint(
        "ck_pos_carts_discount_bounds",
        "pos_carts",
        "discount >= 0 and (not discount_is_percent or discount <= 100)",
    )
    op.create_index(
        "ix_pos_carts_tenant_id_register_id_status",
        "pos_carts",
        ["tenant_id", "register_id", "status"],
    )
    op.create_index("ix_pos_carts_tenant_id_user_id", "pos_carts", ["tenant_id", "user_id"])


def _create_completions() -> None:
    op.create_table(
        "sale_completions",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("sale_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "sale_id"],
            ["sales.tenant_id", "sales.id"],
            name=op.f("fk_sale_completions_tenant_id_sale_id_sales"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "key", name=op.f("pk_sale_completions")),
        sa.CheckConstraint(
            "length(key) between 1 and 100", name=op.f("ck_sale_completions_key_length")
        ),
    )
    for statement in enable_rls_sql("sale_completions"):
        op.execute(statement)
    op.execute(fence.trigger_sql("sale_completions"))


def upgrade() -> None:
    _upgrade_carts()
    _create_completions()
    op.add_column(
        "sale_policies",
        sa.Column("needs_open_shift", sa.Boolean(), server_default="true", nullable=False),
    )


def downgrade() -> None:
    """Back to one cart per user: every cart but each user's latest is dropped."""
    op.drop_column("sale_policies", "needs_open_shift")
    op.drop_table("sale_completions")
    # every tenant's carts: row-level security is lifted inside this transaction only
    op.execute("ALTER TABLE pos_carts NO FORCE ROW LEVEL SECURITY")
    op.execute(
        "delete from pos_carts c using pos_carts d where c.tenant_id = d.tenant_id "
        "and c.user_id = d.user_id and (c.updated_at, c.id) < (d.updated_at, d.id)"
    )
    op.execute("ALTER TABLE pos_carts FORCE ROW LEVEL SECURITY")
    op.drop_index("ix_pos_carts_tenant_id_user_id", table_name="pos_carts")
    op.drop_index("ix_pos_carts_tenant_id_register_id_status", table_name="pos_carts")
    for name in (
        "ck_pos_carts_discount_bounds",
        "ck_pos_carts_label_length",
        "ck_pos_carts_status",
    ):
        op.drop_constraint(name, "pos_carts", type_="check")
    op.drop_constraint(
        "fk_pos_carts_tenant_id_register_id_registers", "pos_carts", type_="foreignkey"
    )
    for column in (
        "discount_is_percent",
        "discount",
        "payments",
        "created_at",
        "label",
        "status",
        "register_id",
    ):
        op.drop_column("pos_carts", column)
    op.drop_constraint("pk_pos_carts", "pos_carts", type_="primary")
    op.create_primary_key("pk_pos_carts", "pos_carts", ["tenant_id", "user_id"])
    op.drop_column("pos_carts", "id")
