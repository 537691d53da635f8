"""Pipelines for every door. Every workspace has a default pipeline (new, contacted, qualified, proposal,
negotiation, won, lost); it is created on first use, idempotently (``INSERT … ON CONFLICT DO NOTHING`` on
the workspace's ``default`` key), so workspaces older than this code get one too and two first requests
racing each other make one."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.core import clock, ids
from leadhub.core.errors import Conflict, FieldError, Invalid, NotFound
from leadhub.deals.models import Deal
from leadhub.events import service as events
from leadhub.pipelines.models import Pipeline, PipelineStage
from leadhub.pipelines.schemas import PipelineIn, PipelineOut, StageIn, StageOut

DEFAULT_KEY = "default"
DEFAULT_NAME = "Sales pipeline"
# (key, label, default win probability, kind)
DEFAULT_STAGES = (
    ("new", "New", 10, "open"),
    ("contacted", "Contacted", 20, "open"),
    ("qualified", "Qualified", 40, "open"),
    ("proposal", "Proposal", 60, "open"),
    ("negotiation", "Negotiation", 80, "open"),
    ("won", "Won", 100, "won"),
    ("lost", "Lost", 0, "lost"),
)


def to_out(p: Pipeline) -> PipelineOut:
    return PipelineOut(
        id=p.public_id,
        key=p.key,
        name=p.name,
        is_default=p.is_default,
        stages=[
            StageOut(key=s.key, name=s.name, position=s.position, probability=s.probability, kind=s.kind)
            for s in p.stages
        ],
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


def snapshot(p: Pipeline) -> dict[str, Any]:
    return to_out(p).model_dump(mode="json")


async def _load(session: AsyncSession, ws_id: uuid.UUID, **where: Any) -> Pipeline | None:
    stmt = select(Pipeline).filter_by(workspace_id=ws_id, **where).execution_options(populate_existing=True)
    return (await session.scalars(stmt)).one_or_none()


async def ensure_default(session: AsyncSession, ws: Workspace, actor: Actor) -> Pipeline:
    """The workspace's default pipeline, created now if it does not exist yet (needs a writing session)."""
    found = await _load(session, ws.id, key=DEFAULT_KEY)
    if found is not None:
        return found
    now = clock.now()
    pipeline_id = ids.new_uuid()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    result = await session.execute(
        insert(Pipeline)
        .values(
            workspace_id=ws.id,
            id=pipeline_id,
            key=DEFAULT_KEY,
            name=DEFAULT_NAME,
            is_default=True,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["workspace_id", "key"])
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        session.add_all(
            PipelineStage(
                workspace_id=ws.id, pipeline_id=pipeline_id, key=key, name=name, position=i, probability=p, kind=kind
            )
            for i, (key, name, p, kind) in enumerate(DEFAULT_STAGES)
        )
        await session.flush()
    pipeline = await _load(session, ws.id, key=DEFAULT_KEY)
    assert pipeline is not None
    if result.rowcount == 1:  # type: ignore[attr-defined]
        events.record(
            session,
            ws.id,
            actor,
            "pipeline.created",
            resource_type="pipeline",
            resource_id=pipeline.id,
            payload=snapshot(pipeline),
        )
    return pipeline


async def has_default(session: AsyncSession, ws_id: uuid.UUID) -> bool:
    return bool(
        await session.scalar(select(exists().where(Pipeline.workspace_id == ws_id, Pipeline.key == DEFAULT_KEY)))
    )


def pipeline_key(pipeline_id: str) -> uuid.UUID:
    return ids.resolve(ids.PIPELINE, pipeline_id, "pipeline")


async def get(session: AsyncSession, ws: Workspace, pipeline_id: str) -> Pipeline:
    """A pipeline by id (or ``default``); NotFound otherwise, also for other workspaces' ids."""
    if pipeline_id == DEFAULT_KEY:
        found = await _load(session, ws.id, key=DEFAULT_KEY)
    else:
        found = await _load(session, ws.id, id=pipeline_key(pipeline_id))
    if found is None:
        raise NotFound("pipeline")
    return found


async def list_pipelines(session: AsyncSession, ws: Workspace) -> list[Pipeline]:
    """The default pipeline first, then the others by creation."""
    stmt = (
        select(Pipeline)
        .where(Pipeline.workspace_id == ws.id)
        .order_by(Pipeline.is_default.desc(), Pipeline.created_at, Pipeline.id)
    )
    return list((await session.scalars(stmt)).all())


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]
    return slug or "pipeline"


def _set_stages(pipeline: Pipeline, stages: list[StageIn]) -> None:
    keys = [s.key for s in stages]
    if len(set(keys)) != len(keys):
        raise Invalid([FieldError("stages", "unique", "stage keys must be unique", "array")])
    existing = {s.key: s for s in pipeline.stages}
    rows = []
    for position, stage in enumerate(stages):
        row = existing.get(stage.key) or PipelineStage(
            workspace_id=pipeline.workspace_id, pipeline_id=pipeline.id, key=stage.key
        )
        row.name, row.position, row.probability, row.kind = (
            stage.name or stage.key,
            position,
            stage.probability,
            stage.kind,
        )
        rows.append(row)
    pipeline.stages = rows


async def create(session: AsyncSession, ws: Workspace, actor: Actor, data: PipelineIn) -> Pipeline:
    errors = [FieldError(f, "missing", "is required", "null") for f in ("name", "stages") if getattr(data, f) is None]
    if errors:
        raise Invalid(errors)
    assert data.name is not None and data.stages is not None
    await ensure_default(session, ws, actor)  # so a workspace's first pipeline is never taken for its default
    key = data.key or _slug(data.name)
    if await _load(session, ws.id, key=key) is not None:
        raise Conflict("key", key, code="duplicate_key", value=key, detail="key: another pipeline has this key")
    now = clock.now()
    pipeline = Pipeline(
        workspace_id=ws.id, id=ids.new_uuid(), key=key, name=data.name, is_default=False, created_at=now, updated_at=now
    )
    pipeline.stages = []
    _set_stages(pipeline, data.stages)
    session.add(pipeline)
    await session.flush()
    events.record(
        session,
        ws.id,
        actor,
        "pipeline.created",
        resource_type="pipeline",
        resource_id=pipeline.id,
        payload=snapshot(pipeline),
    )
    return pipeline


async def _stages_in_use(session: AsyncSession, pipeline: Pipeline) -> set[str]:
    rows = await session.scalars(
        select(Deal.stage)
        .where(Deal.workspace_id == pipeline.workspace_id, Deal.pipeline_id == pipeline.id)
        .group_by(Deal.stage)
    )
    return set(rows.all())


async def patch(session: AsyncSession, ws: Workspace, actor: Actor, pipeline_id: str, data: PipelineIn) -> Pipeline:
    """Rename, re-key or restage; a stage that still holds deals cannot be removed (409)."""
    if pipeline_id == DEFAULT_KEY:
        await ensure_default(session, ws, actor)
    pipeline = await get(session, ws, pipeline_id)
    before = snapshot(pipeline)
    given = data.model_fields_set
    if "name" in given:
        if data.name is None:
            raise Invalid([FieldError("name", "required", "must not be null", "null")])
        pipeline.name = data.name
    if "key" in given and data.key is not None and data.key != pipeline.key:
        if pipeline.is_default or data.key == DEFAULT_KEY:
            raise Invalid([FieldError("key", "read_only", "the default pipeline's key cannot change", "string")])
        if await _load(session, ws.id, key=data.key) is not None:
            raise Conflict(
                "key", data.key, code="duplicate_key", value=data.key, detail="key: another pipeline has this key"
            )
        pipeline.key = data.key
    if "stages" in given:
        if data.stages is None:
            raise Invalid([FieldError("stages", "required", "must not be null", "null")])
        removed = {s.key for s in pipeline.stages} - {s.key for s in data.stages}
        busy = sorted(removed & await _stages_in_use(session, pipeline))
        if busy:
            raise Conflict(
                "stages",
                pipeline.public_id,
                code="stage_in_use",
                detail=f"stages: deals are still in {', '.join(busy)}; move them first",
            )
        _set_stages(pipeline, data.stages)
    after = snapshot(pipeline)
    changes = events.changes(before, after)
    if changes:
        pipeline.updated_at = clock.now()
        await session.flush()
        events.record(
            session,
            ws.id,
            actor,
            "pipeline.updated",
            resource_type="pipeline",
            resource_id=pipeline.id,
            payload=snapshot(pipeline),
            changes=changes,
        )
    return pipeline


async def delete(session: AsyncSession, ws: Workspace, actor: Actor, pipeline_id: str) -> None:
    """Delete a pipeline that holds no deals (deleted ones included); never the default one."""
    pipeline = await get(session, ws, pipeline_id)
    if pipeline.is_default:
        raise Conflict(
            "id", pipeline.public_id, code="default_pipeline", detail="the default pipeline cannot be deleted"
        )
    count = await session.scalar(
        select(func.count()).where(Deal.workspace_id == ws.id, Deal.pipeline_id == pipeline.id)
    )
    if count:
        raise Conflict("id", pipeline.public_id, code="pipeline_in_use", detail="the pipeline still holds deals")
    payload = snapshot(pipeline)
    await session.delete(pipeline)
    await session.flush()
    events.record(
        session, ws.id, actor, "pipeline.deleted", resource_type="pipeline", resource_id=pipeline.id, payload=payload
    )
