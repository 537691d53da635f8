"""Deal behaviour for every door: create, patch (stage moves recorded as ``deal.stage_changed`` with
from, to and time), soft delete and restore, listing (cursor or numbered pages), the pipeline summary and
each deal's time per stage.

Rules: a deal's stage is a key of its pipeline's stages; its probability follows the stage's default
unless given; entering a ``won``/``lost`` stage makes the status ``converted``/``lost`` and leaving one
for an open stage makes it ``active`` again, unless a status is given in the same change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Select, and_, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.companies import service as companies
from leadhub.contacts.models import Contact
from leadhub.core import clock, ids, money
from leadhub.core.errors import FieldError, Invalid, NotFound
from leadhub.core.pagination import Page, PageRequest, decode_cursor, encode_cursor
from leadhub.deals.models import Deal
from leadhub.deals.schemas import (
    CurrencyTotal,
    DealIn,
    DealOut,
    PipelineSummary,
    StageHistory,
    StageSummary,
    StageVisit,
)
from leadhub.events import service as events
from leadhub.events.models import Event
from leadhub.pipelines import service as pipelines
from leadhub.pipelines.models import Pipeline

DEFAULT_CURRENCY = "USD"
SORTS = ("created_at", "updated_at", "name", "value", "probability", "expected_close_date", "stage")
_CLOSING_STATUS = {"won": "converted", "lost": "lost"}
_COPIED = ("name", "source", "owner", "notes", "expected_close_date")


@dataclass
class DealFilters:
    stage: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    pipeline_id: str | None = None
    source: str | None = None
    company_id: str | None = None
    contact_id: str | None = None
    owner: str | None = None
    currency: str | None = None
    value_min: str | None = None
    value_max: str | None = None
    q: str | None = None
    deleted: bool = False


def to_out(d: Deal) -> DealOut:
    return DealOut(
        id=d.public_id,
        name=d.name,
        source=d.source,
        company_id=ids.encode(ids.COMPANY, d.company_id) if d.company_id else None,
        contact_id=ids.encode(ids.CONTACT, d.contact_id) if d.contact_id else None,
        value=money.text(d.value_e4, d.currency),
        currency=d.currency,
        pipeline_id=ids.encode(ids.PIPELINE, d.pipeline_id),
        stage=d.stage,
        stage_entered_at=d.stage_entered_at,
        probability=d.probability,
        status=d.status,
        expected_close_date=d.expected_close_date,
        owner=d.owner,
        notes=d.notes,
        custom_fields=dict(d.custom_fields),
        created_at=d.created_at,
        updated_at=d.updated_at,
        deleted_at=d.deleted_at,
    )


def snapshot(d: Deal) -> dict[str, Any]:
    return to_out(d).model_dump(mode="json")


def deal_key(deal_id: str) -> uuid.UUID:
    return ids.resolve(ids.DEAL, deal_id, "deal")


async def get(session: AsyncSession, ws: Workspace, deal_id: str, *, deleted: bool = False) -> Deal:
    """A live deal (or, with ``deleted``, a deleted one) of this workspace; NotFound otherwise."""
    deal = await session.get(Deal, (ws.id, deal_key(deal_id)), populate_existing=True)
    if deal is None or (deal.deleted_at is not None) != deleted:
        raise NotFound("deal")
    return deal


async def _contact_ref(session: AsyncSession, ws_id: uuid.UUID, contact_id: str | None) -> uuid.UUID | None:
    if contact_id is None:
        return None
    try:
        key = ids.decode(ids.CONTACT, contact_id)
    except ids.InvalidId:
        key = None
    if key is None or await session.get(Contact, (ws_id, key)) is None:
        raise Invalid([FieldError("contact_id", "exists", "is not a contact of this workspace", "string")])
    return key


async def _pipeline_for(
    session: AsyncSession, ws: Workspace, actor: Actor, data: DealIn, deal: Deal | None
) -> Pipeline:
    if data.pipeline_id is not None:
        try:
            return await pipelines.get(session, ws, data.pipeline_id)
        except NotFound:
            raise Invalid(
                [FieldError("pipeline_id", "exists", "is not a pipeline of this workspace", "string")]
            ) from None
    if deal is not None:
        found = await session.get(Pipeline, (ws.id, deal.pipeline_id))
        assert found is not None
        return found
    return await pipelines.ensure_default(session, ws, actor)


def _stage_error(pipeline: Pipeline) -> Invalid:
    keys = ", ".join(s.key for s in pipeline.stages)
    return Invalid([FieldError("stage", "enum", f"must be one of: {keys}", "string")])


async def _apply(
    session: AsyncSession, ws: Workspace, actor: Actor, deal: Deal, data: DealIn, creating: bool
) -> str | None:
    """Copy the given fields onto ``deal``; returns the stage it left when the stage changed."""
    given = data.model_fields_set
    errors: list[FieldError] = []
    if creating and not data.name:
        errors.append(FieldError("name", "missing", "is required", "null"))
    for name in ("name", "currency", "pipeline_id", "stage", "probability", "status"):
        if name in given and getattr(data, name) is None:
            errors.append(FieldError(name, "required", "must not be null", "null"))
    if errors:
        raise Invalid(errors)
    pipeline = await _pipeline_for(session, ws, actor, data, None if creating else deal)
    for name in _COPIED:
        if name in given:
            setattr(deal, name, getattr(data, name))
        elif creating:
            setattr(deal, name, None)
    if "company_id" in given or creating:
        deal.company_id = await companies.reference(session, ws.id, data.company_id, "company_id")
    if "contact_id" in given or creating:
        deal.contact_id = await _contact_ref(session, ws.id, data.contact_id)
    if creating:
        deal.currency = data.currency or DEFAULT_CURRENCY
    elif data.currency is not None and data.currency != deal.currency:
        if "value" not in given and deal.value_e4 is not None:
            raise Invalid(
                [FieldError("currency", "with_value", "changing the currency needs the value in it too", "string")]
            )
        deal.currency = data.currency
    if "value" in given or creating:
        try:
            deal.value_e4 = None if data.value is None else money.to_scaled(data.value, deal.currency)
        except money.MoneyError as exc:
            raise Invalid([FieldError("value", exc.rule, exc.message, "string")]) from None
    if "custom_fields" in given and data.custom_fields is not None:
        merged = dict(deal.custom_fields or {})
        for key, value in data.custom_fields.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        deal.custom_fields = merged
    elif creating:
        deal.custom_fields = {}

    moved_pipeline = creating or pipeline.id != deal.pipeline_id
    target = data.stage if data.stage is not None else (pipeline.stages[0].key if moved_pipeline else deal.stage)
    stage = pipeline.stage(target)
    if stage is None:
        raise _stage_error(pipeline)
    left = None if creating or (target == deal.stage and not moved_pipeline) else deal.stage
    deal.pipeline_id = pipeline.id
    if creating or left is not None:
        deal.stage = stage.key
        deal.stage_entered_at = clock.now()
    if data.probability is not None:
        deal.probability = data.probability
    elif creating or left is not None:
        deal.probability = stage.probability
    if data.status is not None:
        deal.status = data.status
    elif creating or left is not None:
        closing = _CLOSING_STATUS.get(stage.kind)
        if closing is not None:
            deal.status = closing
        elif creating or deal.status in _CLOSING_STATUS.values():
            deal.status = "active"
    return left


def _record(session: AsyncSession, ws: Workspace, actor: Actor, type_: str, deal: Deal, **extra: Any) -> None:
    events.record(
        session,
        ws.id,
        actor,
        type_,
        resource_type="deal",
        resource_id=deal.id,
        contact_id=deal.contact_id,
        payload=snapshot(deal),
        **extra,
    )


async def create(session: AsyncSession, ws: Workspace, actor: Actor, data: DealIn) -> Deal:
    """A new deal in the given (or default) pipeline, in the given (or first) stage."""
    now = clock.now()
    deal = Deal(workspace_id=ws.id, id=ids.new_uuid(), created_at=now, updated_at=now, deleted_at=None)
    await _apply(session, ws, actor, deal, data, creating=True)
    session.add(deal)
    await session.flush()
    _record(session, ws, actor, "deal.created", deal)
    return deal


async def patch(session: AsyncSession, ws: Workspace, actor: Actor, deal_id: str, data: DealIn) -> Deal:
    """Change the given fields; a stage move also records ``deal.stage_changed`` (from, to, at, and the
    seconds spent in the stage left)."""
    deal = await get(session, ws, deal_id)
    before = snapshot(deal)
    entered = deal.stage_entered_at
    left = await _apply(session, ws, actor, deal, data, creating=False)
    after = snapshot(deal)
    changes = events.changes(before, after)
    if changes:
        deal.updated_at = clock.now()
        await session.flush()
        _record(session, ws, actor, "deal.updated", deal, changes=changes)
    if left is not None:
        at = deal.stage_entered_at
        events.record(
            session,
            ws.id,
            actor,
            "deal.stage_changed",
            resource_type="deal",
            resource_id=deal.id,
            contact_id=deal.contact_id,
            payload={
                "deal_id": deal.public_id,
                "pipeline_id": ids.encode(ids.PIPELINE, deal.pipeline_id),
                "from": left,
                "to": deal.stage,
                "at": at.isoformat(),
                "seconds_in_from": (at - entered).total_seconds(),
                "probability": deal.probability,
                "status": deal.status,
            },
        )
    return deal


async def delete(session: AsyncSession, ws: Workspace, actor: Actor, deal_id: str) -> None:
    """Soft delete: the deal leaves listings and summaries, and can be restored."""
    deal = await get(session, ws, deal_id)
    deal.deleted_at = deal.updated_at = clock.now()
    await session.flush()
    _record(session, ws, actor, "deal.deleted", deal)


async def restore(session: AsyncSession, ws: Workspace, actor: Actor, deal_id: str) -> Deal:
    deal = await get(session, ws, deal_id, deleted=True)
    deal.deleted_at = None
    deal.updated_at = clock.now()
    await session.flush()
    _record(session, ws, actor, "deal.restored", deal)
    return deal


def _scaled_bound(value: str, name: str) -> int:
    try:
        amount = money.to_decimal(value)
    except money.MoneyError as exc:
        raise Invalid([FieldError(name, exc.rule, exc.message, "string")]) from None
    return int(amount * money.SCALE)


def _filtered(ws: Workspace, f: DealFilters) -> Select[Deal]:
    stmt = select(Deal).where(Deal.workspace_id == ws.id)
    stmt = stmt.where(Deal.deleted_at.is_not(None) if f.deleted else Deal.deleted_at.is_(None))
    if f.stage:
        stmt = stmt.where(Deal.stage.in_(f.stage))
    if f.status:
        stmt = stmt.where(Deal.status.in_(f.status))
    for column, value in ((Deal.source, f.source), (Deal.owner, f.owner), (Deal.currency, f.currency)):
        if value is not None:
            stmt = stmt.where(column == value)
    for reference, value, prefix in (
        (Deal.pipeline_id, f.pipeline_id, ids.PIPELINE),
        (Deal.company_id, f.company_id, ids.COMPANY),
        (Deal.contact_id, f.contact_id, ids.CONTACT),
    ):
        if value is not None:
            try:
                stmt = stmt.where(reference == ids.decode(prefix, value))
            except ids.InvalidId:
                stmt = stmt.where(false())  # an id that cannot exist matches nothing
    if f.value_min is not None:
        stmt = stmt.where(Deal.value_e4 >= _scaled_bound(f.value_min, "value_min"))
    if f.value_max is not None:
        stmt = stmt.where(Deal.value_e4 <= _scaled_bound(f.value_max, "value_max"))
    if f.q:
        stmt = stmt.where(func.lower(Deal.name).contains(f.q.strip().lower(), autoescape=True))
    return stmt


async def list_deals(session: AsyncSession, ws: Workspace, filters: DealFilters, page: PageRequest) -> Page[Deal]:
    """Newest first, by cursor."""
    stmt = _filtered(ws, filters)
    after = decode_cursor(page.cursor, "deals")
    if after is not None:
        try:
            at, key = datetime.fromisoformat(after[0]), uuid.UUID(after[1])
        except (ValueError, TypeError, IndexError):
            raise Invalid([FieldError("cursor", "cursor", "is not a cursor of this listing", "string")]) from None
        stmt = stmt.where(or_(Deal.created_at < at, and_(Deal.created_at == at, Deal.id < key)))
    rows = list(
        (await session.scalars(stmt.order_by(Deal.created_at.desc(), Deal.id.desc()).limit(page.limit + 1))).all()
    )
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    cursor = encode_cursor("deals", [rows[-1].created_at.isoformat(), str(rows[-1].id)]) if has_more else None
    return Page(items=rows, next_cursor=cursor, has_more=has_more)


async def numbered_page(
    session: AsyncSession, ws: Workspace, filters: DealFilters, number: int, size: int, sort: str = "-created_at"
) -> tuple[list[Deal], int]:
    """Page ``number`` (from 1) of ``size`` deals in ``sort`` order (``-`` for descending), and the total."""
    name = sort.removeprefix("-")
    if name not in SORTS:
        raise Invalid(
            [FieldError("sort", "enum", f"must be one of: {', '.join(SORTS)} (prefix - to reverse)", "string")]
        )
    column = Deal.value_e4 if name == "value" else getattr(Deal, name)
    stmt = _filtered(ws, filters)
    total = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    order = (column.desc(), Deal.id.desc()) if sort.startswith("-") else (column.asc(), Deal.id.asc())
    rows = await session.scalars(stmt.order_by(*order).offset((number - 1) * size).limit(size))
    return list(rows.all()), total


def _totals(rows: list[tuple[str, int, int]]) -> list[CurrencyTotal]:
    """``(currency, Σ value_e4, Σ value_e4 * probability)`` → exact totals, weighted rounded at the end."""
    result = []
    for currency, total, weighted in sorted(rows):
        exponent = Decimal(1).scaleb(-money.minor_units(currency))
        weighted_units = (Decimal(weighted) / money.SCALE / 100).quantize(exponent, rounding=ROUND_HALF_UP)
        result.append(
            CurrencyTotal(
                currency=currency, total=str(money.from_scaled(total, currency)), weighted=str(weighted_units)
            )
        )
    return result


async def summary(
    session: AsyncSession, ws: Workspace, actor: Actor, pipeline_id: str | None, status: list[str]
) -> PipelineSummary:
    """Per stage of the pipeline: how many live deals, their total and probability-weighted value (per
    currency: amounts in different currencies are never added up)."""
    pipeline = (
        await pipelines.get(session, ws, pipeline_id)
        if pipeline_id is not None
        else await pipelines.ensure_default(session, ws, actor)
    )
    weighted = Deal.value_e4 * Deal.probability
    stmt = (
        select(Deal.stage, Deal.currency, func.count(), func.sum(Deal.value_e4), func.sum(weighted))
        .where(Deal.workspace_id == ws.id, Deal.pipeline_id == pipeline.id, Deal.deleted_at.is_(None))
        .group_by(Deal.stage, Deal.currency)
    )
    if status:
        stmt = stmt.where(Deal.status.in_(status))
    counts: dict[str, int] = {}
    sums: dict[str, list[tuple[str, int, int]]] = {}
    overall: dict[str, list[int]] = {}
    for stage, currency, count, total, weight in await session.execute(stmt):
        counts[stage] = counts.get(stage, 0) + int(count)
        if total is not None and weight is not None:
            sums.setdefault(stage, []).append((currency, int(total), int(weight)))
            acc = overall.setdefault(currency, [0, 0])
            acc[0] += int(total)
            acc[1] += int(weight)
    stages = [
        StageSummary(
            key=s.key,
            name=s.name,
            position=s.position,
            probability=s.probability,
            kind=s.kind,
            count=counts.get(s.key, 0),
            totals=_totals(sums.get(s.key, [])),
        )
        for s in pipeline.stages
    ]
    return PipelineSummary(
        pipeline_id=pipeline.public_id,
        count=sum(counts.values()),
        stages=stages,
        totals=_totals([(c, t, w) for c, (t, w) in overall.items()]),
    )


async def stage_history(session: AsyncSession, ws: Workspace, deal_id: str) -> StageHistory:
    """Each stage the deal was in, when it entered and left, and for how long (from its events)."""
    deal = await get(session, ws, deal_id)
    rows = await session.scalars(
        select(Event)
        .where(
            Event.workspace_id == ws.id,
            Event.resource_id == deal.id,
            Event.type.in_(("deal.created", "deal.stage_changed")),
        )
        .order_by(Event.seq)
    )
    visits: list[StageVisit] = []
    now = clock.now()
    for event in rows:
        if event.type == "deal.created":
            stage, at = event.payload["stage"], datetime.fromisoformat(event.payload["stage_entered_at"])
        else:
            stage, at = event.payload["to"], datetime.fromisoformat(event.payload["at"])
        if visits:
            last = visits[-1]
            last.left_at, last.seconds = at, (at - last.entered_at).total_seconds()
        visits.append(StageVisit(stage=stage, entered_at=at, left_at=None, seconds=(now - at).total_seconds()))
    return StageHistory(deal_id=deal.public_id, visits=visits)


async def forget_contact(session: AsyncSession, ws_id: uuid.UUID, contact_id: uuid.UUID) -> None:
    """Unlink a deleted contact from its deals (the deals stay)."""
    await session.execute(
        update(Deal).where(Deal.workspace_id == ws_id, Deal.contact_id == contact_id).values(contact_id=None)
    )
