"""A workspace's time zone, locale, tax-inclusive prices and business details (issue 18).

``workspace_settings`` gains ``time_zone`` (IANA name, UTC for existing workspaces),
``locale`` (a Babel identifier, en_US), ``prices_include_tax`` (false: prices stay as
they were typed, before tax), ``tax_rounding`` ('line' or 'invoice'), and the business's
``legal_name``, ``address``, ``phone``, ``tax_number`` and ``receipt_header`` for
receipts. Storage stays UTC.

Revision ID: t0015
Revises: t0014
Create Date: 2026-12-01
"""

import sqlalchemy as sa

from alembic import op

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


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_workspace_settings_tax_rounding"), "workspace_settings", type_="check"
    )
    op.drop_column("workspace_settings", "prices_include_tax")
    for name in reversed(TEXTS):
        op.drop_column("workspace_settings", name)
