"""Receipts: reprints marked COPY, numbered credit notes, e-mailed receipts (issue 18).

* ``sales.receipt_prints``: how many times the receipt was shown for printing; the first
  is the original, every later one a COPY.
* ``refunds.credit_number``: a gapless credit-note number per workspace. The column's
  default, ``salesapp_next_credit_number()``, counts in the new
  ``invoice_counters.last_credit_number`` (insert or update, as invoice numbers are
  counted) inside the refund's own transaction: a rolled-back refund gives its number
  back, and salesapp.sales.services needs no change. A default, not a trigger: a move
  or a restore copies refunds with their column given (numbers, or empty for refunds
  made before this revision), and a default is only evaluated when the column is not
  given. The default is set after the column is added, so no existing row is rewritten
  (they stay empty: a migration cannot see tenants' rows under FORCE row-level
  security, nor should it renumber them).
* ``receipt_sends``: who e-mailed which receipt or credit note to whom, and when.

Revision ID: t0017
Revises: t0016
Create Date: 2026-12-01
"""

import sqlalchemy as sa

from alembic import op
from salesapp.operations import fence
from salesapp.operations.rls import enable_rls_sql

revision = "t0017"
down_revision = "t0016"
branch_labels = None
depends_on = None

#: Runs as the caller (the app role), under row-level security: it can only count for the
#: transaction's own tenant (app.tenant_id); without one it gives no number.
NEXT_CREDIT_NUMBER_SQL = """
CREATE FUNCTION salesapp_next_credit_number() RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, public AS $$
DECLARE
    t bigint := nullif(current_setting('app.tenant_id', true), '')::bigint;
    n bigint;
BEGIN
    IF t IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO invoice_counters AS c (tenant_id, last_number, last_credit_number)
    VALUES (t, 0, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET last_credit_number = c.last_credit_number + 1
    RETURNING last_credit_number INTO n;
    RETURN n;
END $$
"""


def upgrade() -> None:
    op.add_column(
        "sales", sa.Column("receipt_prints", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "invoice_counters",
        sa.Column("last_credit_number", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.execute(NEXT_CREDIT_NUMBER_SQL)
    op.add_column("refunds", sa.Column("credit_number", sa.BigInteger(), nullable=True))
    op.execute(
        "ALTER TABLE refunds ALTER COLUMN credit_number SET DEFAULT salesapp_next_credit_number()"
    )
    op.create_unique_constraint(
        op.f("uq_refunds_tenant_id_credit_number"), "refunds", ["tenant_id", "credit_number"]
    )

    op.create_table(
        "receipt_sends",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sale_id", sa.Uuid(), nullable=False),
        sa.Column("refund_id", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_receipt_sends")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "sale_id"],
            ["sales.tenant_id", "sales.id"],
            name=op.f("fk_receipt_sends_tenant_id_sale_id_sales"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "refund_id"],
            ["refunds.tenant_id", "refunds.id"],
            name=op.f("fk_receipt_sends_tenant_id_refund_id_refunds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_receipt_sends_tenant_id_user_id_users"),
        ),
    )
    op.create_index("ix_receipt_sends_tenant_id_sale_id", "receipt_sends", ["tenant_id", "sale_id"])
    for statement in enable_rls_sql("receipt_sends"):
        op.execute(statement)
    op.execute(fence.trigger_sql("receipt_sends"))


def downgrade() -> None:
    op.drop_table("receipt_sends")
    op.drop_constraint(op.f("uq_refunds_tenant_id_credit_number"), "refunds", type_="unique")
    op.drop_column("refunds", "credit_number")
    op.execute("DROP FUNCTION salesapp_next_credit_number()")
    op.drop_column("invoice_counters", "last_credit_number")
    op.drop_column("sales", "receipt_prints")
