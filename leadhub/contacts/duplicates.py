"""Finding duplicates: candidates of one contact, candidate pairs across a workspace, "not a duplicate"
marks, the workspace's thresholds, and the opt-in report / auto-merge on ingest."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.contacts import dedupe, match_index, merge
from leadhub.contacts import service as contacts
from leadhub.contacts.dedupe_models import (
    DEFAULT_AUTO_MERGE_THRESHOLD,
    DEFAULT_THRESHOLD,
    DedupeSettings,
    MatchKey,
    NotDuplicate,
)
from leadhub.contacts.models import Contact
from leadhub.core import clock
from leadhub.core.errors import FieldError, Invalid
from leadhub.core.pagination import Page, PageRequest, decode_cursor, encode_cursor
from leadhub.events import service as events

SUSPECTED = "contact.duplicates_suspected"
NOT_DUPLICATE = "contact.not_duplicate"
_CHUNK = 500  # ids per IN (...) list


@dataclass
class Candidate:
    contact: Contact
    comparison: dedupe.Comparison


@dataclass
class Pair:
    a: Contact
    b: Contact
    comparison: dedupe.Comparison


@dataclass
class SettingsChange:
    threshold: float | None = None
    report_on_ingest: bool | None = None
    auto_merge: bool | None = None
    auto_merge_threshold: float | None = None


# ---------------------------------------------------------------- settings


async def settings_of(session: AsyncSession, workspace_id: uuid.UUID) -> DedupeSettings:
    """The workspace's settings (defaults when it never set any)."""
    stored = await session.get(DedupeSettings, workspace_id)
    return stored or DedupeSettings(
        workspace_id=workspace_id,
        threshold=DEFAULT_THRESHOLD,
        report_on_ingest=False,
        auto_merge=False,
        auto_merge_threshold=DEFAULT_AUTO_MERGE_THRESHOLD,
        updated_at=clock.now(),
    )


async def update_settings(session: AsyncSession, ws: Workspace, change: SettingsChange) -> DedupeSettings:
    """Change the given settings; the auto-merge threshold may not be below the candidate threshold."""
    stored = await session.get(DedupeSettings, ws.id)
    current = stored or await settings_of(session, ws.id)
    for name in ("threshold", "report_on_ingest", "auto_merge", "auto_merge_threshold"):
        value = getattr(change, name)
        if value is not None:
            setattr(current, name, value)
    if current.auto_merge_threshold < current.threshold:
        raise Invalid(
            [FieldError("auto_merge_threshold", "minimum", "must be at least the candidate threshold", "number")]
        )
    current.updated_at = clock.now()
    if stored is None:
        session.add(current)
    await session.flush()
    return current


# ---------------------------------------------------------------- candidates


async def _load_many(session: AsyncSession, workspace_id: uuid.UUID, keys: set[uuid.UUID]) -> list[Contact]:
    found: list[Contact] = []
    ordered = sorted(keys)
    for start in range(0, len(ordered), _CHUNK):
        stmt = select(Contact).where(
            Contact.workspace_id == workspace_id, Contact.id.in_(ordered[start : start + _CHUNK])
        )
        found.extend((await session.scalars(stmt)).all())
    return found


async def _dismissed(
    session: AsyncSession, workspace_id: uuid.UUID, keys: list[uuid.UUID]
) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """The "not a duplicate" pairs (ordered) involving any of ``keys``."""
    pairs: set[tuple[uuid.UUID, uuid.UUID]] = set()
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        for column in (NotDuplicate.contact_a, NotDuplicate.contact_b):
            rows = await session.execute(
                select(NotDuplicate.contact_a, NotDuplicate.contact_b).where(
                    NotDuplicate.workspace_id == workspace_id, column.in_(chunk)
                )
            )
            pairs.update((a, b) for a, b in rows)
    return pairs


async def candidates_for(
    session: AsyncSession, ws: Workspace, contact: Contact, threshold: float | None = None, limit: int = 20
) -> list[Candidate]:
    """Contacts of the workspace that are likely the same person as ``contact``, best first."""
    if threshold is None:
        threshold = (await settings_of(session, ws.id)).threshold
    mine = match_index.profile_of(contact)
    keys = dedupe.blocking_keys(mine)
    members = await match_index.sharing_a_key(session, ws.id, keys)
    others = {o for block in members.values() for o in block} - {contact.id}
    if not others:
        return []
    dismissed = await _dismissed(session, ws.id, [contact.id])
    others = {o for o in others if dedupe.ordered_pair(contact.id, o) not in dismissed}
    scored: dict[uuid.UUID, dedupe.Comparison] = {}
    name_keys = dedupe.name_keys(keys)
    for other, theirs in (await match_index.profiles(session, ws.id, others)).items():
        namesakes = match_index.namesakes(members, name_keys, contact.id, other)
        comparison = dedupe.compare(mine, theirs, namesakes)
        if comparison.score >= threshold:
            scored[other] = comparison
    found = [Candidate(c, scored[c.id]) for c in await _load_many(session, ws.id, set(scored))]
    found.sort(key=lambda c: (-c.comparison.score, c.contact.id))
    return found[:limit]


async def duplicates_of(
    session: AsyncSession, ws: Workspace, contact_id: str, threshold: float | None = None, limit: int = 20
) -> tuple[Contact, list[Candidate]]:
    contact = await contacts.get(session, ws, contact_id)
    return contact, await candidates_for(session, ws, contact, threshold, limit)


async def workspace_pairs(
    session: AsyncSession, ws: Workspace, page: PageRequest, threshold: float | None = None
) -> Page[Pair]:
    """Candidate pairs among ``page.limit`` contacts of the workspace (walked in id order), each pair once.
    A page may hold no pair while ``has_more`` is true: the walk goes on from its cursor."""
    if threshold is None:
        threshold = (await settings_of(session, ws.id)).threshold
    after = decode_cursor(page.cursor, "duplicates")
    stmt = select(Contact).where(Contact.workspace_id == ws.id)
    if after is not None:
        try:
            stmt = stmt.where(Contact.id > uuid.UUID(str(after[0])))
        except (ValueError, IndexError):
            raise Invalid([FieldError("cursor", "cursor", "is not a cursor of this listing", "string")]) from None
    rows = list((await session.scalars(stmt.order_by(Contact.id).limit(page.limit + 1))).all())
    has_more = len(rows) > page.limit
    batch = rows[: page.limit]
    profiles = {c.id: match_index.profile_of(c) for c in batch}
    keys_of = {c.id: dedupe.blocking_keys(profiles[c.id]) for c in batch}
    all_keys = sorted({k for keys in keys_of.values() for k in keys})
    members: dict[str, list[uuid.UUID]] = {}
    for start in range(0, len(all_keys), _CHUNK):
        result = await session.execute(
            select(MatchKey.key, MatchKey.contact_id).where(
                MatchKey.workspace_id == ws.id, MatchKey.key.in_(all_keys[start : start + _CHUNK])
            )
        )
        for key, member in result:
            members.setdefault(key, []).append(member)
    wanted: dict[uuid.UUID, set[uuid.UUID]] = {}
    for key in members:
        members[key] = sorted(members[key], reverse=True)[: match_index.BLOCK_CAP]
    for c in batch:
        near: set[uuid.UUID] = set()
        for key in keys_of[c.id]:
            near.update(members.get(key, []))
        wanted[c.id] = {o for o in near if o > c.id}  # each pair once, from its smaller id
    loaded = {c.id: c for c in batch}
    missing = {o for near in wanted.values() for o in near} - set(loaded)
    loaded.update({c.id: c for c in await _load_many(session, ws.id, missing)})
    dismissed = await _dismissed(session, ws.id, [c.id for c in batch])
    pairs: list[Pair] = []
    for c in batch:
        for other in sorted(wanted[c.id]):
            if other not in loaded or (c.id, other) in dismissed:
                continue
            if other not in profiles:
                profiles[other] = match_index.profile_of(loaded[other])
            namesakes = match_index.namesakes(members, dedupe.name_keys(keys_of[c.id]), c.id, other)
            comparison = dedupe.compare(profiles[c.id], profiles[other], namesakes)
            if comparison.score >= threshold:
                pairs.append(Pair(c, loaded[other], comparison))
    cursor = encode_cursor("duplicates", [str(batch[-1].id)]) if has_more and batch else None
    return Page(items=pairs, next_cursor=cursor, has_more=has_more)


# ---------------------------------------------------------------- "not a duplicate"


async def mark_not_duplicate(
    session: AsyncSession, ws: Workspace, actor: Actor, contact_id: str, other_id: str
) -> tuple[Contact, Contact]:
    """Record that two contacts are different people: the pair is never proposed again."""
    contact = await contacts.get(session, ws, contact_id)
    other = await contacts.get(session, ws, other_id)
    if contact.id == other.id:
        raise Invalid([FieldError("contact_id", "other", "must be another contact", "string")])
    a, b = dedupe.ordered_pair(contact.id, other.id)
    if await session.get(NotDuplicate, (ws.id, a, b)) is None:
        session.add(
            NotDuplicate(workspace_id=ws.id, contact_a=a, contact_b=b, marked_by=actor.id, created_at=clock.now())
        )
        await session.flush()
        events.record(
            session,
            ws.id,
            actor,
            NOT_DUPLICATE,
            resource_type="contact",
            resource_id=contact.id,
            contact_id=contact.id,
            payload={"contact_id": contact.public_id, "other_id": other.public_id, "not_duplicate": True},
        )
    return contact, other


async def unmark_not_duplicate(
    session: AsyncSession, ws: Workspace, actor: Actor, contact_id: str, other_id: str
) -> None:
    """Forget a "not a duplicate" mark (the pair may be proposed again)."""
    contact = await contacts.get(session, ws, contact_id)
    other = await contacts.get(session, ws, other_id)
    a, b = dedupe.ordered_pair(contact.id, other.id)
    result = await session.execute(
        delete(NotDuplicate).where(
            NotDuplicate.workspace_id == ws.id, NotDuplicate.contact_a == a, NotDuplicate.contact_b == b
        )
    )
    if getattr(result, "rowcount", 0):
        events.record(
            session,
            ws.id,
            actor,
            NOT_DUPLICATE,
            resource_type="contact",
            resource_id=contact.id,
            contact_id=contact.id,
            payload={"contact_id": contact.public_id, "other_id": other.public_id, "not_duplicate": False},
        )


# ---------------------------------------------------------------- on ingest


async def after_ingest(session: AsyncSession, ws: Workspace, actor: Actor, contact: Contact) -> Contact:
    """For a contact just created or upserted: with the workspace's opt-in auto-merge, merge candidates at
    or above the auto-merge threshold (the oldest contact survives); with the opt-in report, record a
    ``contact.duplicates_suspected`` event naming the remaining candidates. Returns the contact to answer."""
    settings = await settings_of(session, ws.id)
    if not (settings.auto_merge or settings.report_on_ingest):
        return contact
    found = await candidates_for(session, ws, contact, settings.threshold)
    if settings.auto_merge:
        sure = [c for c in found if c.comparison.score >= settings.auto_merge_threshold]
        if sure:
            group = [contact, *(c.contact for c in sure)]
            survivor = min(group, key=lambda c: (c.created_at, c.id))
            origin = {
                "rule": "auto_merge",
                "threshold": settings.auto_merge_threshold,
                "trigger": contact.public_id,
                "matches": [
                    {
                        "id": c.contact.public_id,
                        "score": c.comparison.score,
                        "reasons": dedupe.reasons_json(c.comparison.reasons),
                    }
                    for c in sure
                ],
            }
            result = await merge.merge(
                session,
                ws,
                actor,
                survivor.public_id,
                [c.public_id for c in group if c is not survivor],
                origin=origin,
            )
            contact = result.contact
            merged_away = {c.contact.id for c in sure}
            found = [c for c in found if c.contact.id not in merged_away]
    if settings.report_on_ingest and found:
        events.record(
            session,
            ws.id,
            actor,
            SUSPECTED,
            resource_type="contact",
            resource_id=contact.id,
            contact_id=contact.id,
            payload={
                "contact_id": contact.public_id,
                "threshold": settings.threshold,
                "candidates": [
                    {
                        "id": c.contact.public_id,
                        "score": c.comparison.score,
                        "reasons": dedupe.reasons_json(c.comparison.reasons),
                    }
                    for c in found
                ],
            },
        )
    return contact
