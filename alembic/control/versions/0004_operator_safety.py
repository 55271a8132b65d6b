"""Operator safety: what a store is (an identity that cannot collide), the copies of a
tenant kept outside its store, a mover's heartbeat and expected pause, and the end of
every logged operation.

- ``stores.system_identifier`` + ``stores.database_oid``: the server's system
  identifier (pg_control_system) and the database's oid, read as the owner. Two store
  rows must never name one database, whatever URL, host alias or pooler reaches it.
- ``tenant_copies``: a tenant's rows or database kept in a store it no longer lives in
  (``move --keep-source``); deleting the tenant removes or names each.
- ``tenant_moves.heartbeat_at`` / ``expected_pause_seconds``: a move is a lease; a
  mover that stops beating is gone, and its fence is void.
- ``operations.finished_at``: an operation is recorded when it starts and its outcome
  when it ends; a row still ``started`` with no end was killed.

Revision ID: c0004
Revises: c0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa

from alembic import op

revision = "c0004"
down_revision = "c0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("stores", sa.Column("system_identifier", sa.Text))
    op.add_column("stores", sa.Column("database_oid", sa.BigInteger))
    op.create_index(
        "uq_stores_identity",
        "stores",
        ["system_identifier", "database_oid"],
        unique=True,
    )
    op.create_table(
        "tenant_copies",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "tenant_id",
            sa.BigInteger,
            sa.ForeignKey(
                "tenants.id", ondelete="CASCADE", name="fk_tenant_copies_tenant_id_tenants"
            ),
            nullable=False,
        ),
        sa.Column(
            "store_id",
            sa.BigInteger,
            sa.ForeignKey("stores.id", name="fk_tenant_copies_store_id_stores"),
            nullable=False,
        ),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column(
            "kept_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("tenant_id", "store_id", name="uq_tenant_copies_tenant_id_store_id"),
    )
    op.add_column(
        "tenant_moves",
        sa.Column(
            "heartbeat_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.add_column("tenant_moves", sa.Column("expected_pause_seconds", sa.Float))
    op.add_column("operations", sa.Column("finished_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE operations SET finished_at = at")


def downgrade() -> None:
    op.drop_column("operations", "finished_at")
    op.drop_column("tenant_moves", "expected_pause_seconds")
    op.drop_column("tenant_moves", "heartbeat_at")
    op.drop_table("tenant_copies")
    op.drop_index("uq_stores_identity", table_name="stores")
    op.drop_column("stores", "database_oid")
    op.drop_column("stores", "system_identifier")
