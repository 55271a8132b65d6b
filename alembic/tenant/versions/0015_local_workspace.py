"""A workspace's time zone, locale, tax-inclusive prices and business details (issue 18).

``workspace_settings`` gains ``time_zone`` (IANA name, UTC for existing workspaces),
``locale`` (a Babel identifier, en_US), ``prices_include_tax`` (false: prices stay as
they were typed, before tax), ``tax_rounding`` ('line' or 'invoice'), and the business's
``legal_name``, ``address``, ``phone``, ``tax_number`` and ``receipt_header`` for
receipts. Storage stays UTC. ``workspace_logos`` holds a workspace's receipt logo (one
row, at most 256 KiB of PNG, JPEG or WebP).

Revision ID: t0015
Revises: t0014
Create Date: 2026-12-01
"""

import sqlalchemy as sa

from alembic import op
from salesapp.operations import fence
from salesapp.operations.rls import enable_rls_sql

revision = "t0015"
down_revision = "t0014"
branch_labels = None
depends_on = None

TEXTS = {
    "time_zone": "UTC",
    "locale": "en_US",
    "tax_rounding": "line",
    "legal_name": "",
    "address": "",
    "phone": "",
    "tax_number": "",
    "receipt_header": "",
}


def upgrade() -> None:
    for name, default in TEXTS.items():
        op.add_column(
            "workspace_settings",
            sa.Column(name, sa.Text(), server_default=default, nullable=False),
        )
    op.add_column(
        "workspace_settings",
        sa.Column("prices_include_tax", sa.Boolean(), server_default="false", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_workspace_settings_tax_rounding"),
        "workspace_settings",
        "tax_rounding in ('line', 'invoice')",
    )
    op.create_table(
        "workspace_logos",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("media_type", sa.Text(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_workspace_logos")),
        sa.CheckConstraint(
            "octet_length(content) <= 262144", name=op.f("ck_workspace_logos_content_size")
        ),
        sa.CheckConstraint(
            "media_type in ('image/png', 'image/jpeg', 'image/webp')",
            name=op.f("ck_workspace_logos_media_type"),
        ),
    )
    for statement in enable_rls_sql("workspace_logos"):
        op.execute(statement)
    op.execute(fence.trigger_sql("workspace_logos"))


def downgrade() -> None:
    op.drop_table("workspace_logos")
    op.drop_constraint(
        op.f("ck_workspace_settings_tax_rounding"), "workspace_settings", type_="check"
    )
    op.drop_column("workspace_settings", "prices_include_tax")
    for name in reversed(TEXTS):
        op.drop_column("workspace_settings", name)
