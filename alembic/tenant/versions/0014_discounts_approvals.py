"""Discounts on the whole sale and in percent, caps per role, and a Manager's approval
by PIN of a discount over the seller's cap (issue 17).

* ``sales.cart_discount``: of ``discount_total``, the discount on the whole sale (it is
  shared out over the lines' ``discount``, so their tax stays right).
* ``sales.discount_approved_by`` and ``sales.discount_percent``: who approved a discount
  over the seller's cap with their PIN, and how large it was (in percent of a price).
* ``pos_carts.approved_by`` and ``approved_percent``: the approval, kept with the cart
  until the sale is completed, for discounts up to that percentage.
* ``sale_policies.manager_discount_cap`` (empty: no cap), and the Cashiers' default cap
  becomes 10% (a workspace that saved its cap keeps it).

Revision ID: t0014
Revises: t0013
Create Date: 2026-12-01
"""

import sqlalchemy as sa

from alembic import op

revision = "t0014"
down_revision = "t0013"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(12, 2)
PERCENT = sa.Numeric(7, 2)


def upgrade() -> None:
    op.add_column("sales", sa.Column("cart_discount", MONEY, server_default="0", nullable=False))
    op.add_column("sales", sa.Column("discount_approved_by", sa.Uuid(), nullable=True))
    op.add_column("sales", sa.Column("discount_percent", PERCENT, nullable=True))
    op.create_foreign_key(
        op.f("fk_sales_tenant_id_discount_approved_by_users"),
        "sales",
        "users",
        ["tenant_id", "discount_approved_by"],
        ["tenant_id", "id"],
    )
    op.add_column("pos_carts", sa.Column("approved_by", sa.Uuid(), nullable=True))
    op.add_column("pos_carts", sa.Column("approved_percent", PERCENT, nullable=True))
    op.add_column(
        "sale_policies", sa.Column("manager_discount_cap", sa.Numeric(5, 2), nullable=True)
    )
    op.create_check_constraint(
        op.f("ck_sale_policies_manager_discount_cap_percent"),
        "sale_policies",
        "manager_discount_cap >= 0 and manager_discount_cap <= 100",
    )
    op.alter_column("sale_policies", "cashier_discount_cap", server_default="10")


def downgrade() -> None:
    op.alter_column("sale_policies", "cashier_discount_cap", server_default="20")
    op.drop_constraint(
        op.f("ck_sale_policies_manager_discount_cap_percent"), "sale_policies", type_="check"
    )
    op.drop_column("sale_policies", "manager_discount_cap")
    op.drop_column("pos_carts", "approved_percent")
    op.drop_column("pos_carts", "approved_by")
    op.drop_constraint(
        op.f("fk_sales_tenant_id_discount_approved_by_users"), "sales", type_="foreignkey"
    )
    op.drop_column("sales", "discount_percent")
    op.drop_column("sales", "discount_approved_by")
    op.drop_column("sales", "cart_discount")
