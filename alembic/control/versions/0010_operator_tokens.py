"""Operator API tokens (issue 19): what authenticates a call to the operator API
(/operator/api on the main domain; salesapp/operations/operator_tokens.py).

- ``operator_tokens``: one token of one operator: its SHA-256 hash (the token itself
  is shown once and stored nowhere), its first characters in clear (to tell tokens
  apart in lists), its scope (``read``: GET only; ``write``: every call, for an
  operator whose role may change things), a label, and when it was made, last used,
  expires (null: never) and was revoked (null: in force). A token dies with its
  operator's row; a disabled operator's tokens are refused while the account is
  disabled (checked at each call).

The app role is granted nothing on it: only the operator console (the catalog's
owner) reads it.

Revision ID: c0010
Revises: c0009
Create Date: 2027-01-11
"""

import sqlalchemy as sa

from alembic import op

revision = "c0010"
down_revision = "c0009"
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "operator_tokens",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("operator_id", sa.BigInteger, nullable=False),
        sa.Column("label", sa.Text, nullable=False, server_default=""),
        sa.Column("token_hash", sa.Text, nullable=False),
        sa.Column("prefix", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_operator_tokens"),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name="fk_operator_tokens_operator_id_operators",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("token_hash", name="uq_operator_tokens_token_hash"),
        sa.CheckConstraint("scope in ('read', 'write')", name="ck_operator_tokens_scope"),
    )
    op.create_index("ix_operator_tokens_operator_id", "operator_tokens", ["operator_id"])


def downgrade() -> None:
    op.drop_table("operator_tokens")
