"""Products with a price typed at the till or sold by weight, and quick keys per location
(issue 17; filled in by its catalogue work).

* ``products.open_price``: the cashier types the price at the till (the product's
  ``unit_price`` is only a default, often zero).
* ``products.sold_by_weight``: the quantity is a weight in kg (up to 3 decimals).
  Both default to false, so every existing product sells as before and an archive of
  an older revision restores unchanged.
* ``quick_keys``: the product keys a Manager arranges per location for the till, in
  ``position`` order. A product is a key at most once per location, and two keys of a
  location never share a position (checked at commit, so two keys can swap places in
  one transaction). The colour is one of a small fixed palette (the till's stylesheet
  has a class for each).

Revision ID: t0013
Revises: t0012
Create Date: 2026-12-01
"""

import sqlalchemy as sa

from alembic import op
from salesapp.operations import fence
from salesapp.operations.rls import enable_rls_sql

revision = "t0013"
down_revision = "t0012"
branch_labels = None
depends_on = None

NEW_COLUMNS = ("open_price", "sold_by_weight")
#: the palette as this revision knows it (salesapp.products.models.PALETTE)
PALETTE = ("grey", "red", "orange", "yellow", "green", "teal", "blue", "purple", "pink")


def upgrade() -> None:
    for name in NEW_COLUMNS:
        op.add_column(
            "products", sa.Column(name, sa.Boolean(), server_default="false", nullable=False)
        )
    palette = ", ".join(f"'{colour}'" for colour in PALETTE)
    op.create_table(
        "quick_keys",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("colour", sa.Text(), nullable=True),
        sa.CheckConstraint(f"colour in ({palette})", name=op.f("ck_quick_keys_colour_palette")),
        sa.CheckConstraint("position >= 0", name=op.f("ck_quick_keys_position_not_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "location_id"],
            ["locations.tenant_id", "locations.id"],
            name=op.f("fk_quick_keys_tenant_id_location_id_locations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["products.tenant_id", "products.id"],
            name=op.f("fk_quick_keys_tenant_id_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_quick_keys")),
        sa.UniqueConstraint(
            "tenant_id",
            "location_id",
            "position",
            name=op.f("uq_quick_keys_tenant_id_location_id_position"),
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "location_id",
            "product_id",
            name=op.f("uq_quick_keys_tenant_id_location_id_product_id"),
        ),
    )
    op.create_index("ix_quick_keys_tenant_id_product_id", "quick_keys", ["tenant_id", "product_id"])
    for statement in enable_rls_sql("quick_keys"):
        op.execute(statement)
    op.execute(fence.trigger_sql("quick_keys"))


def downgrade() -> None:
    op.drop_table("quick_keys")
    for name in reversed(NEW_COLUMNS):
        op.drop_column("products", name)
