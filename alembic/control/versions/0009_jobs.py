"""Background jobs for long operator operations (issue 19): the queue the operator
console and API put moves, backups, restores, migrations and drains on, and
`salesapp worker` takes them from (salesapp/operations/jobs.py,
salesapp/operations/job_models.py, docs/jobs.md).

- ``jobs``: what to do (``kind`` and its ``params``), who asked (``actor``, the
  operator the operations log names) and for which tenant and store, where it stands
  (``status``: ``queued`` until a worker claims it with ``SELECT ... FOR UPDATE SKIP
  LOCKED``, ``running``, then ``succeeded`` with a ``result`` or ``failed`` with an
  ``error``), its progress (a line of text and done of total), the worker running it
  (``host:pid``) and its heartbeat (a running job whose heartbeat stops was left by a
  dead worker), and when it was queued, started and finished.

Kept in the catalog so a job and the operations log commit together. The app role is
granted nothing on it: only the console (the catalog's owner) and the worker read it.

Revision ID: c0009
Revises: c0008
Create Date: 2027-01-10
"""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from alembic import op

revision = "c0009"
down_revision = "c0008"
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("params", JSONB, nullable=False, server_default="{}"),
        sa.Column("status", sa.Text, nullable=False, server_default="queued"),
        sa.Column("progress_text", sa.Text, nullable=False, server_default=""),
        sa.Column("progress_done", sa.BigInteger),
        sa.Column("progress_total", sa.BigInteger),
        sa.Column("result", JSONB),
        sa.Column("error", sa.Text),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("tenant_slug", sa.Text),
        sa.Column("store_name", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True)),
        sa.Column("worker", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
        sa.CheckConstraint(
            "status in ('queued', 'running', 'succeeded', 'failed')", name="ck_jobs_status"
        ),
        sa.CheckConstraint(
            "kind in ('move', 'backup', 'restore', 'migrate', 'drain')", name="ck_jobs_kind"
        ),
    )
    # the worker's claim: the oldest queued job first
    op.create_index(
        "ix_jobs_queued",
        "jobs",
        ["id"],
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_index("ix_jobs_tenant_slug", "jobs", ["tenant_slug", "status"])
    op.create_index("ix_jobs_status", "jobs", ["status", "created_at"])


def downgrade() -> None:
    op.drop_table("jobs")
