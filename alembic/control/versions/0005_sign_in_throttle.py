"""A deployment-wide record of failed sign-ins (issue 16): per address, and per address,
workspace and login as typed (salesapp/accounts/throttle.py reads and writes it).

In the catalog rather than in each store, so that one address's allowance holds across
every workspace and every app process. The app role may read, add and delete rows here
(its only write in the catalog): the grant is in salesapp.operations.migrations.grant_sql,
applied after every migration, and docs/roles.sql repeats it for a DBA.

Revision ID: c0005
Revises: c0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa

from alembic import op

revision = "c0005"
down_revision = "c0004"
branch_labels = None
depends_on = None

TABLE = "failed_sign_ins"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column(
            "tenant_id",
            sa.BigInteger,
            sa.ForeignKey("tenants.id", ondelete="CASCADE", name="fk_failed_sign_ins_tenant_id"),
            nullable=False,
        ),
        sa.Column("login", sa.Text, nullable=False),
        sa.Column(
            "failed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index("ix_failed_sign_ins_address", TABLE, ["address", "failed_at"])
    op.create_index(
        "ix_failed_sign_ins_login", TABLE, ["address", "tenant_id", "login", "failed_at"]
    )
    op.create_index("ix_failed_sign_ins_failed_at", TABLE, ["failed_at"])
    op.create_index("ix_failed_sign_ins_tenant_id", TABLE, ["tenant_id"])


def downgrade() -> None:
    op.drop_table(TABLE)
