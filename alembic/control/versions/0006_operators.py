"""Operator accounts (issue 19): the people who run the deployment, apart from every
tenant's users, and their failed sign-ins (salesapp/operations/operator_models.py).

- ``operators``: a login name (lower-case, unique), a display name, a role (``operator``
  changes things, ``viewer`` only looks), an Argon2 password hash, a TOTP secret
  (encrypted; required: there is no sign-in without a code), the last code's time step,
  a lock of the code step after wrong codes, a session generation, disabled or not, and
  when it was created, last signed in and last had its password changed.
- ``operator_failed_sign_ins``: per address, and per address and name as typed, as the
  tenants' ``failed_sign_ins`` (c0005) counts theirs; a table of its own because those
  rows name a tenant.

The app role is granted neither (salesapp.operations.migrations.grant_sql grants only
what it names): no tenant's request reads an operator's hash.

Revision ID: c0006
Revises: c0005
Create Date: 2027-01-04
"""

import sqlalchemy as sa

from alembic import op

revision = "c0006"
down_revision = "c0005"
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("display_name", sa.Text, nullable=False, server_default=""),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("totp_secret", sa.Text, nullable=False),
        sa.Column("totp_last_step", sa.BigInteger),
        sa.Column("failed_codes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.Column("session_generation", sa.Integer, nullable=False, server_default="0"),
        sa.Column("disabled_at", sa.DateTime(timezone=True)),
        sa.Column("disabled_reason", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column(
            "password_changed_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW
        ),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_operators"),
        sa.UniqueConstraint("name", name="uq_operators_name"),
        sa.CheckConstraint("role in ('operator', 'viewer')", name="ck_operators_role"),
        sa.CheckConstraint("name = lower(name)", name="ck_operators_name_lower_case"),
    )
    op.create_table(
        "operator_failed_sign_ins",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("login", sa.Text, nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("id", name="pk_operator_failed_sign_ins"),
    )
    op.create_index(
        "ix_operator_failed_sign_ins_address", "operator_failed_sign_ins", ["address", "failed_at"]
    )
    op.create_index(
        "ix_operator_failed_sign_ins_login",
        "operator_failed_sign_ins",
        ["address", "login", "failed_at"],
    )


def downgrade() -> None:
    op.drop_table("operator_failed_sign_ins")
    op.drop_table("operators")
