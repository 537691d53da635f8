"""Import jobs: create (file already streamed to disk), run in committed chunks with a checkpoint, resume.

Each row goes through the contact service the API uses (``contacts.service.create`` / ``upsert``, with
their normalization, suppression list, dedupe keys and events), one savepoint per row and one transaction
per chunk. The chunk's counters, issues and checkpoint commit in the same transaction as its rows, so a
crash loses at most the chunk in flight and a resumed job never imports a row twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import sys
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub import uow
from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.contacts import duplicates
from leadhub.contacts import service as contacts
from leadhub.contacts.models import Contact
from leadhub.contacts.schemas import ContactIn
from leadhub.core import clock, ids
from leadhub.core.errors import Conflict, DomainError, FieldError, Invalid, NotFound
from leadhub.custom_fields import service as custom_fields
from leadhub.db.engine import Database
from leadhub.events import service as events
from leadhub.imports import fast, reader
from leadhub.imports import mapping as mappings
from leadhub.imports.models import ImportIssue, ImportJob, ImportRow

MODES = ("create_only", "update_only", "upsert", "skip_existing")
MATCH_KEYS = ("email", "phone", "both")
CHUNK_ROWS = 1000
FAST_CHUNK_ROWS = 2000
# Files this big get their rows normalized by worker processes (both cores); smaller ones in a thread.
POOL_MIN_ROWS = 20_000
# ``LEADHUB_IMPORT_PATH=service`` forces the per-row service path for every import (the fast path's
# reference: tests compare both); ``run(..., path=...)`` and `leadhub import --path` choose per run.
PATH_ENV = "LEADHUB_IMPORT_PATH"
# A runner renews its job's lease with every chunk; past it, the job is stale and any `serve`/`worker`
# resumes it (leadhub/imports/resume.py). Tests shorten it with LEADHUB_IMPORT_LEASE_SECONDS.
LEASE = timedelta(seconds=float(os.environ.get("LEADHUB_IMPORT_LEASE_SECONDS", "120")))
Outcome = Literal["created", "updated", "skipped", "merged", "failed"]


@dataclass
class ImportOptions:
    mode: str = "upsert"
    match_keys: str = "both"
    dry_run: bool = False
    deliver_webhooks: bool = False
    unmapped_to_custom: bool | None = None
    mapping: dict[str, Any] | None = None
    format: str | None = None
    filename: str | None = None


@dataclass
class _Issue:
    row: int
    kind: str
    column: str | None
    value_kind: str | None
    rule: str
    message: str
    merged_into_row: int | None = None


@dataclass
class _Tally:
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    merged: int = 0

    def add(self, outcome: Outcome) -> None:
        self.rows_read += 1
        if outcome == "merged":
            self.merged += 1
            self.updated += 1
        else:
            setattr(self, outcome, getattr(self, outcome) + 1)


def _check_options(options: ImportOptions) -> None:
    errors = []
    if options.mode not in MODES:
        errors.append(FieldError("mode", "enum", f"must be one of: {', '.join(MODES)}", "string"))
    if options.match_keys not in MATCH_KEYS:
        errors.append(FieldError("match_keys", "enum", f"must be one of: {', '.join(MATCH_KEYS)}", "string"))
    if errors:
        raise Invalid(errors)


async def create_job(
    session: AsyncSession, ws: Workspace, path: Path, options: ImportOptions, total_estimate: int | None = None
) -> ImportJob:
    """A queued job over a file already on disk (the door streamed it there); Invalid for a bad file,
    mode, match key or mapping."""
    _check_options(options)
    shape = reader.inspect(path, options.format, options.filename)
    mapping, custom = await mappings.resolve(session, ws.id, shape.headers, options.mapping, options.unmapped_to_custom)
    now = clock.now()
    job = ImportJob(
        workspace_id=ws.id,
        id=ids.new_uuid(),
        status="queued",
        format=shape.format,
        filename=(options.filename or path.name)[:300],
        file_path=str(path),
        mode=options.mode,
        match_keys=options.match_keys,
        dry_run=options.dry_run,
        deliver_webhooks=options.deliver_webhooks,
        unmapped_to_custom=custom,
        headers=shape.headers,
        mapping=mapping,
        total_estimate=reader.count_lines(path) if total_estimate is None else total_estimate,
        checkpoint=0,
        rows_read=0,
        created=0,
        updated=0,
        skipped=0,
        failed=0,
        merged=0,
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    await session.flush()
    return job


def _job_key(job_id: str) -> uuid.UUID:
    return ids.resolve(ids.IMPORT, job_id, "import")


async def get(session: AsyncSession, ws: Workspace, job_id: str) -> ImportJob:
    job = await session.get(ImportJob, (ws.id, _job_key(job_id)), populate_existing=True)
    if job is None:
        raise NotFound("import")
    return job


async def list_jobs(session: AsyncSession, ws: Workspace, limit: int = 50) -> list[ImportJob]:
    stmt = select(ImportJob).where(ImportJob.workspace_id == ws.id).order_by(ImportJob.id.desc()).limit(limit)
    return list((await session.scalars(stmt)).all())


async def issues(
    session: AsyncSession, ws: Workspace, job: ImportJob, after: tuple[int, int], limit: int
) -> list[ImportIssue]:
    stmt = (
        select(ImportIssue)
        .where(
            ImportIssue.workspace_id == ws.id,
            ImportIssue.job_id == job.id,
            (ImportIssue.row > after[0]) | ((ImportIssue.row == after[0]) & (ImportIssue.position > after[1])),
        )
        .order_by(ImportIssue.row, ImportIssue.position)
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


def eta_seconds(job: ImportJob) -> float | None:
    """Seconds left at the pace so far (None before the first chunk or once finished)."""
    if job.status != "running" or not job.started_at or job.rows_read == 0:
        return None
    elapsed = (clock.now() - job.started_at).total_seconds()
    done = max(job.rows_read, 1)
    return max(0.0, elapsed / done * max(job.total_estimate - job.rows_read, 0))


# ---------------------------------------------------------------- one row


async def _match(session: AsyncSession, ws: Workspace, data: ContactIn, keys: str) -> Contact | None:
    if keys in ("email", "both"):
        addresses = ([data.email] if data.email else []) + [e.address for e in data.emails or []]
        for address in addresses:
            found = await contacts.find_by_email(session, ws, address)
            if found is not None:
                return found
    if keys in ("phone", "both"):
        numbers = ([data.phone] if data.phone else []) + [p.number for p in data.phones or []]
        for number in numbers:
            try:
                found = await contacts.find_by_phone(session, ws, number)
            except Invalid:
                continue  # reported by the write, with the column
            if found is not None:
                return found
    return None


async def _write_row(
    session: AsyncSession, ws: Workspace, actor: Actor, job: ImportJob, row: int, data: ContactIn
) -> tuple[Outcome, int | None]:
    """Write one row as the job's mode says; returns the outcome and, for an in-file duplicate, the row it
    merged into. Raises DomainError for a failed row (the caller's savepoint rolls it back)."""
    match = await _match(session, ws, data, job.match_keys)
    if match is None:
        if job.mode == "update_only":
            return "skipped", None
        contact = await contacts.create(session, ws, actor, data)
        session.add(ImportRow(workspace_id=ws.id, job_id=job.id, contact_id=contact.id, row=row))
        return "created", None
    first = await session.scalar(
        select(ImportRow.row).where(
            ImportRow.workspace_id == ws.id, ImportRow.job_id == job.id, ImportRow.contact_id == match.id
        )
    )
    if first is None and job.mode == "skip_existing":
        return "skipped", None
    if first is None and job.mode == "create_only":
        await contacts.create(session, ws, actor, data)  # raises the API's own 409 naming the field
        raise AssertionError("unreachable: the match owns one of the row's identities")
    result = await contacts.upsert(session, ws, actor, data)
    if result.contact.id != match.id:
        # The row's email and phone belong to different contacts and the match key chose the other one.
        raise Conflict(
            "email" if job.match_keys == "phone" else "phone",
            result.contact.public_id,
            code="identity_conflict",
            detail="the row's email and phone belong to different contacts",
        )
    return ("merged", first) if first is not None else ("updated", None)


def _failure_issues(row: int, exc: DomainError, origin: dict[str, str]) -> list[_Issue]:
    field_errors: Sequence[FieldError] = getattr(exc, "errors", None) or []
    if field_errors:
        return [
            _Issue(row, "error", mappings.column_of(e.field, origin), e.kind, e.rule, e.message[:500])
            for e in field_errors
        ]
    field = getattr(exc, "field", None)
    column = mappings.column_of(field, origin) if isinstance(field, str) else None
    return [_Issue(row, "error", column, "string" if column else None, exc.code, exc.detail[:500])]


async def _process(
    session: AsyncSession, ws: Workspace, actor: Actor, job: ImportJob, record: reader.Record, tally: _Tally
) -> list[_Issue]:
    if record.error is not None:
        tally.add("failed")
        return [_Issue(record.row, "error", None, None, "format", f"row {record.error}")]
    data, origin = mappings.to_contact(record.cells, job.mapping, job.unmapped_to_custom)
    if not data:
        tally.add("skipped")
        return []
    checked = mappings.validate(data)
    if isinstance(checked, list):
        tally.add("failed")
        return [
            _Issue(record.row, "error", mappings.column_of(e.field, origin), e.kind, e.rule, e.message[:500])
            for e in checked
        ]
    mark = events.mark(session)
    try:
        async with session.begin_nested():
            outcome, into = await _write_row(session, ws, actor, job, record.row, checked)
    except DomainError as exc:
        events.discard_since(session, mark)
        tally.add("failed")
        return _failure_issues(record.row, exc, origin)
    tally.add(outcome)
    if outcome == "merged":
        return [_Issue(record.row, "merged", None, None, "in_file_duplicate", f"merged into row {into}", into)]
    return []


def _store_issues(session: AsyncSession, job: ImportJob, found: list[_Issue]) -> None:
    position: dict[int, int] = {}
    rows = []
    for issue in found:
        position[issue.row] = position.get(issue.row, -1) + 1
        rows.append(
            {
                "workspace_id": job.workspace_id,
                "job_id": job.id,
                "row": issue.row,
                "position": position[issue.row],
                "kind": issue.kind,
                "column": issue.column[:300] if issue.column else None,
                "value_kind": issue.value_kind,
                "rule": issue.rule[:60],
                "message": issue.message,
                "merged_into_row": issue.merged_into_row,
            }
        )
    if rows:
        session.add_all([ImportIssue(**r) for r in rows])


def _count(job: ImportJob, tally: _Tally) -> None:
    job.rows_read += tally.rows_read
    job.created += tally.created
    job.updated += tally.updated
    job.skipped += tally.skipped
    job.failed += tally.failed
    job.merged += tally.merged


# ---------------------------------------------------------------- running


Progress = Callable[[ImportJob], None]


async def _claim(db: Database, workspace_id: uuid.UUID, job_id: uuid.UUID, take_over: bool) -> ImportJob:
    async with uow.unit_of_work(db) as session:
        job = await session.get(ImportJob, (workspace_id, job_id), with_for_update=True)
        if job is None:
            raise NotFound("import")
        now = clock.now()
        if job.status in ("completed", "failed"):
            return job
        if job.status == "running" and job.lease_until and job.lease_until > now and not take_over:
            raise Conflict("status", job.public_id, code="import_running", detail="this import is running elsewhere")
        if job.dry_run and job.checkpoint:
            # A dry run keeps nothing between chunks, so an interrupted one starts over.
            await session.execute(
                delete(ImportIssue).where(ImportIssue.workspace_id == workspace_id, ImportIssue.job_id == job_id)
            )
            job.checkpoint = job.rows_read = job.created = job.updated = job.skipped = job.failed = job.merged = 0
        job.status, job.lease_until, job.updated_at = "running", now + LEASE, now
        job.started_at = job.started_at or now
        return job


async def run(
    db: Database,
    workspace_id: uuid.UUID,
    job_id: uuid.UUID,
    actor: Actor,
    *,
    chunk_rows: int | None = None,
    progress: Progress | None = None,
    take_over: bool = False,
    path: str | None = None,
    workers: int | None = None,
) -> ImportJob:
    """Run (or resume after its checkpoint) a job to the end; returns the finished job. ``take_over``
    ignores a live lease (the operator knows the previous runner is dead). ``path``: ``fast`` (default)
    or ``service`` (every row through the contact service); ``workers``: normalizing processes (default:
    one per core but one, at least one, for files of POOL_MIN_ROWS rows or more; 0 = in a thread)."""
    job = await _claim(db, workspace_id, job_id, take_over)
    if job.status != "running":
        return job
    shape = reader.Shape(job.format, _delimiter(job), list(job.headers))
    use_fast = (path or os.environ.get(PATH_ENV) or "fast") != "service" and await _fast_allowed(db, job)
    size = chunk_rows or (FAST_CHUNK_ROWS if use_fast else CHUNK_ROWS)
    try:
        if use_fast:
            await _run_fast(db, job, shape, actor, size, progress, workers)
        elif job.dry_run:
            await _dry_run(db, job, shape, actor, size, progress)
        else:
            await _import(db, job, shape, actor, size, progress)
    except Conflict:
        raise  # another runner took the job over: it is that runner's to finish (or fail)
    except asyncio.CancelledError:
        # Stopped (shutdown, SIGTERM): the chunk in flight rolled back, the checkpoint stands; give the lease
        # back so a resume continues at once rather than after the lease runs out.
        await _release(db, workspace_id, job_id)
        raise
    except Exception as exc:
        async with uow.unit_of_work(db) as session:
            failed = await session.get(ImportJob, (workspace_id, job_id))
            assert failed is not None
            failed.status, failed.error, failed.finished_at = "failed", type(exc).__name__, clock.now()
            failed.lease_until = None
        raise
    return await _complete(db, workspace_id, job_id, actor)


async def _release(db: Database, workspace_id: uuid.UUID, job_id: uuid.UUID) -> None:
    async with uow.unit_of_work(db) as session:
        job = await session.get(ImportJob, (workspace_id, job_id))
        if job is not None and job.status == "running":
            # Were it another runner's by now (ours lapsed), freeing it is still safe: a chunk commits only
            # when the checkpoint is the one its runner read (_still_ours).
            job.lease_until = None


def _still_ours(current: ImportJob, mine: ImportJob) -> None:
    """Refuse to write a chunk when another runner moved the job on (it took over after this runner's
    lease lapsed): the row lock makes the check and the chunk's commit one step."""
    if current.status != "running" or current.checkpoint != mine.checkpoint:
        raise Conflict(
            "status", current.public_id, code="import_running", detail="another runner took this import over"
        )


def _delimiter(job: ImportJob) -> str:
    if job.format != "csv":
        return ""
    return reader.inspect(Path(job.file_path), "csv").delimiter


def _chunks(shape: reader.Shape, job: ImportJob, size: int) -> Any:
    batch: list[reader.Record] = []
    for record in reader.records(Path(job.file_path), shape, job.checkpoint):
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


async def _import(
    db: Database, job: ImportJob, shape: reader.Shape, actor: Actor, chunk_rows: int, progress: Progress | None
) -> None:
    for batch in _chunks(shape, job, chunk_rows):
        async with uow.unit_of_work(db) as session:
            if not job.deliver_webhooks:
                uow.skip_outbox(session)
            ws = await session.get(Workspace, job.workspace_id)
            current = await session.get(ImportJob, (job.workspace_id, job.id), with_for_update=True)
            assert ws is not None and current is not None
            _still_ours(current, job)
            tally = _Tally()
            found: list[_Issue] = []
            for record in batch:
                found += await _process(session, ws, actor, current, record, tally)
            _store_issues(session, current, found)
            _count(current, tally)
            current.checkpoint = batch[-1].row
            now = clock.now()
            current.lease_until, current.updated_at = now + LEASE, now
            await session.flush()
            job = current
        if progress is not None:
            progress(job)


async def _dry_run(
    db: Database, job: ImportJob, shape: reader.Shape, actor: Actor, chunk_rows: int, progress: Progress | None
) -> None:
    """Every row through the same writes in one transaction that is rolled back: the full report, nothing kept."""
    tally = _Tally()
    found: list[_Issue] = []
    async with db.session() as session:
        ws = await session.get(Workspace, job.workspace_id)
        assert ws is not None
        for batch in _chunks(shape, job, chunk_rows):
            for record in batch:
                found += await _process(session, ws, actor, job, record, tally)
            await session.flush()
            session.expunge_all()  # rows stay in the transaction; the identity map stays small
            job.rows_read = tally.rows_read
            if progress is not None:
                progress(job)
        await session.rollback()
    async with uow.unit_of_work(db) as session:
        current = await session.get(ImportJob, (job.workspace_id, job.id))
        assert current is not None
        _store_issues(session, current, found)
        current.rows_read = current.created = current.updated = current.skipped = current.failed = current.merged = 0
        _count(current, tally)
        current.checkpoint = tally.rows_read


# ---------------------------------------------------------------- the fast path


async def _fast_allowed(db: Database, job: ImportJob) -> bool:
    """The fast path creates contacts without the per-contact duplicate search, so a workspace that asked
    for duplicate reports or auto-merge on every ingest keeps the service path."""
    async with db.read_session() as session:
        settings = await duplicates.settings_of(session, job.workspace_id)
        return not (settings.auto_merge or settings.report_on_ingest)


async def _context(db: Database, job: ImportJob) -> fast.Context:
    async with db.read_session() as session:
        ws = await session.get(Workspace, job.workspace_id)
        assert ws is not None
        definitions = await custom_fields.definitions_by_key(session, ws.id)
        return fast.Context(
            mapping=dict(job.mapping),
            unmapped_to_custom=job.unmapped_to_custom,
            default_region=ws.default_region,
            definitions=tuple(sorted((d.key, d.type, tuple(d.options or ())) for d in definitions.values())),
            sqlite=db.is_sqlite,
            workspace=ws.id.hex,
        )


Records = list[tuple[int, dict[str, Any], str | None]]


def normalizing_pool(workers: int) -> Executor:
    """Processes that prepare chunks (``fast.prepare_chunk``); each starts on a submit, which must run
    ``without_main_script``."""
    spawn = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(workers, mp_context=spawn, initializer=fast.worker_started)


@contextlib.contextmanager
def without_main_script() -> Iterator[None]:
    """The parent's ``__main__`` hidden from a process spawned meanwhile. Spawning runs the parent's main
    script (or module) again in the child, in case the child's work was defined there; ``leadhub import``'s
    is the console script, whose CLI brings the whole app along (every router, the web app): 19 MB more per
    worker (102 against 83 MB at start), though a worker only runs ``imports.fast``. Hidden in the event
    loop's thread for the length of a submit; nothing else reads it."""
    main = sys.modules["__main__"]
    saved: dict[str, Any] = {n: main.__dict__[n] for n in ("__file__", "__spec__") if n in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__spec__ = None
    try:
        yield
    finally:
        main.__dict__.update(saved)


async def _prepared(
    shape: reader.Shape, job: ImportJob, size: int, context: fast.Context, workers: int | None
) -> AsyncIterator[list[fast.Prepared]]:
    """The file's chunks after the checkpoint, prepared in order; at most ``workers + 1`` chunks in
    flight, so memory stays bounded whatever the file's size."""
    loop = asyncio.get_running_loop()
    if workers is None:
        # The main process writes while the workers prepare: cores - 1 workers keep every core busy, and each
        # worker is a whole interpreter (~120 MB), so no more than that.
        cores = os.cpu_count() or 1
        workers = max(1, min(cores - 1, 3)) if job.total_estimate - job.checkpoint >= POOL_MIN_ROWS else 0
    pool = normalizing_pool(workers) if workers > 0 else None
    pending: deque[asyncio.Future[list[fast.Prepared]]] = deque()
    try:
        for batch in _chunks(shape, job, size):
            records: Records = [(r.row, r.cells, r.error) for r in batch]
            if pool is None:
                pending.append(asyncio.ensure_future(asyncio.to_thread(fast.prepare_chunk, context, records)))
            else:
                with without_main_script():  # a submit may start a worker
                    pending.append(loop.run_in_executor(pool, fast.prepare_chunk, context, records))
            if len(pending) > max(workers, 1):
                yield await pending.popleft()
        while pending:
            yield await pending.popleft()
    finally:
        for future in pending:
            future.cancel()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


@dataclass
class _FastState:
    """What the fast path keeps across a job's chunks."""

    context: fast.Context
    definitions: dict[str, Any]
    companies: dict[str, Any]


async def _fast_chunk(
    session: AsyncSession,
    ws: Workspace,
    actor: Actor,
    job: ImportJob,
    prepared: list[fast.Prepared],
    tally: _Tally,
    state: _FastState,
) -> list[_Issue]:
    found: list[_Issue] = []
    # In-file duplicates are merged in memory when the match is certain: both keys match (a duplicate by
    # phone under match_keys=email is a conflict, not a match) and the mode creates the first row.
    merge = job.match_keys == "both" and job.mode != "update_only"
    parts = await fast.split(session, ws.id, prepared, merge=merge)
    for p in parts.final:
        if p.kind == "skipped" or (p.kind == "check" and job.mode == "update_only"):
            tally.add("skipped")  # update_only: a row matching nothing is skipped before any create rule
            continue
        tally.add("failed")
        found += [_Issue(**vars(i)) for i in p.issues]
    service_rows = parts.service
    if parts.bulk and job.mode == "update_only":
        for _ in parts.bulk:
            tally.add("skipped")  # nothing matches these rows
    elif parts.bulk:
        await fast.link_companies(session, ws.id, parts.bulk, state.companies)
        outcomes: list[tuple[fast.Prepared, fast.Prepared, list[fast.Issue] | None]] = []
        broken: set[int] = set()  # groups whose rest goes to the service path
        for root, row in parts.merges:
            if root.row in broken or not fast.mergeable(root, row, parts.owner):
                broken.add(root.row)
                service_rows.append(row)
                continue
            outcomes.append((root, row, fast.merge_row(state.context, state.definitions, root, row)))
        if await fast.write_bulk(session, ws, actor, job.id, parts.bulk, job.deliver_webhooks, state.companies):
            for _ in parts.bulk:
                tally.add("created")
            for root, row, issues in outcomes:
                if issues is None:
                    tally.add("merged")
                    found.append(
                        _Issue(
                            row.row, "merged", None, None, "in_file_duplicate", f"merged into row {root.row}", root.row
                        )
                    )
                else:
                    tally.add("failed")
                    found += [_Issue(**vars(i)) for i in issues]
        else:
            service_rows += parts.bulk + [row for _, row, _ in outcomes]
    else:
        service_rows += [row for _, row in parts.merges]
    for p in sorted(service_rows, key=lambda p: p.row):
        found += await _process(session, ws, actor, job, reader.Record(p.row, p.cells or {}), tally)
    return found


async def _run_fast(
    db: Database,
    job: ImportJob,
    shape: reader.Shape,
    actor: Actor,
    size: int,
    progress: Progress | None,
    workers: int | None,
) -> None:
    """The fast path: each chunk commits with its counters, issues and checkpoint (a dry run keeps one
    transaction and rolls it back, as on the service path)."""
    context = await _context(db, job)
    state = _FastState(context, fast.definitions_of(context), {})
    chunks = _prepared(shape, job, size, context, workers)
    if job.dry_run:
        tally = _Tally()
        found: list[_Issue] = []
        async with db.session() as session:
            ws = await session.get(Workspace, job.workspace_id)
            assert ws is not None
            async for prepared in chunks:
                found += await _fast_chunk(session, ws, actor, job, prepared, tally, state)
                await session.flush()
                session.expunge_all()
                job.rows_read = tally.rows_read
                if progress is not None:
                    progress(job)
            await session.rollback()
        async with uow.unit_of_work(db) as session:
            current = await session.get(ImportJob, (job.workspace_id, job.id))
            assert current is not None
            _store_issues(session, current, found)
            current.rows_read = current.created = current.updated = 0
            current.skipped = current.failed = current.merged = 0
            _count(current, tally)
            current.checkpoint = tally.rows_read
        return
    stats = await fast.statistics(db)
    async for prepared in chunks:
        if not prepared:
            continue
        async with uow.unit_of_work(db) as session:
            if not job.deliver_webhooks:
                uow.skip_outbox(session)
            ws = await session.get(Workspace, job.workspace_id)
            current = await session.get(ImportJob, (job.workspace_id, job.id), with_for_update=True)
            assert ws is not None and current is not None
            _still_ours(current, job)
            tally = _Tally()
            found = await _fast_chunk(session, ws, actor, current, prepared, tally, state)
            _store_issues(session, current, found)
            _count(current, tally)
            current.checkpoint = prepared[-1].row
            now = clock.now()
            current.lease_until, current.updated_at = now + LEASE, now
            await session.flush()
            job = current
        await fast.keep_statistics(db, stats, tally.created)
        if progress is not None:
            progress(job)


def summary(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.public_id,
        "status": job.status,
        "dry_run": job.dry_run,
        "mode": job.mode,
        "match_keys": job.match_keys,
        "rows_read": job.rows_read,
        "created": job.created,
        "updated": job.updated,
        "skipped": job.skipped,
        "failed": job.failed,
        "merged": job.merged,
    }


async def _complete(db: Database, workspace_id: uuid.UUID, job_id: uuid.UUID, actor: Actor) -> ImportJob:
    """Mark the job completed and record the one ``import.completed`` event, always delivered."""
    async with uow.unit_of_work(db) as session:
        job = await session.get(ImportJob, (workspace_id, job_id), with_for_update=True)
        assert job is not None
        now = clock.now()
        job.status, job.finished_at, job.lease_until, job.updated_at = "completed", now, None, now
        events.record(
            session,
            workspace_id,
            actor,
            "import.completed",
            resource_type="import",
            resource_id=job.id,
            payload=summary(job),
        )
    return job


async def stale_jobs(session: AsyncSession) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Jobs whose runner died (lease expired while running) or stopped and gave its lease back, to resume."""
    rows = await session.execute(
        select(ImportJob.workspace_id, ImportJob.id).where(
            ImportJob.status == "running",
            or_(ImportJob.lease_until.is_(None), ImportJob.lease_until < clock.now()),
        )
    )
    return [(w, i) for w, i in rows]


async def count_created_rows(session: AsyncSession, job: ImportJob) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(ImportRow)
            .where(ImportRow.workspace_id == job.workspace_id, ImportRow.job_id == job.id)
        )
        or 0
    )
