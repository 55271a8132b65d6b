"""The stock back office: reorder levels per location, stock counts, suppliers, purchase
orders and goods receipts.

* ``reorder_levels``: a level per (product, location); where a product has none for a
  location, the product's ``reorder_level`` applies there once it has stock history.
* ``stock_counts`` / ``stock_count_lines``: a stock-take of one location (expected on
  hand at the start, counted); posting writes the differences as "adjust" movements.
* ``suppliers``, ``purchase_orders`` / ``purchase_order_lines``: what was ordered from
  whom, and its status (draft, sent, partial, received, cancelled).
* ``goods_receipts`` / ``goods_receipt_lines``: goods in, one "receive" movement per
  line, perhaps against an order.
* ``ix_stock_movements_tenant_id_created_at``: the movements page, newest first, paged.

Revision ID: t0018
Revises: t0017
Create Date: 2026-12-01
"""

import sqlalchemy as sa

from alembic import op
from salesapp.operations import fence
from salesapp.operations.rls import enable_rls_sql

revision = "t0018"
down_revision = "t0017"
branch_labels = None
depends_on = None

NEW_TABLES = (
    "reorder_levels",
    "stock_counts",
    "stock_count_lines",
    "suppliers",
    "purchase_orders",
    "purchase_order_lines",
    "goods_receipts",
    "goods_receipt_lines",
)
MONEY = sa.Numeric(12, 2)
QUANTITY = sa.Numeric(12, 3)
ORDER_STATUSES = ("draft", "sent", "partial", "received", "cancelled")


def _fk(table: str, column: str, target: str, **kw) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.id"],
        name=f"fk_{table}_tenant_id_{column}_{target}",
        **kw,
    )


def _key(table: str) -> list:
    return [
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=f"pk_{table}"),
    ]


def _created_at(name: str = "created_at") -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "reorder_levels",
        *_key("reorder_levels"),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("level", QUANTITY, nullable=False),
        _fk("reorder_levels", "product_id", "products", ondelete="CASCADE"),
        _fk("reorder_levels", "location_id", "locations", ondelete="CASCADE"),
        sa.UniqueConstraint(
            "tenant_id",
            "product_id",
            "location_id",
            name="uq_reorder_levels_tenant_id_product_id_location_id",
        ),
        sa.CheckConstraint("level >= 0", name="ck_reorder_levels_level_not_negative"),
    )
    op.create_index(
        "ix_reorder_levels_tenant_id_location_id", "reorder_levels", ["tenant_id", "location_id"]
    )
    op.create_table(
        "stock_counts",
        *_key("stock_counts"),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.Text(), server_default="open", nullable=False),
        sa.Column("started_by", sa.Uuid(), nullable=True),
        _created_at("started_at"),
        sa.Column("posted_by", sa.Uuid(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        _fk("stock_counts", "location_id", "locations"),
        _fk("stock_counts", "started_by", "users"),
        _fk("stock_counts", "posted_by", "users"),
        sa.UniqueConstraint("tenant_id", "number", name="uq_stock_counts_tenant_id_number"),
        sa.CheckConstraint("status in ('open', 'posted')", name="ck_stock_counts_status_known"),
    )
    op.create_table(
        "stock_count_lines",
        *_key("stock_count_lines"),
        sa.Column("count_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("expected", QUANTITY, nullable=False),
        sa.Column("counted", QUANTITY, nullable=True),
        _fk("stock_count_lines", "count_id", "stock_counts"),
        _fk("stock_count_lines", "product_id", "products"),
        sa.UniqueConstraint(
            "tenant_id",
            "count_id",
            "product_id",
            name="uq_stock_count_lines_tenant_id_count_id_product_id",
        ),
        sa.CheckConstraint(
            "counted is null or counted >= 0", name="ck_stock_count_lines_counted_not_negative"
        ),
    )
    op.create_table(
        "suppliers",
        *_key("suppliers"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("contact", sa.Text(), server_default="", nullable=False),
        sa.Column("phone", sa.Text(), server_default="", nullable=False),
        sa.Column("email", sa.Text(), server_default="", nullable=False),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        _created_at(),
        sa.UniqueConstraint("tenant_id", "name", name="uq_suppliers_tenant_id_name"),
        sa.CheckConstraint("length(name) between 1 and 120", name="ck_suppliers_name_length"),
    )
    op.create_table(
        "purchase_orders",
        *_key("purchase_orders"),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.Text(), server_default="draft", nullable=False),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        _created_at(),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        _fk("purchase_orders", "supplier_id", "suppliers"),
        _fk("purchase_orders", "location_id", "locations"),
        _fk("purchase_orders", "created_by", "users"),
        sa.UniqueConstraint("tenant_id", "number", name="uq_purchase_orders_tenant_id_number"),
        sa.CheckConstraint(
            "status in (" + ", ".join(f"'{s}'" for s in ORDER_STATUSES) + ")",
            name="ck_purchase_orders_status_known",
        ),
    )
    op.create_index(
        "ix_purchase_orders_tenant_id_supplier_id", "purchase_orders", ["tenant_id", "supplier_id"]
    )
    op.create_table(
        "purchase_order_lines",
        *_key("purchase_order_lines"),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("quantity", QUANTITY, nullable=False),
        sa.Column("unit_cost", MONEY, nullable=False),
        _fk("purchase_order_lines", "order_id", "purchase_orders", ondelete="CASCADE"),
        _fk("purchase_order_lines", "product_id", "products"),
        sa.UniqueConstraint(
            "tenant_id",
            "order_id",
            "product_id",
            name="uq_purchase_order_lines_tenant_id_order_id_product_id",
        ),
        sa.CheckConstraint("quantity > 0", name="ck_purchase_order_lines_quantity_positive"),
        sa.CheckConstraint("unit_cost >= 0", name="ck_purchase_order_lines_unit_cost_not_negative"),
    )
    op.create_table(
        "goods_receipts",
        *_key("goods_receipts"),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=True),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("purchase_order_id", sa.Uuid(), nullable=True),
        sa.Column("reference", sa.Text(), server_default="", nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        _created_at(),
        _fk("goods_receipts", "supplier_id", "suppliers"),
        _fk("goods_receipts", "location_id", "locations"),
        _fk("goods_receipts", "purchase_order_id", "purchase_orders"),
        _fk("goods_receipts", "user_id", "users"),
        sa.UniqueConstraint("tenant_id", "number", name="uq_goods_receipts_tenant_id_number"),
    )
    op.create_index(
        "ix_goods_receipts_tenant_id_purchase_order_id",
        "goods_receipts",
        ["tenant_id", "purchase_order_id"],
    )
    op.create_table(
        "goods_receipt_lines",
        *_key("goods_receipt_lines"),
        sa.Column("receipt_id", sa.Uuid(), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("quantity", QUANTITY, nullable=False),
        sa.Column("unit_cost", MONEY, nullable=False),
        sa.Column("movement_id", sa.Uuid(), nullable=False),
        _fk("goods_receipt_lines", "receipt_id", "goods_receipts", ondelete="CASCADE"),
        _fk("goods_receipt_lines", "product_id", "products"),
        _fk("goods_receipt_lines", "movement_id", "stock_movements"),
        sa.UniqueConstraint(
            "tenant_id",
            "receipt_id",
            "line_number",
            name="uq_goods_receipt_lines_tenant_id_receipt_id_line_number",
        ),
        sa.CheckConstraint("quantity > 0", name="ck_goods_receipt_lines_quantity_positive"),
        sa.CheckConstraint("unit_cost >= 0", name="ck_goods_receipt_lines_unit_cost_not_negative"),
    )
    for table in NEW_TABLES:
        for statement in enable_rls_sql(table):
            op.execute(statement)
        op.execute(fence.trigger_sql(table))
    op.create_index(
        "ix_stock_movements_tenant_id_created_at", "stock_movements", ["tenant_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_stock_movements_tenant_id_created_at", table_name="stock_movements")
    for table in reversed(NEW_TABLES):
        op.drop_table(table)
