"""Named tax rates per workspace, chosen per product; tax per rate on sale lines.

* ``tax_rates``: a workspace's named rates (name unique, 0-100 percent).
* ``products.tax_rate_id``: the product's named rate (empty for products made before:
  their ``tax_rate`` percentage stands, and the app names it when first needed; a
  migration cannot, as row-level security hides every tenant's rows from it).
* ``sale_lines.tax_name``: the rate's name at the time of sale, for tax per rate.
* ``sales.prices_include_tax`` and ``sales.tax_rounding``: how the sale was priced, so
  its receipt and the reports read it as it was.

Revision ID: t0016
Revises: t0015
Create Date: 2026-12-01
"""

import sqlalchemy as sa

from alembic import op
from salesapp.operations import fence
from salesapp.operations.rls import enable_rls_sql

revision = "t0016"
down_revision = "t0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tax_rates",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("rate", sa.Numeric(5, 2), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_tax_rates")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_tax_rates_tenant_id_name")),
        sa.CheckConstraint("rate >= 0 and rate <= 100", name=op.f("ck_tax_rates_rate_percent")),
        sa.CheckConstraint("length(name) between 1 and 60", name=op.f("ck_tax_rates_name_length")),
    )
    for statement in enable_rls_sql("tax_rates"):
        op.execute(statement)
    op.execute(fence.trigger_sql("tax_rates"))
    op.add_column("products", sa.Column("tax_rate_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_products_tenant_id_tax_rate_id_tax_rates"),
        "products",
        "tax_rates",
        ["tenant_id", "tax_rate_id"],
        ["tenant_id", "id"],
    )
    op.create_index("ix_products_tenant_id_tax_rate_id", "products", ["tenant_id", "tax_rate_id"])
    op.add_column("sale_lines", sa.Column("tax_name", sa.Text(), server_default="", nullable=False))
    op.add_column(
        "sales",
        sa.Column("prices_include_tax", sa.Boolean(), server_default="false", nullable=False),
    )
    op.add_column(
        "sales", sa.Column("tax_rounding", sa.Text(), server_default="line", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("sales", "tax_rounding")
    op.drop_column("sales", "prices_include_tax")
    op.drop_column("sale_lines", "tax_name")
    op.drop_index("ix_products_tenant_id_tax_rate_id", table_name="products")
    op.drop_constraint(
        op.f("fk_products_tenant_id_tax_rate_id_tax_rates"), "products", type_="foreignkey"
    )
    op.drop_column("products", "tax_rate_id")
    op.drop_table("tax_rates")
