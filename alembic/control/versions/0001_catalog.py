"""Catalog: tenants, domains, stores, placements, operations; NOTIFY on change.

Revision ID: c0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision = "c0001"
down_revision = None
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("slug", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("admin_email", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="provisioning"),
        sa.Column("status_reason", sa.Text),
        sa.Column("max_users", sa.Integer, nullable=False, server_default="50"),
        sa.Column("multi_location", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("trial_ends_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.CheckConstraint(
            "status in ('provisioning', 'active', 'suspended')", name="ck_tenants_status"
        ),
        sa.CheckConstraint("max_users > 0", name="ck_tenants_max_users_positive"),
    )
    op.create_table(
        "domains",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "tenant_id",
            sa.BigInteger,
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("host", sa.Text, nullable=False, unique=True),
        sa.Column("is_primary", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "stores",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("url_encrypted", sa.Text, nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("schema_revision", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.CheckConstraint("kind in ('pooled', 'dedicated')", name="ck_stores_kind"),
    )
    op.create_table(
        "placements",
        sa.Column(
            "tenant_id",
            sa.BigInteger,
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "store_id", sa.BigInteger, sa.ForeignKey("stores.id"), nullable=False, index=True
        ),
        sa.Column("state", sa.Text, nullable=False, server_default="active"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.CheckConstraint("state in ('active', 'moving')", name="ck_placements_state"),
    )
    op.create_table(
        "operations",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("tenant_slug", sa.Text, index=True),
        sa.Column("store_name", sa.Text),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("detail", postgresql.JSONB, nullable=False, server_default="{}"),
    )
    # Every change that can alter how a host resolves tells every app process, which
    # drops the tenant from its cache (payload: tenant id; empty: reload everything).
    op.execute(
        """
        CREATE FUNCTION notify_catalog_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            payload text := '';
        BEGIN
            IF TG_TABLE_NAME IN ('tenants') THEN
                payload := coalesce(NEW.id, OLD.id)::text;
            ELSIF TG_TABLE_NAME IN ('domains', 'placements') THEN
                payload := coalesce(NEW.tenant_id, OLD.tenant_id)::text;
            END IF;
            PERFORM pg_notify('salesapp_catalog', payload);
            RETURN NULL;
        END $$
        """
    )
    for table in ("tenants", "domains", "placements", "stores"):
        op.execute(
            f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION notify_catalog_change()"
        )


def downgrade() -> None:
    for table in ("operations", "placements", "stores", "domains", "tenants"):
        op.drop_table(table)
    op.execute("DROP FUNCTION notify_catalog_change()")
