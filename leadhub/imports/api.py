"""Native /v1/imports routes: the upload is streamed to the data directory, then one service call."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query
from starlette.responses import Response, StreamingResponse

from leadhub import uow
from leadhub.core import ids
from leadhub.core.errors import FieldError, Invalid
from leadhub.http.context import Ctx, ctx_for, serialize
from leadhub.http.openapi import ERRORS
from leadhub.imports import background, service
from leadhub.imports.schemas import ImportList, ImportOut, to_out

router = APIRouter(prefix="/v1/imports", tags=["imports"], responses=ERRORS)
read = ctx_for("contacts.read")
write = ctx_for("contacts.write")
ISSUE_COLUMNS = ("row", "kind", "column", "value_kind", "rule", "message", "merged_into_row")
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "The file itself: CSV (header row, any delimiter) or JSON Lines; streamed to disk.",
        "content": {
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
            "application/x-ndjson": {"schema": {"type": "string", "format": "binary"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def _json(content: object, status: int = 200) -> Response:
    return Response(serialize(content), status_code=status, media_type="application/json")


def _mapping(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise Invalid([FieldError("mapping", "json_object", "must be a JSON object of column → field", "string")])
    return value


async def _start(ctx: Ctx, job_id: Any, wait: bool) -> None:
    if wait:
        await service.run(ctx.db, ctx.workspace.id, job_id, ctx.actor)
        return
    background.start(ctx.db, ctx.workspace.id, job_id, ctx.actor)


@router.post(
    "",
    status_code=202,
    response_model=ImportOut,
    summary="Upload a file and start an import",
    openapi_extra=_UPLOAD_BODY,
    responses={201: {"model": ImportOut, "description": "Finished (wait=true)"}},
)
async def create_import(
    ctx: Ctx = Depends(write),
    mode: Annotated[Literal["create_only", "update_only", "upsert", "skip_existing"], Query()] = "upsert",
    match_keys: Annotated[Literal["email", "phone", "both"], Query()] = "both",
    dry_run: bool = False,
    deliver_webhooks: Annotated[bool, Query(description="Deliver the per-row events to webhooks")] = False,
    unmapped_to_custom: Annotated[bool | None, Query(description="Unmapped columns go to custom fields")] = None,
    mapping: Annotated[
        str | None, Query(max_length=20_000, description="JSON object: column → field, custom_fields.<key> or ignore")
    ] = None,
    format: Annotated[Literal["csv", "jsonl"] | None, Query(description="Default: guessed")] = None,
    filename: Annotated[str | None, Query(max_length=300)] = None,
    wait: Annotated[bool, Query(description="Answer once the import has finished")] = False,
) -> Response:
    """202 with the queued job (poll it for progress and ETA); 201 with the finished job when ``wait``."""
    options = service.ImportOptions(
        mode=mode,
        match_keys=match_keys,
        dry_run=dry_run,
        deliver_webhooks=deliver_webhooks,
        unmapped_to_custom=unmapped_to_custom,
        mapping=_mapping(mapping),
        format=format,
        filename=filename,
    )
    folder = Path(ctx.settings.data_dir) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{ids.new_uuid()}.upload"
    try:
        with path.open("wb") as out:
            async for block in ctx.request.stream():
                out.write(block)
        async with uow.unit_of_work(ctx.db) as session:
            job = await service.create_job(session, ctx.workspace, path, options)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    await _start(ctx, job.id, wait)
    if wait:
        async with ctx.read() as session:
            job = await service.get(session, ctx.workspace, job.public_id)
        return _json(to_out(job), 201)
    return _json(to_out(job), 202)


@router.get("", response_model=ImportList, summary="Recent imports")
async def list_imports(ctx: Ctx = Depends(read)) -> Response:
    async with ctx.read() as session:
        jobs = await service.list_jobs(session, ctx.workspace)
        return _json(ImportList(data=[to_out(j) for j in jobs]))


@router.get("/{import_id}", response_model=ImportOut, summary="An import's status, counts and ETA")
async def get_import(import_id: str, ctx: Ctx = Depends(read)) -> Response:
    async with ctx.read() as session:
        return _json(to_out(await service.get(session, ctx.workspace, import_id)))


@router.post(
    "/{import_id}/resume",
    response_model=ImportOut,
    summary="Resume an interrupted import after its last committed chunk",
)
async def resume_import(
    import_id: str,
    ctx: Ctx = Depends(write),
    wait: Annotated[bool, Query(description="Answer once the import has finished")] = False,
) -> Response:
    """409 while another runner holds the job's lease."""
    async with ctx.read() as session:
        job = await service.get(session, ctx.workspace, import_id)
    await _start(ctx, job.id, wait)
    async with ctx.read() as session:
        return _json(to_out(await service.get(session, ctx.workspace, import_id)))


@router.get(
    "/{import_id}/errors",
    summary="The per-row error file (CSV): row, column, value kind, rule; never the value",
    responses={200: {"content": {"text/csv": {}}, "description": "One line per problem or in-file merge"}},
)
async def import_errors(import_id: str, ctx: Ctx = Depends(read)) -> StreamingResponse:
    async with ctx.read() as session:
        job = await service.get(session, ctx.workspace, import_id)

    async def lines() -> AsyncIterator[bytes]:
        buffer = io.StringIO()
        out = csv.writer(buffer)
        out.writerow(ISSUE_COLUMNS)
        after = (0, -1)
        while True:
            async with ctx.read() as session:
                batch = await service.issues(session, ctx.workspace, job, after, 1000)
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

    name = f"{job.public_id}-errors.csv"
    return StreamingResponse(
        lines(), media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
