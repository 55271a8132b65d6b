"""Background jobs: the long operator operations (move, backup, restore, migrate,
drain) that the operator console and API queue and `salesapp worker` runs (issue 19).

The queue is a table in the catalog (``jobs``, job_models.py; docs/jobs.md says why):
:func:`enqueue` checks the job's parameters at once, as the command would before
touching anything, and inserts it with its entry in the operations log and a NOTIFY on
``salesapp_jobs``, in one transaction: a job refused is not queued, a job queued is
logged, and no worker hears of a job before it is committed. A worker (:func:`work`)
claims the oldest queued job with ``SELECT ... FOR UPDATE SKIP LOCKED`` (two workers
never take the same job), marks it running under its name (``host:pid``), and runs the
very function the `salesapp` command runs, acting as the operator who queued it (the
operations log names them). While it runs, a thread beats ``heartbeat_at`` every few
seconds; a running job whose heartbeat is older than a minute was left by a dead worker
and any worker marks it failed (the operation itself is safe to run again: a move left
half-done is finished or undone by the next move of that tenant).

An OperationError in a job (an expected refusal: what was wrong and what to do) fails
it with its message; anything else fails it with the error's first line, and the
traceback goes to the log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from sqlalchemy import func, or_, select, update

from ..tenancy import urls
from ..tenancy.crypto import mask_url
from ..tenancy.directory import PLACEMENT_KINDS, StoreKind
from ..tenancy.errors import first_line
from .catalog import Catalog
from .errors import NotFound, OperationError
from .job_models import Job, JobKind, JobStatus
from .models import Operation, OperationOutcome

log = logging.getLogger("salesapp.jobs")

#: the channel :func:`enqueue` notifies and workers listen on
NOTIFY_CHANNEL = "salesapp_jobs"
#: seconds between a running job's heartbeats
HEARTBEAT_SECONDS = 5.0
#: a running job whose heartbeat is older than this has no worker any more
STALE_SECONDS = 60.0
#: progress is written at most this often (and the last word when the job ends)
PROGRESS_SECONDS = 0.5
#: seconds a worker waits for a NOTIFY before it looks at the table anyway
POLL_SECONDS = 5.0
#: kinds of which a tenant has one queued or running at a time
TENANT_KINDS = (JobKind.MOVE, JobKind.BACKUP, JobKind.RESTORE)
#: serializes enqueue's check for a conflicting job with its insert
_ENQUEUE_LOCK = 0x6A6F6273  # "jobs"
_FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED)


class Stopped(BaseException):
    """Raised in the worker's main thread by SIGTERM while a job runs: the job is
    marked failed (run it again) and the worker stops. A BaseException, as
    KeyboardInterrupt is, so that no ``except Exception`` of an operation swallows it."""


# -- queueing ------------------------------------------------------------------------


def enqueue(
    catalog: Catalog,
    kind: str,
    params: dict,
    *,
    tenant_slug: str | None = None,
    store_name: str | None = None,
) -> int:
    """Queue a job of ``kind`` (a JobKind) with ``params``; return its id.

    The parameters are checked first, as the command checks them: an unknown tenant or
    store, a bad option, or a job of the tenant (move, backup or restore) or of the store
    already queued or running raises OperationError saying what to do, and nothing is
    queued. The job, its ``job.queue`` entry in the operations log (naming
    ``catalog``'s actor) and the NOTIFY that wakes a worker commit together.

    Params per kind: move ``slug``, ``to`` (pooled|dedicated), ``store``,
    ``database_url``, ``keep_source``; backup ``slug``; restore ``path`` (an archive on
    this machine), ``slug`` (or ``as_subdomain``: restore under this subdomain; default
    the archive's), ``name``, ``placement``, ``store``, ``keep_credentials``; migrate
    ``store`` (default every store); drain ``store``. ``tenant_slug`` and
    ``store_name`` are taken from the params when they name them.
    """
    try:
        kind = JobKind(kind)
    except ValueError:
        raise OperationError(
            f"unknown job kind {kind!r}: one of {', '.join(k.value for k in JobKind)}"
        ) from None
    if not isinstance(params, dict):
        raise OperationError("the job's parameters must be a mapping of names to values")
    clean, slug, store = _CHECKS[kind](catalog, dict(params))
    tenant_slug, store_name = slug or tenant_slug, store or store_name
    actor = catalog.actor_name()
    with catalog.session() as session:
        session.execute(select(func.pg_advisory_xact_lock(_ENQUEUE_LOCK)))
        _refuse_conflict(session, kind, tenant_slug, store_name)
        job = Job(
            kind=kind.value,
            params=clean,
            actor=actor,
            tenant_slug=tenant_slug,
            store_name=store_name,
            progress_text="queued",
        )
        session.add(job)
        session.flush()
        session.add(
            Operation(
                actor=actor,
                action="job.queue",
                tenant_slug=tenant_slug,
                store_name=store_name,
                outcome=OperationOutcome.OK,
                detail={"job": job.id, "kind": kind.value, "params": _public_params(clean)},
                finished_at=func.now(),
            )
        )
        session.execute(select(func.pg_notify(NOTIFY_CHANNEL, str(job.id))))
        job_id = job.id
    log.info("job %s %s queued by %s: %s", job_id, kind, actor, _public_params(clean))
    return job_id


def _refuse_conflict(session, kind: JobKind, tenant_slug, store_name) -> None:
    """OperationError if a job that may not run beside this one is queued or running."""
    busy = select(Job).where(Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)))
    if kind in TENANT_KINDS:
        other = session.scalars(
            busy.where(Job.kind.in_(TENANT_KINDS), Job.tenant_slug == tenant_slug)
        ).first()
        if other is not None:
            raise OperationError(
                f"tenant {tenant_slug!r} already has a {other.kind} job {other.status} (job "
                f"{other.id}); one move, backup or restore of a tenant at a time: wait for "
                "it to finish, then try again"
            )
    elif kind == JobKind.DRAIN:
        other = session.scalars(
            busy.where(Job.kind == JobKind.DRAIN, Job.store_name == store_name)
        ).first()
        if other is not None:
            raise OperationError(
                f"store {store_name!r} already has a drain {other.status} (job {other.id}); "
                "wait for it to finish"
            )
    elif kind == JobKind.MIGRATE:
        other = session.scalars(busy.where(Job.kind == JobKind.MIGRATE)).first()
        if other is not None:
            raise OperationError(
                f"a migration is already {other.status} (job {other.id}); wait for it to "
                "finish: it brings every store it names to head"
            )


def _text(params: dict, key: str, *, required: bool = False) -> str | None:
    value = params.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise OperationError(f"the job needs {key!r}")
        return None
    if not isinstance(value, str):
        raise OperationError(f"{key!r} must be text, got {value!r}")
    return value.strip()


def _flag(params: dict, key: str) -> bool:
    value = params.get(key, False)
    if not isinstance(value, bool):
        raise OperationError(f"{key!r} must be true or false, got {value!r}")
    return value


def _unexpected(params: dict, known: set[str], kind: JobKind) -> None:
    extra = sorted(set(params) - known)
    if extra:
        raise OperationError(
            f"a {kind} job takes {', '.join(sorted(known))}; not {', '.join(extra)}"
        )


def _tenant_slug(catalog: Catalog, slug: str) -> str:
    with catalog.session() as session:
        return catalog.tenant(session, slug).slug


def _check_move(catalog: Catalog, params: dict):
    from .mobility import plan_move

    _unexpected(params, {"slug", "to", "store", "database_url", "keep_source"}, JobKind.MOVE)
    request = _move_request(
        catalog,
        {
            "slug": _text(params, "slug", required=True),
            "to": _text(params, "to", required=True),
            "store": _text(params, "store"),
            "database_url": _text(params, "database_url"),
            "keep_source": _flag(params, "keep_source"),
        },
    )
    if request.to not in PLACEMENT_KINDS:
        raise OperationError(f"'to' must be pooled or dedicated, got {request.to!r}")
    if request.database_url and request.to != StoreKind.DEDICATED:
        raise OperationError("a database URL is for a move to a dedicated store only")
    plan_move(catalog, request)  # what the move itself refuses, refused now
    slug = _tenant_slug(catalog, request.slug)
    clean = {"slug": slug, "to": str(request.to), "keep_source": request.keep_source}
    if request.store_name:
        clean["store"] = request.store_name
    if request.database_url:  # kept as store URLs are: encrypted
        clean["database_url_encrypted"] = catalog.box.encrypt(request.database_url)
        clean["database_url"] = mask_url(request.database_url)
    return clean, slug, request.store_name


def _move_request(catalog: Catalog, params: dict):
    from .mobility import MoveRequest

    database_url = params.get("database_url")
    if params.get("database_url_encrypted"):
        database_url = catalog.box.decrypt(params["database_url_encrypted"])
    return MoveRequest(
        slug=params["slug"],
        to=params["to"],
        store_name=params.get("store"),
        database_url=database_url,
        keep_source=params.get("keep_source", False),
        grace_seconds=catalog.settings.move_grace_seconds,
    )


def _check_backup(catalog: Catalog, params: dict):
    _unexpected(params, {"slug"}, JobKind.BACKUP)
    slug = _tenant_slug(catalog, _text(params, "slug", required=True))
    return {"slug": slug}, slug, None


def _check_restore(catalog: Catalog, params: dict):
    from .archive import read_manifest
    from .models import Tenant
    from .provisioning import RESERVED_SLUGS, SLUG_RE

    known = {"path", "slug", "as_subdomain", "name", "placement", "store", "keep_credentials"}
    _unexpected(params, known, JobKind.RESTORE)
    path = Path(_text(params, "path", required=True))
    if not path.is_file():
        raise OperationError(f"no archive at {path}; upload it again")
    manifest = read_manifest(path)  # ArchiveError (an OperationError) if it is none
    wanted = _text(params, "as_subdomain") or _text(params, "slug")
    slug = (wanted or manifest["tenant"]["slug"]).lower()
    if wanted is not None and (not SLUG_RE.match(slug) or slug in RESERVED_SLUGS):
        raise OperationError(
            f"subdomain {slug!r} cannot be used: give 1-63 lower-case letters, digits and "
            "hyphens, not a reserved name"
        )
    with catalog.session() as session:
        if session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
            raise OperationError(
                f"subdomain {slug!r} exists; restore under another subdomain"
                + ("" if wanted else f" (or delete {slug} first to restore it as itself)")
            )
    placement = _text(params, "placement")
    if placement is not None and placement not in PLACEMENT_KINDS:
        raise OperationError(f"placement must be pooled or dedicated, got {placement!r}")
    store = _text(params, "store")
    if store:
        with catalog.session() as session:
            store = catalog.store_named(session, store).name
    clean = {"path": str(path.resolve()), "slug": slug if wanted else None}
    clean |= {"name": _text(params, "name"), "placement": placement, "store": store}
    clean["keep_credentials"] = _flag(params, "keep_credentials")
    clean["from"] = manifest["tenant"]["slug"]
    return {k: v for k, v in clean.items() if v is not None}, slug, store


def _check_migrate(catalog: Catalog, params: dict):
    _unexpected(params, {"store"}, JobKind.MIGRATE)
    store = _text(params, "store")
    if store:
        with catalog.session() as session:
            store = catalog.store_named(session, store).name
    return ({"store": store} if store else {}), None, store


def _check_drain(catalog: Catalog, params: dict):
    from .models import Store

    _unexpected(params, {"store"}, JobKind.DRAIN)
    with catalog.session() as session:
        store = catalog.store_named(session, _text(params, "store", required=True).lower())
        if store.kind != StoreKind.POOLED:
            raise OperationError(
                f"store {store.name!r} is a {store.kind} store; only pooled stores drain "
                "(a dedicated tenant moves with a move job)"
            )
        others = session.scalar(
            select(func.count())
            .select_from(Store)
            .where(Store.kind == StoreKind.POOLED, Store.accepting, Store.id != store.id)
        )
        if not others:
            raise OperationError(
                f"no other pooled store accepts tenants: the tenants of {store.name} would "
                "have nowhere to go; add a pooled store or mark one accepting first"
            )
        return {"store": store.name}, None, store.name


_CHECKS: dict[JobKind, Callable] = {
    JobKind.MOVE: _check_move,
    JobKind.BACKUP: _check_backup,
    JobKind.RESTORE: _check_restore,
    JobKind.MIGRATE: _check_migrate,
    JobKind.DRAIN: _check_drain,
}


# -- reading -------------------------------------------------------------------------


def job(catalog: Catalog, job_id: int) -> dict:
    """The job ``job_id`` as a dict (see :func:`as_dict`); NotFound if there is none."""
    with catalog.session() as session:
        row = session.get(Job, job_id)
        if row is None:
            raise NotFound(f"no job {job_id}; see the jobs page")
        return as_dict(row)


def list_jobs(
    catalog: Catalog, *, status: str | None = None, tenant_slug: str | None = None, limit=50
) -> list[dict]:
    """The latest jobs first, at most ``limit``, of one status and one tenant if given."""
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if status:
        query = query.where(Job.status == status)
    if tenant_slug:
        query = query.where(Job.tenant_slug == tenant_slug.strip().lower())
    with catalog.session() as session:
        return [as_dict(row) for row in session.scalars(query)]


def as_dict(row: Job) -> dict:
    """What a page or the API shows of a job: id, kind, params (a database URL masked),
    status, progress_text, progress_done, progress_total, progress_percent (or None),
    result (without the secrets :func:`credential_lines` reads), error, actor,
    tenant_slug, store_name, worker, created_at, started_at, finished_at, heartbeat_at,
    finished (succeeded or failed)."""
    percent = None
    if row.progress_total and row.progress_done is not None:
        percent = min(100, round(100 * row.progress_done / row.progress_total))
    return {
        "id": row.id,
        "kind": row.kind,
        "params": _public_params(row.params or {}),
        "status": row.status,
        "progress_text": row.progress_text,
        "progress_done": row.progress_done,
        "progress_total": row.progress_total,
        "progress_percent": percent,
        "result": {k: v for k, v in (row.result or {}).items() if not k.endswith("_encrypted")}
        if row.result is not None
        else None,
        "error": row.error,
        "actor": row.actor,
        "tenant_slug": row.tenant_slug,
        "store_name": row.store_name,
        "worker": row.worker,
        "created_at": row.created_at,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "heartbeat_at": row.heartbeat_at,
        "finished": row.status in _FINISHED,
    }


def _public_params(params: dict) -> dict:
    return {k: v for k, v in params.items() if not k.endswith("_encrypted")}


def credential_lines(catalog: Catalog, job_id: int) -> list[str]:
    """The one-time passwords and new API keys a restore job gave the restored tenant's
    users, as `salesapp tenant restore` prints them (kept encrypted in the job's result;
    show them to operators only); [] for any other job."""
    with catalog.session() as session:
        row = session.get(Job, job_id)
        if row is None:
            raise NotFound(f"no job {job_id}; see the jobs page")
        token = (row.result or {}).get("credential_lines_encrypted")
    return _secrets(catalog).decrypt(token).split("\n") if token else []


def _secrets(catalog: Catalog):
    from ..tenancy.crypto import SecretBox

    settings = catalog.settings
    return SecretBox(settings.secret_key, settings.previous_secret_keys, purpose="job-secrets")


def backup_file(catalog: Catalog, job_id: int) -> Path:
    """The file a succeeded backup job wrote (for a download); NotFound with the reason
    when the job is no succeeded backup or its file is gone."""
    found = job(catalog, job_id)
    if found["kind"] != JobKind.BACKUP or found["status"] != JobStatus.SUCCEEDED:
        raise NotFound(f"job {job_id} is not a finished backup: there is nothing to download")
    path = Path(found["result"]["path"]).resolve()
    if backups_dir(catalog) not in path.parents or not path.is_file():
        raise NotFound(f"the backup of job {job_id} is no longer on this server; back up again")
    return path


def backups_dir(catalog: Catalog) -> Path:
    """Where backup jobs write their archives."""
    return (catalog.settings.var_dir / "backups").resolve()


# -- working -------------------------------------------------------------------------


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def work(
    catalog: Catalog,
    *,
    stop: threading.Event | None = None,
    once: bool = False,
    poll: float = POLL_SECONDS,
    stale_after: float = STALE_SECONDS,
    parent_pid: int | None = None,
    echo: Callable[[str], None] | None = None,
) -> int:
    """Run queued jobs, oldest first, one at a time; return how many were run.

    Waits for a NOTIFY on ``salesapp_jobs`` between jobs, and looks at the table every
    ``poll`` seconds anyway (a notification is lost while no worker listens). Stops when
    ``stop`` is set (between jobs), when ``once`` and nothing is left queued, or when
    ``parent_pid`` is given and this process's parent is another (the process that
    started it is gone: development's worker ends with pserve). When started and between
    jobs, marks failed the running jobs whose heartbeat is older than ``stale_after``
    seconds. In the main thread, SIGTERM stops it: a running job is marked failed (run
    it again) and the worker returns. ``echo`` hears one line per job started and
    finished.
    """
    stop = stop or threading.Event()
    echo = echo or (lambda line: None)
    worker = _Worker(catalog, worker_name(), echo)
    done = 0
    with _sigterm_stops(stop), _listener(catalog) as listener:
        try:
            while not stop.is_set() and not _orphaned(parent_pid):
                reap_stale(catalog, stale_after)
                claimed = worker.claim()
                if claimed is not None:
                    worker.run(claimed)
                    done += 1
                    continue
                if once:
                    break
                _wait(listener, stop, poll, parent_pid)
        except Stopped:
            stop.set()
    return done


def _orphaned(parent_pid: int | None) -> bool:
    return parent_pid is not None and os.getppid() != parent_pid


def reap_stale(catalog: Catalog, stale_after: float = STALE_SECONDS) -> list[int]:
    """Mark failed every running job whose worker stopped beating more than
    ``stale_after`` seconds ago (it died); return their ids."""
    with catalog.session() as session:
        rows = session.execute(
            update(Job)
            .where(
                Job.status == JobStatus.RUNNING,
                or_(
                    Job.heartbeat_at.is_(None),
                    Job.heartbeat_at < func.now() - dt.timedelta(seconds=stale_after),
                ),
            )
            .values(
                status=JobStatus.FAILED,
                finished_at=func.now(),
                error=func.concat(
                    "the worker stopped while running it (",
                    func.coalesce(Job.worker, "unknown"),
                    "); run it again",
                ),
            )
            .returning(Job.id, Job.worker)
        ).all()
    for job_id, name in rows:
        log.warning("job %s: its worker %s stopped while running it; marked failed", job_id, name)
    return [job_id for job_id, _ in rows]


@contextlib.contextmanager
def _listener(catalog: Catalog):
    """A connection listening on the jobs channel (None if LISTEN is not possible,
    e.g. behind a transaction-mode pooler: then the worker polls)."""
    try:
        conn = psycopg.connect(
            urls.libpq_url(catalog.settings.catalog_url),
            autocommit=True,
            connect_timeout=catalog.settings.connect_timeout,
        )
    except psycopg.Error as exc:
        log.warning("cannot LISTEN for jobs (%s); polling instead", first_line(exc))
        yield None
        return
    try:
        conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        yield conn
    finally:
        conn.close()


def _wait(listener, stop: threading.Event, poll: float, parent_pid: int | None) -> None:
    """Until a job is notified, ``poll`` seconds pass, or it is time to stop; in
    slices of at most a second, so that a stop or an orphaning is seen at once."""
    deadline = time.monotonic() + poll
    while not stop.is_set() and not _orphaned(parent_pid):
        left = deadline - time.monotonic()
        if left <= 0:
            return
        if listener is None:
            stop.wait(min(left, 1.0))
            continue
        try:
            if any(True for _ in listener.notifies(timeout=min(left, 1.0), stop_after=1)):
                return
        except psycopg.Error as exc:
            log.warning("lost the jobs listener (%s); polling", first_line(exc))
            stop.wait(min(left, 1.0))
            return


_term_flag = threading.local()


@contextlib.contextmanager
def _sigterm_stops(stop: threading.Event):
    """In the main thread: SIGTERM sets ``stop`` and raises Stopped (in a job: it is
    marked failed; waiting: the loop ends). Elsewhere (a test's thread): nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum, frame):
        stop.set()
        if not getattr(_term_flag, "bookkeeping", False):
            raise Stopped("stopped by SIGTERM")

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _bookkeeping():
    """A SIGTERM now only sets the stop: the job's row is being written."""
    _term_flag.bookkeeping = True
    try:
        yield
    finally:
        _term_flag.bookkeeping = False


class _Worker:
    def __init__(self, catalog: Catalog, name: str, echo):
        self.catalog, self.name, self.echo = catalog, name, echo

    def claim(self) -> Job | None:
        """The oldest queued job, now running under this worker's name (rows another
        worker has locked are skipped, not waited for)."""
        with _bookkeeping(), self.catalog.session() as session:
            row = session.scalars(
                select(Job)
                .where(Job.status == JobStatus.QUEUED)
                .order_by(Job.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            row.status, row.worker = JobStatus.RUNNING.value, self.name
            row.started_at = row.heartbeat_at = func.now()
            row.progress_text = "started"
            session.flush()
            session.refresh(row)
            session.expunge(row)
            return row

    def run(self, row: Job) -> None:
        label = f"job {row.id} {row.kind}" + (
            f" {row.tenant_slug or row.store_name}" if row.tenant_slug or row.store_name else ""
        )
        self.echo(f"{label}: started (queued by {row.actor})")
        started = time.monotonic()
        run = _Run(self.catalog.acting_as(row.actor), row, self.name)
        status, error = JobStatus.SUCCEEDED, None
        beat = _Heartbeat(self.catalog, run)
        beat.start()
        try:
            try:
                _HANDLERS[JobKind(row.kind)](run)
            except OperationError as exc:
                status, error = JobStatus.FAILED, str(exc)
            except Stopped:
                status, error = JobStatus.FAILED, "the worker was stopped while running it; "
                error += "run it again"
                raise
            except Exception as exc:
                log.exception("job %s (%s) failed", row.id, row.kind)
                status, error = JobStatus.FAILED, first_line(exc)
        finally:
            with _bookkeeping():
                beat.stop()
                run.finish(status, error)
            seconds = time.monotonic() - started
            outcome = "succeeded" if status == JobStatus.SUCCEEDED else f"failed: {error}"
            self.echo(f"{label}: {outcome} ({seconds:.1f} s)")


class _Heartbeat(threading.Thread):
    """While a job runs: writes its progress at most every PROGRESS_SECONDS (the job
    itself never waits for the catalog to say how far it is) and beats its
    ``heartbeat_at`` every HEARTBEAT_SECONDS, until stopped."""

    def __init__(self, catalog: Catalog, run: _Run):
        super().__init__(name=f"salesapp-job-{run.id}-heartbeat", daemon=True)
        self.catalog, self.run_ = catalog, run
        self._stop_event = threading.Event()

    def run(self) -> None:
        beaten = time.monotonic()
        while not self._stop_event.wait(PROGRESS_SECONDS):
            values = self.run_.take_progress()
            if time.monotonic() - beaten >= HEARTBEAT_SECONDS:
                values["heartbeat_at"] = func.now()
            if not values:
                continue
            try:
                with self.catalog.session() as session:
                    session.execute(
                        update(Job)
                        .where(Job.id == self.run_.id, Job.status == JobStatus.RUNNING)
                        .values(**values)
                    )
                if "heartbeat_at" in values:
                    beaten = time.monotonic()
            except Exception as exc:  # the catalog away a moment: the next beat tries again
                log.warning("job %s: heartbeat failed: %s", self.run_.id, first_line(exc))

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


class _Run:
    """A job being run: its parameters, the catalog acting as its operator, its
    progress (written by the heartbeat thread) and its result."""

    def __init__(self, catalog: Catalog, row: Job, worker: str):
        self.catalog, self.id, self.params, self.worker = catalog, row.id, row.params, worker
        self.result: dict | None = None
        self._lock = threading.Lock()
        self._pending: dict = {}

    def progress(self, text: str, done: int | None = None, total: int | None = None) -> None:
        """Say how far the job is: a line of text, and done of total when counted."""
        values = {"progress_text": text[:500]}
        if done is not None:
            values["progress_done"] = done
        if total is not None:
            values["progress_total"] = total
        with self._lock:
            self._pending.update(values)

    def take_progress(self) -> dict:
        with self._lock:
            values, self._pending = self._pending, {}
        return values

    def finish(self, status: JobStatus, error: str | None) -> None:
        """Write the outcome: unless another worker marked the job failed meanwhile
        (this one was thought dead), when its word stands."""
        values = {**self.take_progress(), "status": status.value, "error": error}
        values["finished_at"] = func.now()
        if self.result is not None:
            values["result"] = self.result
        if status == JobStatus.SUCCEEDED:
            values["progress_text"] = "done"
        with self.catalog.session() as session:
            session.execute(
                update(Job)
                .where(
                    Job.id == self.id, Job.status == JobStatus.RUNNING, Job.worker == self.worker
                )
                .values(**values)
            )


# -- the kinds -----------------------------------------------------------------------

#: a move's steps in order (mobility's progress events), for done of total
MOVE_STEPS = ("fence", "copy", "verify", "flip", "notify", "clean")


def _run_move(run: _Run) -> None:
    from .mobility import move_tenant

    request = _move_request(run.catalog, run.params)
    step = {"done": 0}

    def progress(event, **info):
        if event == "step":
            if info["step"] in MOVE_STEPS:
                step["done"] = MOVE_STEPS.index(info["step"])
            run.progress(f"{info['step']}: {info['detail']}", step["done"], len(MOVE_STEPS))
        elif event == "table":
            table = info["table"]
            run.progress(f"copy: {table.name}, {table.rows} rows", step["done"], len(MOVE_STEPS))
        elif event in ("resume", "stale"):
            run.progress(info.get("detail") or f"removed {info.get('rows')} stale rows")

    result = move_tenant(run.catalog, request, progress=progress)
    run.result = {
        "slug": result.slug,
        "source": result.source,
        "source_kind": result.source_kind,
        "target": result.target,
        "target_kind": result.target_kind,
        "rows": sum(t.rows for t in result.tables),
        "tables": len(result.tables),
        "fence_seconds": round(result.fence_seconds or 0, 2),
        "seconds": round(result.total_seconds, 2),
        "source_fate": result.source_fate,
        "resumed": result.resumed,
    }
    run.progress("done", len(MOVE_STEPS), len(MOVE_STEPS))


def _run_backup(run: _Run) -> None:
    from .archive import backup_tenant

    slug = run.params["slug"]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    path = backups_dir(run.catalog) / f"{slug}-{stamp}-job{run.id}.zip"
    tables = {"done": 0}

    def progress(event, **info):
        if event == "table":
            tables["done"] += 1
            run.progress(f"{info['table']}: {info['rows']} rows", tables["done"])

    manifest = backup_tenant(run.catalog, slug, path, progress=progress)
    digest = hashlib.sha256()
    with path.open("rb") as archive:
        for chunk in iter(lambda: archive.read(1 << 20), b""):
            digest.update(chunk)
    run.result = {
        "path": str(path),
        "file": path.name,
        "bytes": path.stat().st_size,
        "sha256": digest.hexdigest(),
        "rows": sum(t["rows"] for t in manifest["tables"]),
        "tables": len(manifest["tables"]),
        "schema_revision": manifest["schema_revision"],
    }


def _run_restore(run: _Run) -> None:
    from .archive import restore_tenant

    params = run.params
    tables = {"done": 0}

    def progress(event, **info):
        if event == "table":
            tables["done"] += 1
            run.progress(f"{info['table']}: {info['rows']} rows", tables["done"])
        elif event == "migrate":
            run.progress(info["detail"])

    info = restore_tenant(
        run.catalog,
        params["path"],
        slug=params.get("slug"),
        name=params.get("name"),
        placement=params.get("placement"),
        store_name=params.get("store"),
        keep_credentials=params.get("keep_credentials", False),
        progress=progress,
    )
    run.result = {
        key: info[key]
        for key in ("slug", "name", "store", "kind", "rows", "tables", "from", "migrated")
    }
    run.result["kind"] = str(run.result["kind"])
    run.result["domains"] = list(info["domains"])
    lines = info.get("credential_lines") or []
    if lines:
        run.result["credential_lines_encrypted"] = _secrets(run.catalog).encrypt("\n".join(lines))


def _run_migrate(run: _Run) -> None:
    from .migrations import migrate_deployment

    counted = {"total": None, "done": 0}

    def planned(total):
        counted["total"] = total
        run.progress(f"migrating {total} databases", 0, total)

    def finished(result):
        counted["done"] += 1
        run.progress(f"{result.name}: {result.status}", counted["done"], counted["total"])

    results = migrate_deployment(
        run.catalog, store=run.params.get("store"), on_plan=planned, on_result=finished
    )
    run.result = {
        "databases": [
            {
                "name": r.name,
                "kind": r.kind,
                "before": r.before,
                "after": r.after,
                "status": r.status,
                "error": r.error,
            }
            for r in results
        ]
    }
    failed = [r.name for r in results if r.failed]
    if failed:
        raise OperationError(
            f"{len(failed)} of {len(results)} failed: {', '.join(failed)}; fix the cause "
            "(the result says why) and run the migration again"
        )


def _run_drain(run: _Run) -> None:
    from .placement import drain_store

    store = run.params["store"]
    moved = {"done": 0}

    def progress(event, **info):
        if event == "tenant":
            run.progress(f"moving {info['slug']} to {info['target']}", moved["done"])
        elif event in ("moved", "failed"):
            moved["done"] += 1
            word = "moved" if event == "moved" else f"FAILED ({info['error']})"
            run.progress(f"{info['slug']}: {word}", moved["done"])
        elif event == "step":
            run.progress(f"{info['step']}: {info['detail']}")

    result = drain_store(run.catalog, store, progress=progress)
    run.result = {
        "store": result.name,
        "moved": [f"{slug} -> {to}" for slug, to in result.moved],
        "failed": [f"{slug}: {error}" for slug, error in result.failed],
        "left": result.left,
        "stopped": result.stopped,
    }
    if result.stopped or result.failed or result.left:
        raise OperationError(
            f"store {result.name} is not empty yet ({result.left} tenants left"
            + (f"; stopped: {result.stopped}" if result.stopped else "")
            + (f"; {len(result.failed)} moves failed" if result.failed else "")
            + "); drain it again to continue"
        )


_HANDLERS: dict[JobKind, Callable[[_Run], None]] = {
    JobKind.MOVE: _run_move,
    JobKind.BACKUP: _run_backup,
    JobKind.RESTORE: _run_restore,
    JobKind.MIGRATE: _run_migrate,
    JobKind.DRAIN: _run_drain,
}
