"""CSV import: upload a file, see and change the detected column mapping, dry run, start, watch the
progress (HTMX polls a partial), download the per-row error file; the recent imports.

Jobs are the imports service's (``create_job``, ``run``, ``get``, ``list_jobs``, ``issues``); a job runs in
the background of this process exactly as ``POST /v1/imports`` runs it. The only thing the web door keeps
of its own is the uploaded file between the upload and the mapping form, in the workspace's own folder."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response, StreamingResponse

from leadhub import uow
from leadhub.core import clock, ids
from leadhub.core.errors import Conflict, DomainError, FieldError, Invalid, NotFound
from leadhub.custom_fields import service as custom_fields
from leadhub.imports import background, reader
from leadhub.imports import mapping as mappings
from leadhub.imports import service as imports
from leadhub.imports.api import ISSUE_COLUMNS
from leadhub.imports.models import ImportJob
from leadhub.web import forms, messages, render
from leadhub.web.context import Web, in_workspace

router = APIRouter(prefix="/app/{ws_id}/imports", include_in_schema=False)
SAMPLE_ROWS = 3
REPORT_ISSUES = 20
POLL_SECONDS = 1
UPLOAD_KEPT_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
# Targets offered in the column selects: every contact field the importer knows, less the whole-object
# ones a CSV column cannot hold as such (their parts are offered instead).
_NOT_OFFERED = {mappings.IGNORE, "custom_fields", "address"}
FIELD_TARGETS = sorted(t for t in mappings.TARGETS if t not in _NOT_OFFERED)


# ---------------------------------------------------------------- the upload, kept until mapped


def _uploads(web: Web) -> Path:
    """This workspace's folder of uploads waiting for their mapping: a token of another workspace is not here."""
    return Path(web.settings.data_dir) / "imports" / "web" / web.ws.public_id


def _staged(web: Web, token: str) -> tuple[Path, dict[str, Any]]:
    if not _TOKEN.match(token):
        raise NotFound("upload")
    path = _uploads(web) / f"{token}.upload"
    meta = path.with_suffix(".json")
    if not path.exists() or not meta.exists():
        raise NotFound("upload")
    return path, orjson.loads(meta.read_bytes())


def _prune(folder: Path) -> None:
    """Forget uploads nobody mapped within a day (the folder is this workspace's own)."""
    cutoff = time.time() - UPLOAD_KEPT_SECONDS
    for stale in folder.glob("*.upload"):
        try:
            if stale.stat().st_mtime < cutoff:
                stale.unlink(missing_ok=True)
                stale.with_suffix(".json").unlink(missing_ok=True)
        except OSError:
            continue  # another request removed it first


def _discard(web: Web, token: str) -> None:
    if _TOKEN.match(token):
        for suffix in (".upload", ".json"):
            (_uploads(web) / f"{token}{suffix}").unlink(missing_ok=True)


def _job_file(web: Web, source: Path) -> Path:
    """A file of the job's own, as the API keeps one per job: a hard link when the file system allows."""
    folder = Path(web.settings.data_dir) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{ids.new_uuid()}.upload"
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return target


def _exists(path: str) -> bool:
    return Path(path).exists()  # a stat: too quick to be worth a thread


def start(web: Web, job_id: uuid.UUID) -> None:
    """Run the job in the background of this process, as ``POST /v1/imports`` does."""
    background.start(web.db, web.ws.id, job_id, web.actor)


# ---------------------------------------------------------------- the list and the upload


async def _list_page(web: Web, status: int = 200, **extra: Any) -> Response:
    async with web.db.read_session() as session:
        jobs = await imports.list_jobs(session, web.ws)
    return render.html(
        "imports/list.html",
        web.page(title=messages.t("imports.title"), section="imports", jobs=jobs, **extra),
        status=status,
    )


@router.get("")
async def import_list(web: Web = Depends(in_workspace("contacts.read"))) -> Response:
    return await _list_page(web)


@router.post("/upload")
async def upload(request: Request, web: Web = Depends(in_workspace("contacts.write"))) -> Response:
    form = await request.form()
    given = form.get("file")
    if not isinstance(given, UploadFile) or not given.filename:
        problems = forms.problems(Invalid([FieldError("file", "required", "choose a file to upload", "null")]))
        return await _list_page(web, 422, problems=problems)
    folder = _uploads(web)
    folder.mkdir(parents=True, exist_ok=True)
    _prune(folder)
    token = uuid.uuid4().hex
    path = folder / f"{token}.upload"
    filename = Path(given.filename).name[:300]
    with path.open("wb") as out:
        while block := await given.read(1 << 20):
            out.write(block)
    try:
        reader.inspect(path, None, filename)
    except Invalid as exc:
        path.unlink(missing_ok=True)
        return await _list_page(web, 422, problems=forms.problems(exc))
    path.with_suffix(".json").write_bytes(orjson.dumps({"filename": filename, "user": web.user.public_id}))
    return RedirectResponse(f"{web.base()}/imports/new/{token}", status_code=303)


# ---------------------------------------------------------------- the mapping form


async def _mapping_page(
    web: Web,
    token: str,
    status: int = 200,
    chosen: dict[str, str] | None = None,
    options: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    path, meta = _staged(web, token)
    shape = reader.inspect(path, None, meta.get("filename"))
    samples: list[dict[str, Any]] = [r.cells for r in islice(reader.records(path, shape), SAMPLE_ROWS)]
    async with web.db.read_session() as session:
        # No override given: the service only reads (detected, then the workspace's saved mapping).
        detected, to_custom = await mappings.resolve(session, web.ws.id, shape.headers, None, None)
        definitions = await custom_fields.list_all(session, web.ws.id)
    defined = {d.key for d in definitions}
    columns = []
    for index, header in enumerate(shape.headers):
        own_key = mappings.custom_key(header)
        fallback = mappings.CUSTOM_PREFIX + own_key if to_custom else mappings.IGNORE
        target = (chosen or {}).get(header) or detected.get(header) or fallback
        # A saved mapping may name a custom key no definition has: it stays offered, and selected.
        other = target.removeprefix(mappings.CUSTOM_PREFIX) if target.startswith(mappings.CUSTOM_PREFIX) else None
        columns.append(
            {
                "index": index,
                "header": header,
                "samples": [str(s.get(header, ""))[:60] for s in samples if s.get(header) not in (None, "")],
                "target": target,
                "new_custom": own_key not in defined,
                "custom_key": own_key,
                "other_custom": other if other and other not in defined and other != own_key else None,
            }
        )
    return render.html(
        "imports/mapping.html",
        web.page(
            title=messages.t("imports.mapping"),
            section="imports",
            token=token,
            filename=meta.get("filename") or "",
            file_format=shape.format,
            columns=columns,
            field_targets=FIELD_TARGETS,
            definitions=definitions,
            modes=imports.MODES,
            match_keys=imports.MATCH_KEYS,
            options=options or {"mode": "upsert", "match_keys": "both"},
            **extra,
        ),
        status=status,
    )


@router.get("/new/{token}")
async def mapping_form(token: str, web: Web = Depends(in_workspace("contacts.write"))) -> Response:
    return await _mapping_page(web, token)


@router.post("/new/{token}")
async def create(token: str, request: Request, web: Web = Depends(in_workspace("contacts.write"))) -> Response:
    """Dry run or start: one job of the service over the uploaded file, with this mapping and these options."""
    path, meta = _staged(web, token)
    form = await request.form()
    shape = reader.inspect(path, None, meta.get("filename"))
    chosen = {header: forms.text(form, f"map-{i}", 400) or mappings.IGNORE for i, header in enumerate(shape.headers)}
    choice = {"mode": forms.text(form, "mode", 40), "match_keys": forms.text(form, "match_keys", 40)}
    dry_run = forms.text(form, "action", 20) == "dry_run"
    options = imports.ImportOptions(
        mode=choice["mode"],
        match_keys=choice["match_keys"],
        dry_run=dry_run,
        mapping=dict(chosen),
        format=shape.format,
        filename=meta.get("filename"),
    )
    job_path = _job_file(web, path)
    try:
        async with uow.unit_of_work(web.db) as session:
            job = await imports.create_job(session, web.ws, job_path, options)
            job_id, public_id = job.id, job.public_id
    except DomainError as exc:
        job_path.unlink(missing_ok=True)
        if exc.status in (401, 403, 404):
            raise
        problems = forms.problems(exc, {f"mapping.{h}": f"map-{i}" for i, h in enumerate(shape.headers)})
        return await _mapping_page(web, token, exc.status, chosen=chosen, options=choice, problems=problems)
    start(web, job_id)
    if dry_run:
        return RedirectResponse(f"{web.base()}/imports/{public_id}?upload={token}", status_code=303)
    _discard(web, token)
    return RedirectResponse(f"{web.base()}/imports/{public_id}", status_code=303)


# ---------------------------------------------------------------- a job: progress, report, errors


def _rate(job: ImportJob) -> float | None:
    if not job.started_at or job.rows_read == 0:
        return None
    seconds = ((job.finished_at or clock.now()) - job.started_at).total_seconds()
    return job.rows_read / seconds if seconds > 0 else None


def _percent(job: ImportJob) -> int:
    if job.status == "completed":
        return 100
    return min(99, 100 * job.rows_read // job.total_estimate) if job.total_estimate else 0


async def _job_context(web: Web, request: Request, job_id: str) -> dict[str, Any]:
    async with web.db.read_session() as session:
        job = await imports.get(session, web.ws, job_id)
        found = []
        if job.failed or job.merged:
            found = await imports.issues(session, web.ws, job, (0, -1), REPORT_ISSUES + 1)
    token = request.query_params.get("upload", "")
    upload = token if _TOKEN.match(token) and (_uploads(web) / f"{token}.upload").exists() else None
    eta = imports.eta_seconds(job)
    rate = _rate(job)
    return {
        "job": job,
        "live": job.status in ("queued", "running"),
        "percent": _percent(job),
        "rate": f"{rate:,.0f}" if rate is not None else messages.t("imports.eta_none"),
        "eta": messages.t("imports.eta_seconds", n=round(eta)) if eta is not None else messages.t("imports.eta_none"),
        "issues": found[:REPORT_ISSUES],
        "more_issues": len(found) > REPORT_ISSUES,
        "upload": upload,
        "poll": POLL_SECONDS,
    }


@router.get("/{job_id}")
async def job_page(job_id: str, request: Request, web: Web = Depends(in_workspace("contacts.read"))) -> Response:
    context = await _job_context(web, request, job_id)
    name = "imports.kind.dry_run" if context["job"].dry_run else "imports.kind.import"
    return render.html(
        "imports/job.html",
        web.page(title=f"{messages.t(name)} {context['job'].filename or ''}".strip(), section="imports", **context),
    )


@router.get("/{job_id}/progress")
async def progress(job_id: str, request: Request, web: Web = Depends(in_workspace("contacts.read"))) -> Response:
    """The progress partial HTMX polls while the job runs (it stops polling once the job has ended)."""
    context = await _job_context(web, request, job_id)
    return render.html("imports/_progress.html", web.page(**context))


@router.post("/{job_id}/start")
async def start_after_dry_run(
    job_id: str, request: Request, web: Web = Depends(in_workspace("contacts.write"))
) -> Response:
    """The real import of a finished dry run: the same file, mapping and options."""
    form = await request.form()
    async with web.db.read_session() as session:
        dry = await imports.get(session, web.ws, job_id)
    if not dry.dry_run or dry.status != "completed":
        raise Conflict("status", dry.public_id, code="not_a_finished_dry_run", detail="only a finished dry run starts")
    if not _exists(dry.file_path):
        raise Conflict("file", dry.public_id, code="upload_gone", detail=messages.t("imports.upload_gone"))
    options = imports.ImportOptions(
        mode=dry.mode,
        match_keys=dry.match_keys,
        dry_run=False,
        deliver_webhooks=dry.deliver_webhooks,
        mapping=dict(dry.mapping),
        format=dry.format,
        filename=dry.filename,
    )
    job_path = _job_file(web, Path(dry.file_path))
    try:
        async with uow.unit_of_work(web.db) as session:
            job = await imports.create_job(session, web.ws, job_path, options)
            new_id, public_id = job.id, job.public_id
    except BaseException:
        job_path.unlink(missing_ok=True)
        raise
    start(web, new_id)
    _discard(web, forms.text(form, "upload", 40))
    return RedirectResponse(f"{web.base()}/imports/{public_id}", status_code=303)


@router.get("/{job_id}/errors")
async def error_file(job_id: str, web: Web = Depends(in_workspace("contacts.read"))) -> StreamingResponse:
    """The same per-row error file as ``GET /v1/imports/{id}/errors`` (never a cell's value)."""
    async with web.db.read_session() as session:
        job = await imports.get(session, web.ws, job_id)

    async def lines() -> AsyncIterator[bytes]:
        buffer = io.StringIO()
        out = csv.writer(buffer)
        out.writerow(ISSUE_COLUMNS)
        after = (0, -1)
        while True:
            async with web.db.read_session() as session:
                batch = await imports.issues(session, web.ws, job, after, 1000)
            for i in batch:
                out.writerow(
                    [i.row, i.kind, i.column or "", i.value_kind or "", i.rule, i.message, i.merged_into_row or ""]
                )
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            if len(batch) < 1000:
                return
            after = (batch[-1].row, batch[-1].position)

    return StreamingResponse(
        lines(),
        media_type="text/csv",
        headers={
            **render.SECURITY_HEADERS,
            "Content-Disposition": f'attachment; filename="{job.public_id}-errors.csv"',
        },
    )
