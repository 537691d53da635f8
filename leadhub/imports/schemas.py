"""Native wire shapes of import jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from leadhub.imports import service
from leadhub.imports.models import ImportJob


class ImportOut(BaseModel):
    id: str
    status: str
    format: str
    filename: str | None
    mode: str
    match_keys: str
    dry_run: bool
    deliver_webhooks: bool
    unmapped_to_custom: bool
    headers: list[str]
    mapping: dict[str, Any]
    total_estimate: int
    rows_read: int
    created: int
    updated: int
    skipped: int
    failed: int
    merged: int
    eta_seconds: float | None
    error: str | None
    errors_url: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ImportList(BaseModel):
    data: list[ImportOut]


def to_out(job: ImportJob) -> ImportOut:
    return ImportOut(
        id=job.public_id,
        status=job.status,
        format=job.format,
        filename=job.filename,
        mode=job.mode,
        match_keys=job.match_keys,
        dry_run=job.dry_run,
        deliver_webhooks=job.deliver_webhooks,
        unmapped_to_custom=job.unmapped_to_custom,
        headers=list(job.headers),
        mapping=dict(job.mapping),
        total_estimate=job.total_estimate,
        rows_read=job.rows_read,
        created=job.created,
        updated=job.updated,
        skipped=job.skipped,
        failed=job.failed,
        merged=job.merged,
        eta_seconds=service.eta_seconds(job),
        error=job.error,
        errors_url=f"/v1/imports/{job.public_id}/errors",
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )
