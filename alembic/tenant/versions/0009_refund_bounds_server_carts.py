"""Refunds bounded by what was paid, carts on the server, and the Cashiers' discount cap
(issue 16).

* ``sale_lines.refunded_amount``: the sum of the line's refund lines, kept by the sale
  service, so that CHECK constraints can hold what a line pays back within what was
  paid for it (``0 <= refunded_amount <= line_total``, ``0 <= refunded_quantity <=
  quantity``). Refund and refund-line amounts are never negative, and a sale's
  ``refunded_total`` stays within its ``total``.
* Existing rows are backfilled. Rows the old rounding made impossible (a line paid back
  more than its total, or a refund line of a negative amount) are restated first: that
  line's refunds are allocated again by cumulative quantity, as the service now does,
  and every amount changed is recorded in the tenant's audit trail
  (``refund.restated``, with the amount recorded before), so nothing is lost and every
  store gets the same validated constraints (a tenant moved or restored into another
  store must fit them there).
* ``pos_carts``: a user's cart at the till, kept here rather than in the session cookie.
* ``sale_policies``: the selling rules an Admin sets (the Cashiers' discount cap).

Plain SQL throughout, so ``salesapp migrate --sql`` prints it for a DBA. Row-level
security is lifted from the four sales tables (and the audit trail) only inside this
migration's transaction, so the backfill sees every tenant's rows; it is forced again
before the transaction ends.

Revision ID: t0009
Revises: t0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op
from salesapp.operations import fence
from salesapp.operations.rls import enable_rls_sql

revision = "t0009"
down_revision = "t0008"
branch_labels = None
depends_on = None

NEW_TABLES = ("pos_carts", "sale_policies")
#: the tables the backfill reads and writes across tenants
BACKFILLED = ("sales", "sale_lines", "refunds", "refund_lines", "audit_events")

#: each refund line of a line with an impossible history, allocated by cumulative
#: quantity: (paid for the quantity refunded up to and with it) - (up to before it)
RESTATED = """
    select r.tenant_id, r.id, r.refund_id, f.sale_id, r.amount as recorded,
           round(l.line_total * r.upto / l.quantity, 2)
             - round(l.line_total * (r.upto - r.quantity) / l.quantity, 2) as restated
      from (select *, sum(quantity) over (partition by tenant_id, sale_line_id order by id)
                   as upto
              from refund_lines) r
      join sale_lines l on l.tenant_id = r.tenant_id and l.id = r.sale_line_id
      join refunds f on f.tenant_id = r.tenant_id and f.id = r.refund_id
     where l.id in (select sale_line_id from refund_lines x
                     where x.tenant_id = l.tenant_id
                     group by sale_line_id
                    having min(x.amount) < 0 or sum(x.amount) > l.line_total)
"""

RESTATE_SQL = f"""
with restated as ({RESTATED}),
changed as (select * from restated where restated <> recorded),
logged as (
    insert into audit_events (tenant_id, id, at, user_id, username, action, target, detail)
    select tenant_id, gen_random_uuid(), now(), null, 'migration t0009', 'refund.restated',
           'sale id ' || sale_id,
           jsonb_build_object('refund_id', refund_id::text, 'refund_line_id', id::text,
                              'recorded', recorded::text, 'restated', restated::text,
                              'why', 'rounded on its own, the refunds of this line paid '
                                     'back more than its total or a negative amount')
      from changed
)
update refund_lines r set amount = c.restated
  from changed c where r.tenant_id = c.tenant_id and r.id = c.id
"""

BACKFILL_SQL = (
    # a refund is the sum of its lines; a sale's refunded total the sum of its refunds
    """
    update refunds f set amount = s.amount
      from (select tenant_id, refund_id, sum(amount) as amount from refund_lines
             group by tenant_id, refund_id) s
     where f.tenant_id = s.tenant_id and f.id = s.refund_id and f.amount <> s.amount
    """,
    """
    update sales s set refunded_total = f.amount
      from (select tenant_id, sale_id, sum(amount) as amount from refunds
             group by tenant_id, sale_id) f
     where s.tenant_id = f.tenant_id and s.id = f.sale_id and s.refunded_total <> f.amount
    """,
    """
    update sale_lines l set refunded_amount = r.amount
      from (select tenant_id, sale_line_id, sum(amount) as amount from refund_lines
             group by tenant_id, sale_line_id) r
     where l.tenant_id = r.tenant_id and l.id = r.sale_line_id
    """,
)

CHECKS = (
    ("refunded_within_total", "sales", "refunded_total >= 0 and refunded_total <= total"),
    (
        "refunded_amount_within_total",
        "sale_lines",
        "refunded_amount >= 0 and refunded_amount <= line_total",
    ),
    (
        "refunded_quantity_within_quantity",
        "sale_lines",
        "refunded_quantity >= 0 and refunded_quantity <= quantity",
    ),
    ("amount_not_negative", "refunds", "amount >= 0"),
    ("amount_not_negative", "refund_lines", "amount >= 0"),
    ("quantity_positive", "refund_lines", "quantity > 0"),
)


def upgrade() -> None:
    op.add_column(
        "sale_lines",
        sa.Column("refunded_amount", sa.Numeric(12, 2), server_default="0", nullable=False),
    )
    for table in BACKFILLED:
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(RESTATE_SQL)
    for statement in BACKFILL_SQL:
        op.execute(statement)
    for table in BACKFILLED:
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    for name, table, condition in CHECKS:
        op.create_check_constraint(op.f(f"ck_{table}_{name}"), table, condition)
    _create_tables()


def _create_tables() -> None:
    op.create_table(
        "pos_carts",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "lines", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_pos_carts_tenant_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", name=op.f("pk_pos_carts")),
    )
    op.create_table(
        "sale_policies",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("cashier_discount_cap", sa.Numeric(5, 2), server_default="20", nullable=False),
        sa.CheckConstraint(
            "cashier_discount_cap >= 0 and cashier_discount_cap <= 100",
            name=op.f("ck_sale_policies_cashier_discount_cap_percent"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_sale_policies")),
    )
    for table in NEW_TABLES:
        for statement in enable_rls_sql(table):
            op.execute(statement)
        op.execute(fence.trigger_sql(table))


def downgrade() -> None:
    """Drops what upgrade added; amounts restated by the upgrade stay restated (the
    audit trail keeps what was recorded before)."""
    for table in reversed(NEW_TABLES):
        op.drop_table(table)
    for name, table, _ in reversed(CHECKS):
        op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
    op.drop_column("sale_lines", "refunded_amount")
