"""The background jobs' table (issue 19): long operator operations queued by the
operator console and API and run by `salesapp worker` (salesapp/operations/jobs.py).

Kept in the catalog, beside the operations log, so that queueing a job and logging it
commit together. Migration c0009 creates it; the app role is granted nothing on it (a
tenant's request never reads a job; the console reads it as the catalog's owner).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, DateTime, Identity, Index, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .models import CatalogBase, one_of


class JobKind(enum.StrEnum):
    """What a job does: each is the function the `salesapp` command of that name runs."""

    MOVE = "move"  # salesapp tenant move
    BACKUP = "backup"  # salesapp tenant backup
    RESTORE = "restore"  # salesapp tenant restore
    MIGRATE = "migrate"  # salesapp migrate
    DRAIN = "drain"  # salesapp store drain


class JobStatus(enum.StrEnum):
    """QUEUED until a worker claims it, RUNNING while it works (and beats), then
    SUCCEEDED or FAILED for good: a job is never run twice; run it again is a new job."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Job(CatalogBase):
    """One job. ``params`` are the kind's arguments (a database URL in them is kept
    encrypted, as store URLs are); ``actor`` is the operator who queued it, whom the
    operations log names for what the job does; ``worker`` (``host:pid``) and
    ``heartbeat_at`` say who runs it and that it still lives."""

    __tablename__ = "jobs"
    __table_args__ = (
        one_of("status", JobStatus),
        one_of("kind", JobKind),
        Index("ix_jobs_queued", "id", postgresql_where=text("status = 'queued'")),
        Index("ix_jobs_tenant_slug", "tenant_slug", "status"),
        Index("ix_jobs_status", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    params: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    status: Mapped[str] = mapped_column(
        Text, default=JobStatus.QUEUED.value, server_default=JobStatus.QUEUED.value
    )
    progress_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    progress_done: Mapped[int | None] = mapped_column(BigInteger)
    progress_total: Mapped[int | None] = mapped_column(BigInteger)
    result: Mapped[dict | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    tenant_slug: Mapped[str | None] = mapped_column(Text)
    store_name: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    worker: Mapped[str | None] = mapped_column(Text)
