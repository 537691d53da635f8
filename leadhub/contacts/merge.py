"""Merging contacts into one survivor, in one transaction, losing nothing.

- Emails, phones and tags are unioned; custom fields, consent and DND channels are unioned key by key;
  other fields take the caller's choice (``winners``: field → the contact whose value wins), else the newest
  non-empty value (by the contacts' ``updated_at``). Notes are concatenated; DND stays on if any had it.
- Every row of any table that points at an absorbed contact (a ``contact_id`` column next to ``workspace_id``,
  or any foreign key to ``contacts``) is re-pointed to the survivor, events included, so deals, tasks and
  campaign memberships built later are covered without this module knowing them. A re-pointed row that
  would break a unique key (the survivor already has its twin, e.g. one membership per campaign and contact)
  is deleted and kept, column by column, in the ``contact.merged`` event under ``dropped``.
- Absorbed ids redirect to the survivor (``contact_redirects``), so every door keeps resolving them.
- Idempotent: ids that already live in the survivor are skipped. Concurrent merges of overlapping sets lock
  their contacts in id order (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite serializes writers) and follow
  the redirects a merge that committed first left behind.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Column, ColumnElement, CursorResult, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.contacts import match_index
from leadhub.contacts import service as contacts
from leadhub.contacts.dedupe_models import ContactRedirect, NotDuplicate
from leadhub.contacts.models import Contact, ContactEmail, ContactPhone, ContactTag
from leadhub.core import clock, ids
from leadhub.core.errors import Conflict, FieldError, Invalid, NotFound
from leadhub.db.models import metadata
from leadhub.events import service as events

MAX_ABSORB = 50
MERGED = "contact.merged"
_LOCK_ROUNDS = 10
_NAME = ("first_name", "middle_name", "last_name", "name")
_ADDRESS = tuple(f"address_{a}" for a in ("line1", "line2", "city", "state", "postal_code", "country"))
_CONCATENATED = ("notes", "user_knowledge")
# Columns merged by their own rule below; every other column of contacts takes the newest non-empty value.
_OWN_RULES = {
    "workspace_id",
    "id",
    "created_at",
    "updated_at",
    "search_text",
    "custom_fields",
    "dnd_settings",
    "consent",
    "dnd",
    "is_test",
    "first_seen",
    "last_seen",
    "session_count",
    *_NAME,
    *_ADDRESS,
    *_CONCATENATED,
}
# Tables the merge handles itself instead of re-pointing blindly.
_SPECIAL_TABLES = {
    "contacts",
    "contact_emails",
    "contact_phones",
    "contact_tags",
    "contact_match_keys",
    "contact_not_duplicates",
    "contact_redirects",
}


@dataclass
class MergeResult:
    contact: Contact
    merged: list[str] = field(default_factory=list)  # ids absorbed by this call
    already: list[str] = field(default_factory=list)  # ids that already lived in the survivor


def choosable_fields() -> set[str]:
    """Field names ``winners`` accepts (besides ``custom_fields.<key>``)."""
    generic = {c.name for c in Contact.__table__.columns if c.name not in _OWN_RULES}
    return generic | {"name", "address", "dnd", "is_test", "primary_email", "primary_phone", *_CONCATENATED}


def _key(value: str, path: str) -> uuid.UUID:
    try:
        return ids.decode(ids.CONTACT, value)
    except ids.InvalidId:
        raise NotFound("contact", f"{path}: contact not found") from None


def _check_winner_names(winners: dict[str, str]) -> None:
    allowed = choosable_fields()
    errors = [
        FieldError(f"winners.{name}", "enum", "is not a field that can be chosen", "string")
        for name in winners
        if name not in allowed and not (name.startswith("custom_fields.") and len(name) > len("custom_fields."))
    ]
    if errors:
        raise Invalid(errors)


async def _resolve(session: AsyncSession, workspace_id: uuid.UUID, key: uuid.UUID) -> uuid.UUID | None:
    live = await session.scalar(select(Contact.id).where(Contact.workspace_id == workspace_id, Contact.id == key))
    return live if live is not None else await match_index.survivor_of(session, workspace_id, key)


async def _lock(session: AsyncSession, workspace_id: uuid.UUID, wanted: dict[str, uuid.UUID]) -> dict[str, uuid.UUID]:
    """Lock the live contacts the given ids resolve to, all in one statement in id order; returns each given
    id's live contact. When one vanished while we waited (a merge that committed first absorbed it), the
    round is rolled back to its savepoint, releasing its locks, and resolved afresh: locks are never taken
    out of order, so overlapping merges wait for each other instead of deadlocking."""
    for _ in range(_LOCK_ROUNDS):
        resolved: dict[str, uuid.UUID] = {}
        for given, key in wanted.items():
            live = await _resolve(session, workspace_id, key)
            if live is None:
                raise NotFound("contact", f"{given}: contact not found")
            resolved[given] = live
        targets = set(resolved.values())
        savepoint = await session.begin_nested()
        stmt = (
            select(Contact.id)
            .where(Contact.workspace_id == workspace_id, Contact.id.in_(targets))
            .order_by(Contact.id)
            .with_for_update()
        )
        if set((await session.scalars(stmt)).all()) == targets:
            await savepoint.commit()
            return resolved
        await savepoint.rollback()
    raise Conflict("absorb", "", "The contacts kept changing under concurrent merges; retry")


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class _Merger:
    """The field-by-field decisions for one merge, with the provenance the event reports."""

    def __init__(self, survivor: Contact, absorbed: list[Contact], winners: dict[str, Contact]) -> None:
        self.survivor = survivor
        self.members = [survivor, *absorbed]
        # Newest first; sorted() is stable, so on equal timestamps the survivor comes first.
        self.newest = sorted(self.members, key=lambda c: c.updated_at, reverse=True)
        self.winners = winners
        self.values: dict[str, Any] = {}
        self.provenance: list[dict[str, Any]] = []

    def _note(self, name: str, chosen: Contact | None, rule: str, values: dict[str, Any]) -> None:
        distinct = {repr(v) for v in values.values() if not _empty(v)}
        if len(distinct) > 1 or (chosen is not None and chosen is not self.survivor and distinct):
            self.provenance.append(
                {
                    "field": name,
                    "rule": rule,
                    "from": chosen.public_id if chosen is not None else None,
                    "values": {pid: _jsonable(v) for pid, v in values.items() if not _empty(v)},
                }
            )

    def _pick(self, name: str, value_of: Any) -> Contact:
        if name in self.winners:
            return self.winners[name]
        return next((c for c in self.newest if not _empty(value_of(c))), self.survivor)

    def group(self, name: str, columns: tuple[str, ...]) -> None:
        def value_of(c: Contact) -> Any:
            if all(_empty(getattr(c, col)) for col in columns):
                return None
            if len(columns) == 1:
                return getattr(c, columns[0])
            return {col: getattr(c, col) for col in columns}

        chosen = self._pick(name, value_of)
        for col in columns:
            self.values[col] = getattr(chosen, col)
        rule = "caller" if name in self.winners else "newest_non_empty"
        self._note(name, chosen, rule, {c.public_id: value_of(c) for c in self.members})

    def scalar(self, name: str) -> None:
        self.group(name, (name,))

    def concatenated(self, name: str) -> None:
        if name in self.winners:
            self.scalar(name)
            return
        texts = list(dict.fromkeys(getattr(c, name) for c in self.members if not _empty(getattr(c, name))))
        self.values[name] = "\n\n".join(texts) if texts else None
        self._note(name, None, "concatenated", {c.public_id: getattr(c, name) for c in self.members})

    def flags(self) -> None:
        for name, combine, rule in (("dnd", any, "any_on"), ("is_test", all, "all_on")):
            if name in self.winners:
                self.scalar(name)
                continue
            self.values[name] = combine(getattr(c, name) for c in self.members)
            self._note(name, None, rule, {c.public_id: getattr(c, name) for c in self.members})

    def activity(self) -> None:
        firsts = [c.first_seen for c in self.members if c.first_seen]
        lasts = [c.last_seen for c in self.members if c.last_seen]
        self.values["first_seen"] = min(firsts) if firsts else None
        self.values["last_seen"] = max(lasts) if lasts else None
        self.values["session_count"] = sum(c.session_count for c in self.members)

    def objects(self) -> None:
        custom: dict[str, Any] = {}
        for key in dict.fromkeys(k for c in self.members for k in c.custom_fields):
            name = f"custom_fields.{key}"
            chosen = self._pick(name, lambda c, key=key: c.custom_fields.get(key))
            if key in chosen.custom_fields:
                custom[key] = chosen.custom_fields[key]
            rule = "caller" if name in self.winners else "newest_non_empty"
            self._note(name, chosen, rule, {c.public_id: c.custom_fields.get(key) for c in self.members})
        self.values["custom_fields"] = custom
        settings: dict[str, Any] = {}
        for c in reversed(self.newest):  # oldest first, so the newest contact's channel setting wins
            settings.update(c.dnd_settings)
        self.values["dnd_settings"] = settings
        consent: dict[str, Any] = {}
        for purpose in dict.fromkeys(p for c in self.members for p in c.consent):
            entries = [
                (c.consent[purpose].get("recorded_at") or "", rank, c)
                for rank, c in enumerate(self.newest)
                if purpose in c.consent
            ]
            # The latest recorded decision wins; without timestamps, the newest contact's.
            latest = max(entries, key=lambda e: (e[0], -e[1]))
            consent[purpose] = latest[2].consent[purpose]
            self._note(
                f"consent.{purpose}",
                latest[2],
                "latest_recorded",
                {c.public_id: c.consent.get(purpose) for c in self.members},
            )
        self.values["consent"] = consent

    def decide(self) -> None:
        self.group("name", _NAME)
        self.group("address", _ADDRESS)
        for column in Contact.__table__.columns:
            if column.name not in _OWN_RULES:
                self.scalar(column.name)
        for name in _CONCATENATED:
            self.concatenated(name)
        self.flags()
        self.activity()
        self.objects()

    def primary(self, name: str, values: dict[str, list[tuple[str, bool]]]) -> str | None:
        """The address or number that stays primary: the chosen contact's, else the survivor's, else the
        newest contact's that has one."""
        order = [self.winners[name]] if name in self.winners else [self.survivor, *self.newest]
        for c in order:
            found = next((v for v, is_primary in values[c.public_id] if is_primary), None)
            if found:
                return found
        return None


def _references() -> list[tuple[Table, Column[Any]]]:
    """Every (table, column) outside this module's care that points at a contact."""
    found: list[tuple[Table, Column[Any]]] = []
    for table in metadata.sorted_tables:
        if table.name in _SPECIAL_TABLES:
            continue
        columns: dict[str, Column[Any]] = {}
        for fk in table.foreign_key_constraints:
            if fk.referred_table.name == "contacts":
                for element in fk.elements:
                    if element.column.name == "id":
                        columns[element.parent.name] = element.parent
        if "contact_id" in table.c and "workspace_id" in table.c:
            columns["contact_id"] = table.c.contact_id
        found.extend((table, columns[name]) for name in sorted(columns))
    return found


async def _repoint(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    survivor: uuid.UUID,
    absorbed: list[uuid.UUID],
    references: list[tuple[Table, Column[Any]]] | None = None,
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Re-point every reference to an absorbed contact; returns counts per table.column and dropped rows."""
    counts: dict[str, int] = {}
    dropped: list[dict[str, Any]] = []
    for table, column in _references() if references is None else references:
        where: list[ColumnElement[bool]] = [column.in_(absorbed)]
        if "workspace_id" in table.c:
            where.append(table.c.workspace_id == workspace_id)
        label = f"{table.name}.{column.name}"
        try:
            async with session.begin_nested():
                result = cast(
                    CursorResult[Any],
                    await session.execute(update(table).where(*where).values({column.name: survivor})),
                )
                moved = result.rowcount
        except IntegrityError:
            # A unique key clashed: go row by row, keep what fits, and drop (but report) the survivor's twins.
            moved = 0
            keys = list(table.primary_key.columns)
            rows = (await session.execute(select(table).where(*where))).mappings().all()
            for row in rows:
                this_row = [k == row[k.name] for k in keys]
                try:
                    async with session.begin_nested():
                        await session.execute(update(table).where(*this_row).values({column.name: survivor}))
                    moved += 1
                except IntegrityError:
                    await session.execute(delete(table).where(*this_row))
                    dropped.append({"table": table.name, "row": {k: _jsonable(v) for k, v in row.items()}})
        if moved:
            counts[label] = moved
    return counts, dropped


async def _move_identities(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    survivor: uuid.UUID,
    merger: _Merger,
) -> None:
    """Union emails, phones and tags onto the survivor, survivor's first, one primary each."""
    for model, value_column, attr, value_attr, name in (
        (ContactEmail, ContactEmail.address, "emails", "address", "primary_email"),
        (ContactPhone, ContactPhone.number, "phones", "number", "primary_phone"),
    ):
        values = {
            c.public_id: [(getattr(row, value_attr), row.is_primary) for row in getattr(c, attr)]
            for c in merger.members
        }
        primary = merger.primary(name, values)
        ordered = list(dict.fromkeys(v for c in merger.members for v, _ in values[c.public_id]))
        for position, value in enumerate(ordered):
            await session.execute(
                update(model)
                .where(model.workspace_id == workspace_id, value_column == value)
                .values(contact_id=survivor, position=position, is_primary=value == primary)
            )
    tags = list(dict.fromkeys(t for c in merger.members for t in c.tags))
    member_ids = [c.id for c in merger.members]
    await session.execute(
        delete(ContactTag).where(ContactTag.workspace_id == workspace_id, ContactTag.contact_id.in_(member_ids))
    )
    if tags:
        await session.execute(
            insert(ContactTag),
            [
                {"workspace_id": workspace_id, "contact_id": survivor, "tag": t, "position": i}
                for i, t in enumerate(tags)
            ],
        )


async def _move_pairs_and_redirects(
    session: AsyncSession, workspace_id: uuid.UUID, survivor: uuid.UUID, absorbed: list[uuid.UUID]
) -> None:
    """ "Not a duplicate" marks carry over to the survivor; old redirects to an absorbed id now point at
    the survivor (chains stay one hop); each absorbed id redirects to the survivor."""
    pairs = (
        await session.execute(
            select(
                NotDuplicate.contact_a, NotDuplicate.contact_b, NotDuplicate.marked_by, NotDuplicate.created_at
            ).where(
                NotDuplicate.workspace_id == workspace_id,
                NotDuplicate.contact_a.in_(absorbed) | NotDuplicate.contact_b.in_(absorbed),
            )
        )
    ).all()
    if pairs:
        await session.execute(
            delete(NotDuplicate).where(
                NotDuplicate.workspace_id == workspace_id,
                NotDuplicate.contact_a.in_(absorbed) | NotDuplicate.contact_b.in_(absorbed),
            )
        )
        moved: dict[tuple[uuid.UUID, uuid.UUID], tuple[str | None, datetime]] = {}
        for a, b, marked_by, created_at in pairs:
            a, b = (survivor if a in absorbed else a), (survivor if b in absorbed else b)
            if a != b:
                moved.setdefault((min(a, b), max(a, b)), (marked_by, created_at))
        existing = {
            (a, b)
            for a, b in await session.execute(
                select(NotDuplicate.contact_a, NotDuplicate.contact_b).where(
                    NotDuplicate.workspace_id == workspace_id,
                    (NotDuplicate.contact_a == survivor) | (NotDuplicate.contact_b == survivor),
                )
            )
        }
        rows = [
            {"workspace_id": workspace_id, "contact_a": a, "contact_b": b, "marked_by": by, "created_at": at}
            for (a, b), (by, at) in moved.items()
            if (a, b) not in existing
        ]
        if rows:
            await session.execute(insert(NotDuplicate), rows)
    await session.execute(
        update(ContactRedirect)
        .where(ContactRedirect.workspace_id == workspace_id, ContactRedirect.survivor_id.in_(absorbed))
        .values(survivor_id=survivor)
    )
    now = clock.now()
    await session.execute(
        insert(ContactRedirect),
        [{"workspace_id": workspace_id, "absorbed_id": a, "survivor_id": survivor, "merged_at": now} for a in absorbed],
    )


async def merge(
    session: AsyncSession,
    ws: Workspace,
    actor: Actor,
    survivor_id: str,
    absorb: list[str],
    winners: dict[str, str] | None = None,
    origin: dict[str, Any] | None = None,
) -> MergeResult:
    """Merge the ``absorb`` contacts into ``survivor_id`` (see the module docstring)."""
    winners = winners or {}
    if not absorb or len(absorb) > MAX_ABSORB:
        raise Invalid([FieldError("absorb", "length", f"give 1 to {MAX_ABSORB} contact ids", "array")])
    _check_winner_names(winners)
    wanted = {survivor_id: _key(survivor_id, "contact_id")}
    for i, given in enumerate(absorb):
        wanted.setdefault(given, _key(given, f"absorb[{i}]"))
    for name, given in winners.items():
        wanted.setdefault(given, _key(given, f"winners.{name}"))
    resolved = await _lock(session, ws.id, wanted)
    survivor_key = resolved[survivor_id]
    targets = sorted({resolved[a] for a in absorb} - {survivor_key})
    already = [a for a in absorb if resolved[a] == survivor_key]
    members = {survivor_key, *targets}
    chosen: dict[str, uuid.UUID] = {}
    for name, given in winners.items():
        if resolved[given] not in members:
            raise Invalid([FieldError(f"winners.{name}", "member", "must be the survivor or an absorbed contact")])
        chosen[name] = resolved[given]

    survivor = await contacts.get(session, ws, ids.encode(ids.CONTACT, survivor_key))
    if not targets:
        return MergeResult(survivor, [], already)
    absorbed = [await contacts.get(session, ws, ids.encode(ids.CONTACT, k)) for k in targets]
    by_key = {c.id: c for c in [survivor, *absorbed]}
    merger = _Merger(survivor, absorbed, {name: by_key[key] for name, key in chosen.items()})
    merger.decide()
    before = contacts.snapshot(survivor)
    absorbed_out = [{"id": c.public_id, "contact": contacts.snapshot(c)} for c in absorbed]

    # From here on rows move under the ORM's feet: forget the loaded objects (their cascades must not run).
    for c in [survivor, *absorbed]:
        session.expunge(c)
    await _move_identities(session, ws.id, survivor_key, merger)
    counts, dropped = await _repoint(session, ws.id, survivor_key, targets)
    await _move_pairs_and_redirects(session, ws.id, survivor_key, targets)
    # Events of this transaction not yet written (e.g. the contact.created of an auto-merged newcomer).
    for pending in events._pending(session):
        if pending.workspace_id == ws.id and pending.contact_id in targets:
            pending.contact_id = survivor_key
    await session.execute(delete(Contact).where(Contact.workspace_id == ws.id, Contact.id.in_(targets)))

    merged = await contacts.get(session, ws, ids.encode(ids.CONTACT, survivor_key))
    for name, value in merger.values.items():
        setattr(merged, name, value)
    merged.search_text = contacts._search_text(merged)
    merged.updated_at = clock.now()
    await session.flush()
    await match_index.refresh_keys(session, merged)
    after = contacts.snapshot(merged)
    events.record(
        session,
        ws.id,
        actor,
        MERGED,
        resource_type="contact",
        resource_id=survivor_key,
        contact_id=survivor_key,
        payload={
            "survivor": after,
            "absorbed": absorbed_out,
            "fields": merger.provenance,
            "repointed": counts,
            "dropped": dropped,
            "origin": origin or {"rule": "request"},
        },
        changes=events.changes(before, after),
    )
    return MergeResult(merged, [c.public_id for c in absorbed], already)
