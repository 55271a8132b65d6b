"""Self-service sign-ups waiting for their e-mail to be verified (issue 19), read and
written by the public site as the app role (salesapp/public/models.py) and turned into
workspaces by `salesapp signup process` (salesapp/operations/signups.py).

- ``signups``: the business's name, the subdomain asked for, the signer's e-mail and
  Argon2 password hash (the password itself is never kept), the SHA-256 of the
  verification link's token (the token is only in the e-mail), the client's address
  (for the throttle), a status (``pending`` until the link is followed, ``verified``
  until the workspace is made, then ``created`` or ``failed`` with the reason), the
  tenant made, and when it was asked, expires (24 hours on), was verified and finished.

No tenant row exists before the link is followed and the workspace is made: a sign-up
holds nothing in ``tenants``.

Revision ID: c0007
Revises: c0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa

from alembic import op

revision = "c0007"
down_revision = "c0006"
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "signups",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("token_hash", sa.Text, nullable=False),
        sa.Column("business_name", sa.Text, nullable=False),
        sa.Column("slug", sa.Text, nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("failure", sa.Text),
        sa.Column("tenant_id", sa.BigInteger),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_signups"),
        sa.UniqueConstraint("token_hash", name="uq_signups_token_hash"),
        sa.CheckConstraint(
            "status in ('pending', 'verified', 'created', 'failed')", name="ck_signups_status"
        ),
        sa.CheckConstraint("email = lower(email)", name="ck_signups_email_lower_case"),
        sa.CheckConstraint("slug = lower(slug)", name="ck_signups_slug_lower_case"),
    )
    op.create_index("ix_signups_email", "signups", ["email", "status"])
    op.create_index("ix_signups_created_at", "signups", ["created_at"])
    # one verified sign-up per subdomain at a time: two verified at once cannot both
    # wait for the same workspace
    op.create_index(
        "uq_signups_verified_slug",
        "signups",
        ["slug"],
        unique=True,
        postgresql_where=sa.text("status = 'verified'"),
    )


def downgrade() -> None:
    op.drop_table("signups")
