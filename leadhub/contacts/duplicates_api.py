"""Native /v1 routes for duplicates: candidates of a contact and of the workspace, merge, "not a duplicate"
marks, and the workspace's dedupe settings. Parse → one service call → render."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.responses import Response

from leadhub.contacts import dedupe, duplicates, merge
from leadhub.contacts import service as contacts
from leadhub.contacts.dedupe_models import DedupeSettings
from leadhub.contacts.schemas import ContactOut
from leadhub.core.pagination import PageRequest
from leadhub.http.context import Ctx, ctx_for, serialize
from leadhub.http.openapi import ERRORS

router = APIRouter(tags=["duplicates"], responses=ERRORS)
read = ctx_for("contacts.read")
write = ctx_for("contacts.write")
admin = ctx_for("admin")

ContactId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Threshold = Annotated[
    float | None, Query(ge=0, le=1, description="Minimum score (0..1); default: the workspace's threshold")
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReasonOut(BaseModel):
    field: str
    rule: str
    detail: str
    points: float


class CandidateOut(BaseModel):
    contact: ContactOut
    score: float
    reasons: list[ReasonOut]


class CandidateList(BaseModel):
    contact_id: str
    threshold: float
    data: list[CandidateOut]


class PairOut(BaseModel):
    contact_ids: list[str]
    score: float
    reasons: list[ReasonOut]
    contacts: list[ContactOut]


class PairList(BaseModel):
    threshold: float
    data: list[PairOut]
    next_cursor: str | None
    has_more: bool


class MergeIn(_In):
    absorb: Annotated[list[ContactId], Field(min_length=1, max_length=merge.MAX_ABSORB)]
    winners: Annotated[
        dict[Annotated[str, StringConstraints(max_length=200)], ContactId] | None,
        Field(
            max_length=100,
            description='Field → id of the contact whose value wins (e.g. `{"title": "con_…"}`, '
            "`custom_fields.<key>`, `name`, `address`, `primary_email`); default: the newest non-empty value",
        ),
    ] = None


class MergeOut(BaseModel):
    contact: ContactOut
    merged: list[str]
    already_merged: list[str]


class NotDuplicateIn(_In):
    other_id: ContactId


class NotDuplicateOut(BaseModel):
    contact_ids: list[str]
    not_duplicate: bool


class SettingsIn(_In):
    threshold: Annotated[float | None, Field(ge=0.5, le=1)] = None
    report_on_ingest: bool | None = None
    auto_merge: bool | None = None
    auto_merge_threshold: Annotated[float | None, Field(ge=0.5, le=1)] = None


class SettingsOut(BaseModel):
    threshold: float
    report_on_ingest: bool
    auto_merge: bool
    auto_merge_threshold: float
    updated_at: datetime


def _json(content: Any, status: int = 200) -> Response:
    return Response(serialize(content), status_code=status, media_type="application/json")


def _reasons(comparison: dedupe.Comparison) -> list[ReasonOut]:
    return [ReasonOut(**r.as_dict()) for r in comparison.reasons]


def _settings_out(s: DedupeSettings) -> SettingsOut:
    return SettingsOut(
        threshold=s.threshold,
        report_on_ingest=s.report_on_ingest,
        auto_merge=s.auto_merge,
        auto_merge_threshold=s.auto_merge_threshold,
        updated_at=s.updated_at,
    )


@router.get(
    "/v1/contacts/{contact_id}/duplicates", response_model=CandidateList, summary="Likely duplicates of a contact"
)
async def contact_duplicates(
    contact_id: str,
    ctx: Ctx = Depends(read),
    threshold: Threshold = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """Contacts scoring at least the threshold against this one, best first, each with its reasons field
    by field. Pairs marked "not a duplicate" are never proposed."""
    async with ctx.read() as session:
        used = (
            threshold if threshold is not None else (await duplicates.settings_of(session, ctx.workspace.id)).threshold
        )
        contact, found = await duplicates.duplicates_of(session, ctx.workspace, contact_id, used, limit)
        return _json(
            CandidateList(
                contact_id=contact.public_id,
                threshold=used,
                data=[
                    CandidateOut(
                        contact=contacts.to_out(c.contact), score=c.comparison.score, reasons=_reasons(c.comparison)
                    )
                    for c in found
                ],
            )
        )


@router.get("/v1/duplicates", response_model=PairList, summary="Candidate duplicate pairs of the workspace")
async def workspace_duplicates(
    ctx: Ctx = Depends(read),
    threshold: Threshold = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Contacts examined per page")] = 200,
    cursor: Annotated[str | None, Query(max_length=500, description="`next_cursor` of the previous page")] = None,
) -> Response:
    """Walks the workspace's contacts in id order, `limit` per page, and answers the candidate pairs found
    among them (each pair once). A page may hold no pair while `has_more` is true: follow `next_cursor`."""
    async with ctx.read() as session:
        used = (
            threshold if threshold is not None else (await duplicates.settings_of(session, ctx.workspace.id)).threshold
        )
        page = await duplicates.workspace_pairs(session, ctx.workspace, PageRequest(limit, cursor), used)
        return _json(
            PairList(
                threshold=used,
                data=[
                    PairOut(
                        contact_ids=[p.a.public_id, p.b.public_id],
                        score=p.comparison.score,
                        reasons=_reasons(p.comparison),
                        contacts=[contacts.to_out(p.a), contacts.to_out(p.b)],
                    )
                    for p in page.items
                ],
                next_cursor=page.next_cursor,
                has_more=page.has_more,
            )
        )


@router.post("/v1/contacts/{contact_id}/merge", response_model=MergeOut, summary="Merge contacts into this one")
async def merge_contacts(contact_id: str, body: MergeIn, ctx: Ctx = Depends(write)) -> Response:
    """In one transaction: unions emails, phones, tags and custom fields onto this contact, re-points
    everything that referred to the absorbed contacts, and leaves their ids redirecting here. Repeating a
    merge is harmless (`already_merged` lists ids that already lived here)."""
    async with ctx.write() as tx:
        result = await merge.merge(tx.session, ctx.workspace, ctx.actor, contact_id, body.absorb, body.winners)
        return tx.respond(
            MergeOut(contact=contacts.to_out(result.contact), merged=result.merged, already_merged=result.already)
        )


@router.post(
    "/v1/contacts/{contact_id}/not-duplicates",
    response_model=NotDuplicateOut,
    summary="Mark two contacts as different people",
)
async def mark_not_duplicate(contact_id: str, body: NotDuplicateIn, ctx: Ctx = Depends(write)) -> Response:
    """The pair is never proposed as duplicates again (marking twice is harmless)."""
    async with ctx.write() as tx:
        contact, other = await duplicates.mark_not_duplicate(
            tx.session, ctx.workspace, ctx.actor, contact_id, body.other_id
        )
        return tx.respond(NotDuplicateOut(contact_ids=[contact.public_id, other.public_id], not_duplicate=True))


@router.delete(
    "/v1/contacts/{contact_id}/not-duplicates/{other_id}",
    status_code=204,
    summary='Forget a "not a duplicate" mark',
    responses={204: {"description": "Forgotten (or there was no mark)"}},
)
async def unmark_not_duplicate(contact_id: str, other_id: str, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        await duplicates.unmark_not_duplicate(tx.session, ctx.workspace, ctx.actor, contact_id, other_id)
        return tx.respond(None, 204)


@router.get("/v1/duplicates/settings", response_model=SettingsOut, summary="The workspace's dedupe settings")
async def get_settings(ctx: Ctx = Depends(read)) -> Response:
    async with ctx.read() as session:
        return _json(_settings_out(await duplicates.settings_of(session, ctx.workspace.id)))


@router.patch("/v1/duplicates/settings", response_model=SettingsOut, summary="Change the workspace's dedupe settings")
async def patch_settings(body: SettingsIn, ctx: Ctx = Depends(admin)) -> Response:
    """Thresholds are scores in 0.5..1; `auto_merge` (opt-in) merges, on create and upsert, candidates
    scoring at least `auto_merge_threshold`, with the same `contact.merged` event as a requested merge."""
    change = duplicates.SettingsChange(**body.model_dump(exclude_unset=True))
    async with ctx.write() as tx:
        return tx.respond(_settings_out(await duplicates.update_settings(tx.session, ctx.workspace, change)))
