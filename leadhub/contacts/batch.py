"""POST /v1/contacts/batch: up to 1,000 items, each answered on its own; a failed item rolls back only itself.

One read answers every item's checks (stored owners of its emails and phones, suppressions, the companies
of its work domains, typed custom fields, the workspace's ingest dedupe). An item that is a new contact (no
stored owner of its identities in upsert mode, none shared with an earlier item, ingest dedupe off) is
prepared as plain rows by the import's preparation (``imports.fast.prepare_contact``: the rules of
``service.create``, without ORM objects) and held; held items are written together, by the import's bulk
writer, just before anything else of the batch writes or at the end. So the batch's writes, and the
``contact.created`` events queued with them, keep item order: an item that repeats an earlier one's email
finds it stored. The others take ``service.create``/``service.upsert`` one by one in a savepoint; so do the
held items when a concurrent writer took one of their identities since the read (PostgreSQL only: a SQLite
writer holds the database's write lock from its first statement).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import delete as sql_delete
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.contacts import service
from leadhub.contacts.models import Contact
from leadhub.contacts.schemas import BatchItemError, BatchItemResult, ContactIn
from leadhub.core import clock, ids
from leadhub.core.errors import Conflict, DomainError, Invalid
from leadhub.custom_fields import service as custom_fields
from leadhub.custom_fields.models import CustomFieldDefinition
from leadhub.db import statistics
from leadhub.db.engine import Database
from leadhub.events import service as events
from leadhub.imports import fast
from leadhub.privacy import suppression

Mode = Literal["create", "upsert"]
# Fewer held new contacts than this are written one by one by create's lean path, more in bulk (in-process
# CPU per call: 1 or 2 new contacts cost less alone, 4 or more less in bulk).
BULK_MIN = 3
# A batch of fewer items leaves the planner statistics to autovacuum, as single writes do.
STATISTICS_MIN_ITEMS = 100


async def batch(
    session: AsyncSession, ws: Workspace, actor: Actor, items: Sequence[ContactIn | Invalid], mode: Mode
) -> list[BatchItemResult]:
    """Each item answered on its own, in item order."""
    results: list[BatchItemResult | None] = [None] * len(items)
    writer = _Writer(session, ws, actor, mode, results)
    if any(not isinstance(item, Invalid) and item.custom_fields for item in items):
        writer.definitions = await custom_fields.definitions_by_key(session, ws.id)
    prepared: dict[int, fast.Prepared] = {}
    for index, item in enumerate(items):
        if isinstance(item, Invalid):
            results[index] = _failed(index, item)
        else:
            prepared[index] = fast.prepare_contact(writer.context, writer.definitions, index, item)
    found = await _read_batch(session, ws, items, prepared)
    writer.start(found)
    claimed: set[str] = set()  # identities (e:/p: tagged) of the items answered so far
    for index, p in prepared.items():
        item = items[index]
        assert not isinstance(item, Invalid)
        identities = {"e:" + e for e in p.emails} | {"p:" + n for n in p.phones}
        stored = any(e in found.email_owners for e in p.emails) or any(n in found.phone_owners for n in p.phones)
        if not found.dedupe_on_ingest and not (identities & claimed) and not (mode == "upsert" and stored):
            await writer.new_contact(index, item, p, found, stored)
        else:
            await writer.one_by_one(index, item)
        claimed |= identities
    await writer.flush()
    return [r for r in results if r is not None]


async def keep_statistics(db: Database, items: int) -> None:
    """Before a batch of ``items``: analyze the tables that have outgrown their statistics (PostgreSQL).
    Its foreign-key checks and reads of stored emails and phones are planned from them: planned while
    contacts was a few thousand rows, 1,000 new contacts went in at ~250/s instead of ~1,500/s. `serve`
    also looks every few seconds (``db.statistics.watch``); a big batch looks first, as its writes would
    take longer than that."""
    if items >= STATISTICS_MIN_ITEMS:
        await statistics.refresh(db)


async def _read_batch(
    session: AsyncSession, ws: Workspace, items: Sequence[ContactIn | Invalid], prepared: dict[int, fast.Prepared]
) -> service._Found:
    """What the database holds about every item's emails, phones (owners, suppressions), work domains and
    custom field keys: one statement."""
    emails: set[str] = set()
    phones: set[str] = set()
    domains: set[str] = set()
    field_keys: set[str] = set()
    for index, p in prepared.items():
        emails.update(p.emails)
        phones.update(p.phones)
        if p.domain:
            domains.add(p.domain)
        item = items[index]
        assert not isinstance(item, Invalid)
        field_keys.update(item.custom_fields or {})
    digests = [suppression.digest("email", e) for e in emails] + [suppression.digest("phone", n) for n in phones]
    return await service._read_found(
        session, ws, sorted(digests), sorted(emails), sorted(phones), sorted(domains), sorted(field_keys)
    )


class _Writer:
    """Writes a batch's items in item order: new contacts held as prepared rows until something else
    writes (or the batch ends), then written in bulk."""

    def __init__(
        self, session: AsyncSession, ws: Workspace, actor: Actor, mode: Mode, results: list[BatchItemResult | None]
    ) -> None:
        self.session, self.ws, self.actor, self.mode, self.results = session, ws, actor, mode, results
        self.held: list[tuple[int, ContactIn, fast.Prepared]] = []
        self.context = fast.Context({}, unmapped_to_custom=False, default_region=ws.default_region, definitions=())
        self.definitions: dict[str, CustomFieldDefinition] = {}
        self.companies: dict[str, Any] = {}  # work domain -> its company's key (None: no company)
        self.found = service._Found(set(), {}, {}, {}, set(), False)
        self.facts = service._Facts(set(), {}, {}, None, False, False)

    def start(self, found: service._Found) -> None:
        self.found = found
        self.companies = dict(found.companies)
        # What refusing a new contact's emails and phones needs (suppressions and owners): the batch's read.
        self.facts = service._Facts(found.suppressed, found.email_owners, found.phone_owners, None, False, False)

    async def new_contact(
        self, index: int, item: ContactIn, prepared: fast.Prepared, found: service._Found, stored: bool
    ) -> None:
        """Hold the item's prepared rows; or, when create's rules refuse it or it names a company, answer
        it as create does (its error, or the contact written alone)."""
        try:
            if prepared.kind == "new":
                if stored or found.suppressed:  # create's own check, with the paths its error names
                    plan = service._plan(self.ws, None, item, "create")
                    service._refuse_taken(self.facts, None, *service._new_identities(plan))
                domain = prepared.domain
                if domain is not None and domain not in self.companies:
                    self.companies[domain] = None  # the read found none (it looked every work domain up)
                self.held.append((index, item, prepared))
                return
            plan = service._plan(self.ws, None, item, "create")
            contact = await self._applied(item, plan, service._facts_of(found, item, plan))
        except DomainError as exc:
            self.results[index] = _failed(index, exc)
            return
        await self.flush()
        await self._write_alone(index, item, contact)

    async def one_by_one(self, index: int, item: ContactIn) -> None:
        await self.flush()
        await self._per_item(index, item)

    async def flush(self) -> None:
        """Write the held contacts in bulk and queue their events (in item order); when an identity was
        taken concurrently (nothing of them written), each takes the per-item path instead."""
        if not self.held:
            return
        held, self.held = self.held, []
        if len(held) < BULK_MIN:
            await self._write_each(held)
            return
        rows = [prepared for _, _, prepared in held]
        await fast.link_companies(self.session, self.ws.id, rows, self.companies)
        await self.session.flush()  # the bulk writer talks to the driver: the ORM's changes go first
        if not await fast.write_contacts(self.session, self.ws.id, self.actor, rows):
            for index, item, _ in held:
                await self._per_item(index, item)
            return
        for index, _, prepared in held:
            assert prepared.contact is not None and prepared.payload is not None
            key = prepared.contact["id"]
            events.record(
                self.session,
                self.ws.id,
                self.actor,
                "contact.created",
                resource_type="contact",
                resource_id=key,
                contact_id=key,
                payload=prepared.payload,
            )
            self.results[index] = _created(index, key)

    async def _write_each(self, held: list[tuple[int, ContactIn, fast.Prepared]]) -> None:
        """A few new contacts by create's lean path, each alone: for so few, the bulk writer's fixed costs
        (a savepoint, a statement per table, SQLite's search-index trigger set aside and back) cost more."""
        for index, item, _ in held:
            plan = service._plan(self.ws, None, item, "create")
            try:
                contact = await self._applied(item, plan, service._facts_of(self.found, item, plan))
            except DomainError as exc:  # not expected: the item passed create's rules when prepared
                self.results[index] = _failed(index, exc)
                continue
            await self._write_alone(index, item, contact)

    async def _write_alone(self, index: int, item: ContactIn, contact: Contact) -> None:
        """A new contact built by ``_applied``, written by create's lean path (one statement on PostgreSQL);
        the per-item path when a concurrent writer took one of its identities since the read."""
        if await service._insert_new(self.session, contact):
            service._record_created(self.session, self.ws, self.actor, contact)
            self.results[index] = _created(index, contact.id)
            return
        await self.session.execute(
            sql_delete(Contact).where(Contact.workspace_id == contact.workspace_id, Contact.id == contact.id)
        )
        await self._per_item(index, item)

    async def _applied(self, item: ContactIn, plan: service._Plan, facts: service._Facts) -> Contact:
        """The new contact as create builds it (raises its Invalid/Conflict before anything is written)."""
        now = clock.now()
        contact = Contact(workspace_id=self.ws.id, id=ids.new_uuid(), created_at=now, updated_at=now)
        await service._apply(self.session, self.ws, contact, item, "create", plan=plan, facts=facts)
        return contact

    async def _per_item(self, index: int, item: ContactIn) -> None:
        """One item by the service path, in a savepoint so that its failure rolls back only itself."""
        session = self.session
        mark = events.mark(session)
        try:
            async with session.begin_nested():
                if self.mode == "create":
                    contact, created = await service.create(session, self.ws, self.actor, item), True
                else:
                    outcome = await service.upsert(session, self.ws, self.actor, item)
                    contact, created = outcome.contact, outcome.created
        except DomainError as exc:
            events.discard_since(session, mark)
            self.results[index] = _failed(index, exc)
            return
        status: Literal["created", "updated"] = "created" if created else "updated"
        self.results[index] = BatchItemResult(index=index, status=status, id=contact.public_id)


def _created(index: int, key: uuid.UUID) -> BatchItemResult:
    return BatchItemResult(index=index, status="created", id=ids.encode(ids.CONTACT, key))


def _failed(index: int, exc: DomainError) -> BatchItemResult:
    errors = [
        {"field": e.field, "rule": e.rule, "message": e.message, "kind": e.kind} for e in getattr(exc, "errors", [])
    ]
    existing = exc.existing_id if isinstance(exc, Conflict) else None
    error = BatchItemError(code=exc.code, message=exc.detail, errors=errors, existing_id=existing)
    return BatchItemResult(index=index, status="error", error=error)
