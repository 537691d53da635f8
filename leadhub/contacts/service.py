"""Contact behaviour for every door: create, patch, upsert, delete, look-ups, listing, batch, tags.

Lists given in a patch replace the stored list; an upsert adds to them instead (a form that sends one
email must not wipe the others). Objects (custom_fields, dnd_settings, consent, address) merge key by
key; ``null`` deletes a key.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast

import asyncpg  # type: ignore[import-untyped]
import orjson
from sqlalchemy import (
    ARRAY,
    JSON,
    Select,
    String,
    Table,
    TextClause,
    Uuid,
    any_,
    bindparam,
    func,
    insert,
    literal_column,
    null,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy import cast as cast_
from sqlalchemy import delete as sql_delete
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, make_transient_to_detached

from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.companies import service as companies
from leadhub.companies.models import Company
from leadhub.contacts import match_index
from leadhub.contacts.dedupe_models import DedupeSettings

# Listing lives in its own module; these names stay importable from the service for every door.
from leadhub.contacts.listing import SORTS as SORTS
from leadhub.contacts.listing import ContactFilters as ContactFilters
from leadhub.contacts.listing import list_contacts as list_contacts
from leadhub.contacts.models import Contact, ContactEmail, ContactPhone, ContactTag
from leadhub.contacts.names import join_parts, name_from_email, split_name
from leadhub.contacts.schemas import (
    AddressOut,
    ContactIn,
    ContactOut,
    EmailOut,
    PhoneOut,
)
from leadhub.core import clock, ids
from leadhub.core.errors import Conflict, FieldError, Invalid, NotFound
from leadhub.core.validation import ValidationFailure, kind_of, normalize_email, normalize_phone
from leadhub.custom_fields import service as custom_fields
from leadhub.custom_fields.models import CustomFieldDefinition
from leadhub.db.engine import (
    CONNECTION_LOST,
    Database,
    SqliteStatement,
    connection_driver,
    driver_connection,
    drop_lost,
    positional,
)
from leadhub.deals import service as deals
from leadhub.events import service as events
from leadhub.privacy import suppression
from leadhub.privacy.models import Suppression
from leadhub.tasks import service as tasks
from leadhub.webhooks import outbox, wakeup
from leadhub.webhooks.models import PENDING, WebhookEndpoint

Mode = Literal["create", "patch", "upsert"]
T = TypeVar("T")

# Fields copied as they are from input to the row (public: the import's fast path applies the same rules).
PLAIN_FIELDS = (
    "company_name",
    "title",
    "website",
    "country",
    "timezone",
    "date_of_birth",
    "source",
    "status",
    "dnd",
    "is_test",
    "user_knowledge",
    "notes",
    "assigned_to",
    "first_seen",
    "last_seen",
    "session_count",
)
# Fields a body may omit but not send as null; a tuple, so their errors come in one order in every process.
NOT_NULL_FIELDS = (
    "status",
    "dnd",
    "is_test",
    "session_count",
    "emails",
    "phones",
    "tags",
    "custom_fields",
    "dnd_settings",
    "consent",
)
FIELD_DEFAULTS: dict[str, Any] = {"status": "new", "dnd": False, "is_test": False, "session_count": 0}
ADDRESS_PARTS = ("line1", "line2", "city", "state", "postal_code", "country")
# A concurrent insert of the same email or phone surfaces as a unique violation; re-reading then finds it.
_RACE_RETRIES = 5


@dataclass
class UpsertResult:
    contact: Contact
    created: bool


@dataclass
class _Entry:
    """One email or phone as the caller gave it: normalized value, type, primary flag, input path."""

    value: str
    type: str
    primary: bool
    path: str


def to_out(c: Contact) -> ContactOut:
    has_address = any(getattr(c, f"address_{a}") for a in ADDRESS_PARTS)
    return ContactOut(
        id=c.public_id,
        first_name=c.first_name,
        middle_name=c.middle_name,
        last_name=c.last_name,
        name=c.name,
        emails=[EmailOut(address=e.address, type=e.type, primary=e.is_primary) for e in c.emails],
        phones=[PhoneOut(number=p.number, type=p.type, primary=p.is_primary) for p in c.phones],
        company_name=c.company_name,
        company_id=ids.encode(ids.COMPANY, c.company_id) if c.company_id else None,
        title=c.title,
        website=c.website,
        address=AddressOut(**{a: getattr(c, f"address_{a}") for a in ADDRESS_PARTS}) if has_address else None,
        country=c.country,
        timezone=c.timezone,
        date_of_birth=c.date_of_birth,
        source=c.source,
        status=c.status,
        tags=c.tags,
        custom_fields=dict(c.custom_fields),
        dnd=c.dnd,
        dnd_settings=dict(c.dnd_settings),
        consent=dict(c.consent),
        is_test=c.is_test,
        user_knowledge=c.user_knowledge,
        notes=c.notes,
        assigned_to=c.assigned_to,
        first_seen=c.first_seen,
        last_seen=c.last_seen,
        session_count=c.session_count,
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


def snapshot(c: Contact) -> dict[str, Any]:
    """The contact's native JSON, as events carry it."""
    return to_out(c).model_dump(mode="json")


# ---------------------------------------------------------------- loading


def _contact_key(contact_id: str) -> uuid.UUID:
    return ids.resolve(ids.CONTACT, contact_id, "contact")


async def _load(session: AsyncSession, workspace_id: uuid.UUID, key: uuid.UUID) -> Contact | None:
    stmt = (
        select(Contact)
        .where(Contact.workspace_id == workspace_id, Contact.id == key)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).one_or_none()


async def _live(session: AsyncSession, workspace_id: uuid.UUID, key: uuid.UUID) -> Contact | None:
    """The contact with this key, or, for an id absorbed by a merge, the contact it was merged into."""
    contact = await _load(session, workspace_id, key)
    if contact is None:
        survivor = await match_index.survivor_of(session, workspace_id, key)
        if survivor is not None:
            contact = await _load(session, workspace_id, survivor)
    return contact


async def get(session: AsyncSession, ws: Workspace, contact_id: str) -> Contact:
    """The contact with this id in this workspace (a merged-away id resolves to its survivor); NotFound
    otherwise (also for other workspaces' ids)."""
    contact = await _live(session, ws.id, _contact_key(contact_id))
    if contact is None:
        raise NotFound("contact")
    return contact


def _owner_of(identity: type[ContactEmail | ContactPhone], ws: Workspace, value: str) -> Select[Contact]:
    """The contact owning ``value`` with its emails, phones and tags, in one statement: a seek on the
    identity's primary key (workspace_id, value), then on the contact's, with the lists joined in (a
    contact has a handful of each, so the joined rows stay few) rather than three more round trips."""
    column = ContactEmail.address if identity is ContactEmail else ContactPhone.number
    return (
        select(Contact)
        .join(identity, (identity.workspace_id == Contact.workspace_id) & (identity.contact_id == Contact.id))
        .where(identity.workspace_id == ws.id, Contact.workspace_id == ws.id, column == value)
        .options(joinedload(Contact.emails), joinedload(Contact.phones), joinedload(Contact.tag_rows))
        .execution_options(populate_existing=True)
    )


async def find_by_email(session: AsyncSession, ws: Workspace, email: str) -> Contact | None:
    """The workspace's contact owning this email (normalized as stored), or None; Invalid when it is no email."""
    try:
        address = normalize_email(email)
    except ValidationFailure as exc:
        raise Invalid([FieldError("email", exc.rule, exc.message, kind_of(email))]) from None
    return (await session.scalars(_owner_of(ContactEmail, ws, address))).unique().one_or_none()


async def find_by_phone(session: AsyncSession, ws: Workspace, phone: str) -> Contact | None:
    """The workspace's contact owning this phone (E.164 in the workspace's region), or None; Invalid when
    it is no phone number."""
    try:
        number = normalize_phone(phone, ws.default_region)
    except ValidationFailure as exc:
        raise Invalid([FieldError("phone", exc.rule, exc.message, kind_of(phone))]) from None
    return (await session.scalars(_owner_of(ContactPhone, ws, number))).unique().one_or_none()


# ---------------------------------------------------------------- identities (emails and phones)


def _email_entries(data: ContactIn) -> list[_Entry] | None:
    given = data.model_fields_set
    if "emails" not in given and "email" not in given:
        return None
    entries = [_Entry(e.address, e.type, e.primary, f"emails[{i}].address") for i, e in enumerate(data.emails or [])]
    if data.email:
        entries.insert(0, _Entry(data.email, "other", not any(e.primary for e in entries), "email"))
    return entries


def _phone_entries(data: ContactIn, region: str | None, errors: list[FieldError]) -> list[_Entry] | None:
    given = data.model_fields_set
    if "phones" not in given and "phone" not in given:
        return None
    raw = [(p.number, p.type, p.primary, f"phones[{i}].number") for i, p in enumerate(data.phones or [])]
    if data.phone:
        raw.insert(0, (data.phone, "other", not any(p[2] for p in raw), "phone"))
    entries = []
    for number, type_, primary, path in raw:
        try:
            entries.append(_Entry(normalize_phone(number, region), type_, primary, path))
        except ValidationFailure as exc:
            errors.append(FieldError(path, exc.rule, exc.message, "string"))
    return entries


def _one_primary(entries: list[_Entry], list_name: str, errors: list[FieldError]) -> list[_Entry]:
    """Drop repeats (the first spelling wins, a primary flag carries over) and make exactly one primary."""
    merged: dict[str, _Entry] = {}
    for entry in entries:
        if entry.value in merged:
            merged[entry.value].primary = merged[entry.value].primary or entry.primary
        else:
            merged[entry.value] = _Entry(entry.value, entry.type, entry.primary, entry.path)
    result = list(merged.values())
    primaries = [e for e in result if e.primary]
    if len(primaries) > 1:
        errors.append(FieldError(list_name, "one_primary", f"at most one of {list_name} may be primary", "array"))
    elif result and not primaries:
        result[0].primary = True
    return result


def _combine(current: list[_Entry], given: list[_Entry], data: ContactIn, list_name: str, mode: Mode) -> list[_Entry]:
    """The list to store: replaced (create/patch with a list), primary swapped (patch with the shorthand
    alone), or added to (upsert)."""
    if mode == "upsert":
        known = {e.value for e in current}
        added = [e for e in given if e.value not in known]
        if current:
            for e in added:
                e.primary = False
        return current + added
    if mode == "patch" and list_name not in data.model_fields_set:
        # Only the shorthand: it replaces the primary entry, the others stay.
        rest = [e for e in current if not e.primary and all(e.value != g.value for g in given)]
        for e in rest:
            e.primary = False
        return given + rest
    return given


async def _check_owners(
    session: AsyncSession, ws_id: uuid.UUID, contact_id: uuid.UUID | None, emails: list[_Entry], phones: list[_Entry]
) -> None:
    """409 when an email or phone already belongs to another contact of the workspace."""
    # Erased people on the suppression list (leadhub.privacy) are not brought back silently; entries the
    # contact already holds (empty path) are not new.
    await suppression.refuse(
        session, ws_id, [(e.path, e.value) for e in emails if e.path], [(p.path, p.value) for p in phones if p.path]
    )
    if emails:
        rows = await session.execute(
            select(ContactEmail.address, ContactEmail.contact_id).where(
                ContactEmail.workspace_id == ws_id, ContactEmail.address.in_([e.value for e in emails])
            )
        )
        for address, owner in rows:
            if owner != contact_id:
                path = next(e.path for e in emails if e.value == address)
                raise Conflict(
                    path,
                    ids.encode(ids.CONTACT, owner),
                    code="duplicate_email",
                    value=address,
                    detail=f"{path}: this email already belongs to another contact",
                )
    if phones:
        rows = await session.execute(
            select(ContactPhone.number, ContactPhone.contact_id).where(
                ContactPhone.workspace_id == ws_id, ContactPhone.number.in_([p.value for p in phones])
            )
        )
        for number, owner in rows:
            if owner != contact_id:
                path = next(p.path for p in phones if p.value == number)
                raise Conflict(
                    path,
                    ids.encode(ids.CONTACT, owner),
                    code="duplicate_phone",
                    value=number,
                    detail=f"{path}: this phone already belongs to another contact",
                )


_IdentityRow = TypeVar("_IdentityRow", ContactEmail, ContactPhone)


def _identity_rows(
    current: list[_IdentityRow],
    entries: list[_Entry],
    value_of: Callable[[_IdentityRow], str],
    make: Callable[[str], _IdentityRow],
) -> list[_IdentityRow]:
    """The email or phone rows for ``entries``: a value the contact already has keeps its row (so its
    primary key is never deleted and re-inserted in one flush), a new value gets a new row."""
    existing = {value_of(row): row for row in current}
    rows = []
    for position, entry in enumerate(entries):
        row = existing.get(entry.value) or make(entry.value)
        row.type, row.is_primary, row.position = entry.type, entry.primary, position
        rows.append(row)
    return rows


class _DraftRow:
    """An email, phone or tag row of a ``_Draft``: its model's attributes, plain."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


class _Draft:
    """A new contact of the direct path (``create_direct``) as plain attributes: ``Contact``'s columns,
    rows and properties without the ORM's instrumentation (filling an instrumented contact and its rows
    fires some sixty attribute events, a tenth of a millisecond a request). It never meets a session:
    ``_pg_write_args`` writes it by hand. A column nothing sets reads None, as on a new ``Contact``."""

    public_id = vars(Contact)["public_id"]
    tags = vars(Contact)["tags"]
    primary_email = vars(Contact)["primary_email"]
    primary_phone = vars(Contact)["primary_phone"]

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(_DRAFT_UNSET)
        self.emails: list[_DraftRow] = []
        self.phones: list[_DraftRow] = []
        self.tag_rows: list[_DraftRow] = []
        self.__dict__.update(values)


def _row_type(contact: Contact, model: type[T]) -> type[T]:
    """``model``, or the plain row a ``_Draft`` holds instead."""
    return cast(type[T], _DraftRow) if isinstance(contact, _Draft) else model


def _sync_emails(contact: Contact, entries: list[_Entry]) -> None:
    make = _row_type(contact, ContactEmail)
    contact.emails = _identity_rows(
        contact.emails,
        entries,
        lambda row: row.address,
        lambda value: make(workspace_id=contact.workspace_id, address=value, contact_id=contact.id),
    )


def _sync_phones(contact: Contact, entries: list[_Entry]) -> None:
    make = _row_type(contact, ContactPhone)
    contact.phones = _identity_rows(
        contact.phones,
        entries,
        lambda row: row.number,
        lambda value: make(workspace_id=contact.workspace_id, number=value, contact_id=contact.id),
    )


def _set_tags(contact: Contact, tags: Sequence[str]) -> None:
    make = _row_type(contact, ContactTag)
    existing = {row.tag: row for row in contact.tag_rows}
    rows = []
    for position, tag in enumerate(dict.fromkeys(tags)):
        row = existing.get(tag) or make(workspace_id=contact.workspace_id, contact_id=contact.id, tag=tag)
        row.position = position
        rows.append(row)
    contact.tag_rows = rows


def _search_text(contact: Contact) -> str:
    parts = [contact.name, contact.first_name, contact.last_name, contact.company_name]
    parts += [e.address for e in contact.emails]
    for p in contact.phones:
        parts += [p.number, p.number.lstrip("+")]
    return " ".join(p for p in parts if p).lower()


# ---------------------------------------------------------------- applying input


@dataclass
class _Plan:
    """The emails and phones ``data`` leaves on a contact (None: unchanged) and the errors found so far."""

    emails: list[_Entry] | None
    phones: list[_Entry] | None
    errors: list[FieldError]


def _plan(ws: Workspace, contact: Contact | None, data: ContactIn, mode: Mode) -> _Plan:
    """Normalize and combine the identities of ``data`` (no database work)."""
    given = data.model_fields_set
    errors: list[FieldError] = []
    for name in NOT_NULL_FIELDS:
        if name in given and getattr(data, name) is None:
            errors.append(FieldError(name, "not_null", "must not be null (send a value, or omit the field)", "null"))

    current_emails = [_Entry(e.address, e.type, e.is_primary, "") for e in contact.emails] if contact else []
    current_phones = [_Entry(p.number, p.type, p.is_primary, "") for p in contact.phones] if contact else []
    email_in = _email_entries(data)
    phone_in = _phone_entries(data, ws.default_region, errors)
    emails = phones = None
    if email_in is not None:
        emails = _one_primary(
            _combine(current_emails, _one_primary(email_in, "emails", errors), data, "emails", mode), "emails", errors
        )
    if phone_in is not None:
        phones = _one_primary(
            _combine(current_phones, _one_primary(phone_in, "phones", errors), data, "phones", mode), "phones", errors
        )
    return _Plan(emails, phones, errors)


@dataclass
class _Facts:
    """What a new contact's checks need from the database, read in one round trip (``_read_facts``)."""

    suppressed: set[str]
    email_owners: dict[str, uuid.UUID]
    phone_owners: dict[str, uuid.UUID]
    # The company of the primary email's domain (only looked up when the body names no company_id).
    domain_company: uuid.UUID | None
    # Whether any of the body's custom field keys has a definition (else values are stored as given).
    typed_custom_fields: bool
    # Whether the workspace's opt-in duplicate report or auto-merge is on.
    dedupe_on_ingest: bool


async def _apply(
    session: AsyncSession,
    ws: Workspace,
    contact: Contact,
    data: ContactIn,
    mode: Mode,
    plan: _Plan | None = None,
    facts: _Facts | None = None,
) -> None:
    """Write ``data`` onto ``contact`` as ``mode`` means it; raises Invalid/Conflict before changing rows.
    With ``facts`` (a new contact's database reads, done beforehand), it reads nothing itself."""
    given = data.model_fields_set
    plan = plan or _plan(ws, contact, data, mode)

    custom = dict(contact.custom_fields or {})
    if data.custom_fields:
        # The facts read already says whether the workspace defines any custom field (none: nothing to coerce).
        typed = facts is None or facts.typed_custom_fields
        definitions = await custom_fields.definitions_by_key(session, ws.id) if typed else {}
        custom_fields.apply_values(custom, data.custom_fields, definitions, plan.errors)
    if plan.errors:
        raise Invalid(plan.errors)
    company_key = await companies.reference(session, ws.id, data.company_id, "company_id")
    new_emails, new_phones = _new_identities(plan)
    if facts is not None:
        _refuse_taken(facts, None, new_emails, new_phones)
    else:
        await _check_owners(session, ws.id, contact.id if mode != "create" else None, new_emails, new_phones)
    _fill(contact, data, mode, plan, custom)
    if "company_id" in given:
        contact.company_id = company_key
    elif mode == "create":
        # A work email links the new contact to the company of its domain (never a free-mail domain).
        if facts is not None:
            contact.company_id = facts.domain_company
        else:
            contact.company_id = await companies.company_for_email(session, ws.id, contact.primary_email)


def _fill(contact: Contact, data: ContactIn, mode: Mode, plan: _Plan, custom: dict[str, Any]) -> None:
    """Write ``data`` onto ``contact``, checks done: every field but the company link."""
    given = data.model_fields_set
    emails, phones = plan.emails, plan.phones
    for name in PLAIN_FIELDS:
        if name in given:
            setattr(contact, name, getattr(data, name))
        elif mode == "create":
            setattr(contact, name, FIELD_DEFAULTS.get(name))
    if data.custom_fields is not None:
        contact.custom_fields = custom
    elif mode == "create":
        contact.custom_fields = {}
    _merge_objects(contact, data, mode)
    if emails is not None:
        _sync_emails(contact, emails)
    elif mode == "create":
        contact.emails = []
    if phones is not None:
        _sync_phones(contact, phones)
    elif mode == "create":
        contact.phones = []
    if "tags" in given and data.tags is not None:
        _set_tags(contact, contact.tags + data.tags if mode == "upsert" else data.tags)
    elif mode == "create":
        contact.tag_rows = []
    _apply_names(contact, data, mode, emails_changed=emails is not None)
    contact.search_text = _search_text(contact)


def _merge_objects(contact: Contact, data: ContactIn, mode: Mode) -> None:
    given = data.model_fields_set
    if mode == "create":
        contact.dnd_settings, contact.consent = {}, {}
        for a in ADDRESS_PARTS:
            setattr(contact, f"address_{a}", None)
    if "address" in given:
        if data.address is None:
            for a in ADDRESS_PARTS:
                setattr(contact, f"address_{a}", None)
        else:
            for a in data.address.model_fields_set:
                setattr(contact, f"address_{a}", getattr(data.address, a))
    if data.dnd_settings is not None:
        settings = dict(contact.dnd_settings)
        for channel in data.dnd_settings.model_fields_set:
            value = getattr(data.dnd_settings, channel)
            if value is None:
                settings.pop(channel, None)
            else:
                settings[channel] = value.model_dump(mode="json", exclude_none=True)
        contact.dnd_settings = settings
    if data.consent is not None:
        consent = dict(contact.consent)
        for purpose, entry in data.consent.items():
            if entry is None:
                consent.pop(purpose, None)
            else:
                consent[purpose] = entry.model_dump(mode="json", exclude_none=True)
        contact.consent = consent


def _apply_names(contact: Contact, data: ContactIn, mode: Mode, *, emails_changed: bool) -> None:
    """An explicit ``name`` is kept (and split into parts when none are given); otherwise the name is
    the parts joined, or, with no parts, made from the primary email."""
    given = data.model_fields_set
    parts = {"first_name", "middle_name", "last_name"} & given
    for part in parts:
        setattr(contact, part, getattr(data, part))
    if mode == "create":
        for part in {"first_name", "middle_name", "last_name"} - parts:
            setattr(contact, part, None)
    if "name" in given and data.name:
        contact.name = data.name
        if not parts:
            contact.first_name, contact.middle_name, contact.last_name = split_name(data.name)
        return
    renamed = mode == "create" or bool(parts) or "name" in given
    joined = join_parts(contact.first_name, contact.middle_name, contact.last_name)
    if joined and renamed:
        contact.name = joined
    elif not joined and (renamed or emails_changed):
        contact.name = name_from_email(contact.primary_email)


# ---------------------------------------------------------------- writes


async def _retrying(session: AsyncSession, attempt: Callable[[], Awaitable[T]]) -> T:
    """Run ``attempt`` in a savepoint; a unique violation from a concurrent writer retries it, and the
    re-read then sees the winner's row (a conflict, or a match for upsert)."""
    for n in range(_RACE_RETRIES):
        mark = events.mark(session)
        try:
            async with session.begin_nested():
                return await attempt()
        except (IntegrityError, _Raced) as exc:
            events.discard_since(session, mark)
            if n == _RACE_RETRIES - 1:
                if isinstance(exc, _Raced):
                    raise exc.conflict from None
                raise
    raise AssertionError("unreachable")


class _Raced(Exception):
    """A concurrent writer took an identity between our read and our write: read again."""

    def __init__(self, conflict: Conflict) -> None:
        super().__init__(conflict.detail)
        self.conflict = conflict


def _record_created(session: AsyncSession, ws: Workspace, actor: Actor, contact: Contact) -> None:
    """Queue the ``contact.created`` event of a new contact, its snapshot as payload."""
    events.record(
        session,
        ws.id,
        actor,
        "contact.created",
        resource_type="contact",
        resource_id=contact.id,
        contact_id=contact.id,
        payload=snapshot(contact),
    )


async def _create_row(session: AsyncSession, ws: Workspace, actor: Actor, data: ContactIn) -> Contact:
    now = clock.now()
    contact = Contact(workspace_id=ws.id, id=ids.new_uuid(), created_at=now, updated_at=now)
    await _apply(session, ws, contact, data, "create")
    session.add(contact)
    await session.flush()
    await match_index.refresh_keys(session, contact)
    _record_created(session, ws, actor, contact)
    return contact


async def _update_row(
    session: AsyncSession, ws: Workspace, actor: Actor, contact: Contact, data: ContactIn, mode: Mode
) -> Contact:
    before = snapshot(contact)
    await _apply(session, ws, contact, data, mode)
    after = snapshot(contact)
    changes = events.changes(before, after)
    if changes:
        contact.updated_at = clock.now()
        await session.flush()
        await match_index.refresh_keys(session, contact)
        events.record(
            session,
            ws.id,
            actor,
            "contact.updated",
            resource_type="contact",
            resource_id=contact.id,
            contact_id=contact.id,
            payload=snapshot(contact),
            changes=changes,
        )
    return contact


async def create(session: AsyncSession, ws: Workspace, actor: Actor, data: ContactIn) -> Contact:
    """A new contact; 409 Conflict when one of its emails or phones belongs to another contact. With the
    workspace's opt-in auto-merge, the answer is the contact it was merged into."""
    for attempt in range(_RACE_RETRIES):
        written = await _create_new(session, ws, actor, data, last=attempt == _RACE_RETRIES - 1)
        if written is not None:
            contact, dedupe_on_ingest = written
            if not dedupe_on_ingest:
                return contact
            return await _after_ingest(session, ws, actor, contact)
    raise AssertionError("unreachable: the last attempt raises or answers")


# ---------------------------------------------------------------- the lean path for a new contact
#
# A new contact is the hot write (API, forms, dialects): it reads what its checks need in one statement,
# writes its rows with Core statements (one on PostgreSQL), and needs no savepoint, because a concurrent
# writer of the same email or phone is detected by the unique key itself (ON CONFLICT DO NOTHING) rather
# than by an error that would abort the transaction.

# (attribute, column) of every contacts column, in table order.
_CONTACT_COLUMNS = tuple((attr.key, attr.columns[0].key) for attr in Contact.__mapper__.column_attrs)
_DRAFT_UNSET: dict[str, Any] = dict.fromkeys(attr for attr, _ in _CONTACT_COLUMNS)
_NO_OWNER = cast_(null(), Uuid())
_CONTACTS = cast(Table, Contact.__table__)
_EMAILS = cast(Table, ContactEmail.__table__)
_PHONES = cast(Table, ContactPhone.__table__)
_TAGS = cast(Table, ContactTag.__table__)


_FACTS: dict[tuple[bool, ...], Any] = {}


def _one_of(column: Any, name: str, postgres: bool) -> Any:
    """``column`` is one of the list parameter ``name``: one parameter whatever the list's length, so the
    statement's text is fixed (an expanding IN is rendered again on every execution, and on SQLite meets
    the limit on parameters at a large batch)."""
    if postgres:
        return column == any_(bindparam(name, type_=ARRAY(String())))
    return column.in_(select(literal_column("value")).select_from(func.json_each(bindparam(name, type_=JSON()))))


def _facts_statement(
    postgres: bool,
    suppressed: bool,
    emails: bool,
    phones: bool,
    domain: bool,
    field_keys: bool,
    endpoints: bool = False,
) -> Any:
    """The union ``_read_found`` runs, for one combination of what the body holds (built once each);
    with ``endpoints``, the workspace's enabled webhook endpoints too (their event types as JSON text)."""
    ws = bindparam("ws", type_=Uuid())
    parts: list[Any] = [
        select(
            literal_column("'d'").label("kind"), literal_column("''").label("value"), _NO_OWNER.label("owner")
        ).where(
            DedupeSettings.workspace_id == ws,
            or_(DedupeSettings.report_on_ingest.is_(True), DedupeSettings.auto_merge.is_(True)),
        )
    ]
    if suppressed:
        parts.append(
            select(literal_column("'s'"), Suppression.digest, _NO_OWNER).where(
                Suppression.workspace_id == ws, _one_of(Suppression.digest, "digests", postgres)
            )
        )
    if emails:
        parts.append(
            select(literal_column("'e'"), ContactEmail.address, ContactEmail.contact_id).where(
                ContactEmail.workspace_id == ws, _one_of(ContactEmail.address, "emails", postgres)
            )
        )
    if phones:
        parts.append(
            select(literal_column("'p'"), ContactPhone.number, ContactPhone.contact_id).where(
                ContactPhone.workspace_id == ws, _one_of(ContactPhone.number, "phones", postgres)
            )
        )
    if domain:
        parts.append(
            select(literal_column("'c'"), Company.domain, Company.id).where(
                Company.workspace_id == ws, _one_of(Company.domain, "domains", postgres)
            )
        )
    if field_keys:
        parts.append(
            select(literal_column("'f'"), CustomFieldDefinition.key, _NO_OWNER).where(
                CustomFieldDefinition.workspace_id == ws,
                _one_of(CustomFieldDefinition.key, "field_keys", postgres),
            )
        )
    if endpoints:
        parts.append(
            select(literal_column("'w'"), cast_(WebhookEndpoint.event_types, String()), WebhookEndpoint.id).where(
                WebhookEndpoint.workspace_id == ws, WebhookEndpoint.enabled.is_(True)
            )
        )
    return union_all(*parts) if len(parts) > 1 else parts[0]


@dataclass
class _Found:
    """What the database holds about the identities, domains and custom field keys of one or many new
    contacts (read by ``_read_found`` in one round trip)."""

    suppressed: set[str]
    email_owners: dict[str, uuid.UUID]
    phone_owners: dict[str, uuid.UUID]
    companies: dict[str, uuid.UUID]
    typed_keys: set[str]
    dedupe_on_ingest: bool
    # (id, event types) of the workspace's enabled webhook endpoints, when asked for.
    endpoints: list[tuple[uuid.UUID, list[str]]] = field(default_factory=list)


def _new_identities(plan: _Plan) -> tuple[list[_Entry], list[_Entry]]:
    return [e for e in plan.emails or [] if e.path], [p for p in plan.phones or [] if p.path]


def _domain_of(data: ContactIn, plan: _Plan) -> str | None:
    """The work domain whose company a new contact links to (none when the body names a company)."""
    if "company_id" in data.model_fields_set:
        return None
    return companies.work_domain(next((e.value for e in plan.emails or [] if e.primary), None))


async def _read_found(
    session: AsyncSession,
    ws: Workspace,
    digests: list[str],
    emails: list[str],
    phones: list[str],
    domains: list[str],
    field_keys: list[str],
) -> _Found:
    postgres = session.get_bind().dialect.name == "postgresql"
    shape = (postgres, bool(digests), bool(emails), bool(phones), bool(domains), bool(field_keys))
    statement = _FACTS.get(shape)
    if statement is None:
        statement = _facts_statement(*shape)
        # SQLite: straight to the driver in one thread hop (the transaction holds the write lock).
        statement = _FACTS[shape] = statement if postgres else SqliteStatement(statement)
    params: dict[str, Any] = {"ws": ws.id}
    for name, values in (
        ("digests", digests),
        ("emails", emails),
        ("phones", phones),
        ("domains", domains),
        ("field_keys", field_keys),
    ):
        if values:
            params[name] = values
    rows: list[tuple[Any, ...]]
    if isinstance(statement, SqliteStatement):
        rows = await statement.rows(session, params)
    else:
        # Through SQLAlchemy on PostgreSQL: as the transaction's first statement, it begins the driver's
        # transaction (the driver's own statements that follow run in it).
        rows = [tuple(row) for row in await session.execute(statement, params)]
    return _collect(rows)


def _collect(rows: Sequence[Sequence[Any]]) -> _Found:
    """The facts union's rows, sorted by kind."""
    found = _Found(set(), {}, {}, {}, set(), False)
    for kind, value, owner in rows:
        if kind == "e":
            found.email_owners[value] = owner
        elif kind == "p":
            found.phone_owners[value] = owner
        elif kind == "s":
            found.suppressed.add(value)
        elif kind == "c":
            found.companies[value] = owner
        elif kind == "f":
            found.typed_keys.add(value)
        elif kind == "d":
            found.dedupe_on_ingest = True
        elif kind == "w":
            found.endpoints.append((owner, orjson.loads(value)))
    return found


def _facts_of(found: _Found, data: ContactIn, plan: _Plan) -> _Facts:
    """One new contact's facts out of what was found for it (and possibly others)."""
    domain = _domain_of(data, plan)
    return _Facts(
        suppressed=found.suppressed,
        email_owners=found.email_owners,
        phone_owners=found.phone_owners,
        domain_company=found.companies.get(domain) if domain else None,
        typed_custom_fields=bool(data.custom_fields) and any(k in found.typed_keys for k in data.custom_fields or {}),
        dedupe_on_ingest=found.dedupe_on_ingest,
    )


async def _read_facts(session: AsyncSession, ws: Workspace, data: ContactIn, plan: _Plan) -> _Facts:
    """Suppressed identities, their current owners, the company of the email's domain, whether custom
    fields are typed and whether ingest dedupe is on: one round trip."""
    new_emails, new_phones = _new_identities(plan)
    wanted = suppression.digests_of([(e.path, e.value) for e in new_emails], [(p.path, p.value) for p in new_phones])
    domain = _domain_of(data, plan)
    found = await _read_found(
        session,
        ws,
        list(wanted),
        [e.value for e in new_emails],
        [p.value for p in new_phones],
        [domain] if domain else [],
        list(data.custom_fields or {}),
    )
    return _facts_of(found, data, plan)


def _refuse_taken(facts: _Facts, contact_id: uuid.UUID | None, emails: list[_Entry], phones: list[_Entry]) -> None:
    """The checks of ``_check_owners`` over facts already read: 422 when suppressed, 409 when owned."""
    wanted = suppression.digests_of([(e.path, e.value) for e in emails], [(p.path, p.value) for p in phones])
    suppression.raise_if_suppressed(wanted, [d for d in wanted if d in facts.suppressed])
    for entries, owners, noun in ((emails, facts.email_owners, "email"), (phones, facts.phone_owners, "phone")):
        for entry in entries:
            owner = owners.get(entry.value)
            if owner is not None and owner != contact_id:
                raise Conflict(
                    entry.path,
                    ids.encode(ids.CONTACT, owner),
                    code=f"duplicate_{noun}",
                    value=entry.value,
                    detail=f"{entry.path}: this {noun} already belongs to another contact",
                )


async def _create_new(
    session: AsyncSession, ws: Workspace, actor: Actor, data: ContactIn, *, last: bool
) -> tuple[Contact, bool] | None:
    """Write a new contact and queue its event; None when a concurrent writer took one of its emails or
    phones between our read and our write (nothing of ours is left: read again). Answers the contact and
    whether the workspace's ingest dedupe is on."""
    now = clock.now()
    contact = Contact(workspace_id=ws.id, id=ids.new_uuid(), created_at=now, updated_at=now)
    plan = _plan(ws, contact, data, "create")
    facts = await _read_facts(session, ws, data, plan) if not plan.errors else None
    await _apply(session, ws, contact, data, "create", plan=plan, facts=facts)
    assert facts is not None  # _apply raised Invalid otherwise
    if not await _insert_new(session, contact):
        await session.execute(
            sql_delete(_CONTACTS).where(_CONTACTS.c.workspace_id == contact.workspace_id, _CONTACTS.c.id == contact.id)
        )
        if last:
            # Read again to answer the usual 409 naming the owner; a winner that vanished again is a 409 too.
            retry_plan = _plan(ws, None, data, "create")
            again = await _read_facts(session, ws, data, retry_plan)
            _refuse_taken(again, None, *_new_identities(retry_plan))
            raise Conflict("email", "", detail="an email or phone of this contact was taken concurrently")
        return None
    _attach(session, contact)
    _record_created(session, ws, actor, contact)
    return contact, facts.dedupe_on_ingest


def _pg_rows_ctes(on_conflict: str) -> str:
    """The CTEs writing a new contact's row and its tags and match keys (``c``, ``t``, ``k``), and its emails
    and phones (``e``, ``p``, each returning 1 per row written; ``on_conflict`` follows their INSERTs)."""
    columns = [column for _, column in _CONTACT_COLUMNS]
    values = ", ".join(f":c_{column}" for column in columns)
    identities = "".join(
        f"""
{cte} AS (
  INSERT INTO {table} (workspace_id, {column}, contact_id, type, is_primary, position)
  SELECT CAST(:ws AS uuid), u.v, CAST(:id AS uuid), u.t, u.p, u.n
  FROM unnest(CAST(:{cte}_value AS varchar[]), CAST(:{cte}_type AS varchar[]), CAST(:{cte}_primary AS boolean[]),
              CAST(:{cte}_pos AS integer[])) AS u(v, t, p, n)
  {on_conflict} RETURNING 1
),"""
        for cte, table, column in (("e", "contact_emails", "address"), ("p", "contact_phones", "number"))
    )
    return f"""{identities}
c AS (INSERT INTO contacts ({", ".join(columns)}) VALUES ({values})),
t AS (
  INSERT INTO contact_tags (workspace_id, contact_id, tag, position)
  SELECT CAST(:ws AS uuid), CAST(:id AS uuid), u.tag, u.pos
  FROM unnest(CAST(:t_tag AS varchar[]), CAST(:t_pos AS integer[])) AS u(tag, pos)
),
k AS (
  INSERT INTO contact_match_keys (workspace_id, key, contact_id)
  SELECT CAST(:ws AS uuid), u.key, CAST(:id AS uuid) FROM unnest(CAST(:k_key AS varchar[])) AS u(key)
)"""


def _pg_insert_new() -> TextClause:
    """PostgreSQL: one statement writing a contact with its emails, phones, tags and match keys (each
    INSERT a CTE, which PostgreSQL runs exactly once), answering how many emails and phones it claimed.
    The lists travel as arrays, so the statement is one text whatever their lengths: compiled once, and
    prepared once per connection."""
    sql = f"""
WITH{_pg_rows_ctes("ON CONFLICT DO NOTHING")}
SELECT (SELECT count(*) FROM e) + (SELECT count(*) FROM p)
"""
    binds = [bindparam(f"c_{column}", type_=_CONTACTS.c[column].type) for _, column in _CONTACT_COLUMNS]
    binds += [bindparam("ws", type_=Uuid()), bindparam("id", type_=Uuid())]
    return text(sql).bindparams(*binds)


_PG_INSERT_NEW = _pg_insert_new()
# The same statement sent straight to asyncpg (it is a POST's biggest: SQLAlchemy's per-parameter work
# cost more than the round trip); JSON columns go as JSON text.
_PG_INSERT_NEW_SQL, _PG_INSERT_NEW_PARAMS = positional(_PG_INSERT_NEW.text)
_JSON_COLUMNS = frozenset(f"c_{c.key}" for c in _CONTACTS.columns if isinstance(c.type, JSON))


def _pg_rows_params(contact: Contact, keys: set[str]) -> dict[str, Any]:
    """The parameters of a new contact's rows in ``_PG_INSERT_NEW`` and ``_PG_WRITE_NEW``."""
    emails, phones, tags = contact.emails, contact.phones, contact.tag_rows
    params: dict[str, Any] = {f"c_{column}": getattr(contact, attr) for attr, column in _CONTACT_COLUMNS}
    params |= {
        "ws": contact.workspace_id,
        "id": contact.id,
        "t_tag": [t.tag for t in tags],
        "t_pos": [t.position for t in tags],
        "k_key": sorted(keys),
        "e_value": [e.address for e in emails],
        "e_type": [e.type for e in emails],
        "e_primary": [e.is_primary for e in emails],
        "e_pos": [e.position for e in emails],
        "p_value": [p.number for p in phones],
        "p_type": [p.type for p in phones],
        "p_primary": [p.is_primary for p in phones],
        "p_pos": [p.position for p in phones],
    }
    for name in _JSON_COLUMNS:
        params[name] = None if params[name] is None else json.dumps(params[name])
    return params


async def _insert_new(session: AsyncSession, contact: Contact) -> bool:
    """INSERT the contact, its emails, phones, tags and match keys; False (rows left for the caller to
    delete) when an email or phone was already taken, by a writer that committed after we read."""
    ws_id, contact_id = contact.workspace_id, contact.id
    emails, phones, tags = contact.emails, contact.phones, contact.tag_rows
    keys = match_index.keys_of(contact)
    if session.get_bind().dialect.name == "postgresql":
        params = _pg_rows_params(contact, keys)
        driver = await driver_connection(session)
        claimed = await driver.fetchval(_PG_INSERT_NEW_SQL, *(params[name] for name in _PG_INSERT_NEW_PARAMS))
        return bool(claimed == len(emails) + len(phones))
    # SQLite: every writing transaction holds the database's write lock from its BEGIN IMMEDIATE, so what
    # _read_facts saw is still true and plain inserts cannot meet a concurrent owner. Straight to the
    # driver (one thread hop per statement rather than three or four), while that lock is held.
    await _SQLITE_INSERT_CONTACT.many(session, [{column: getattr(contact, attr) for attr, column in _CONTACT_COLUMNS}])
    for statement, column, rows in (
        (_SQLITE_INSERT_EMAILS, "address", emails),
        (_SQLITE_INSERT_PHONES, "number", phones),
    ):
        await statement.many(
            session,
            [
                {
                    "workspace_id": ws_id,
                    column: getattr(r, column),
                    "contact_id": contact_id,
                    "type": r.type,
                    "is_primary": r.is_primary,
                    "position": r.position,
                }
                for r in rows
            ],
        )
    await _SQLITE_INSERT_TAGS.many(
        session,
        [{"workspace_id": ws_id, "contact_id": contact_id, "tag": t.tag, "position": t.position} for t in tags],
    )
    await _SQLITE_INSERT_KEYS.many(
        session, [{"workspace_id": ws_id, "key": k, "contact_id": contact_id} for k in sorted(keys)]
    )
    return True


_IDENTITY_COLUMNS = ("workspace_id", "contact_id", "type", "is_primary", "position")
_SQLITE_INSERT_CONTACT = SqliteStatement(insert(_CONTACTS), [column for _, column in _CONTACT_COLUMNS])
_SQLITE_INSERT_EMAILS = SqliteStatement(insert(_EMAILS), ("address", *_IDENTITY_COLUMNS))
_SQLITE_INSERT_PHONES = SqliteStatement(insert(_PHONES), ("number", *_IDENTITY_COLUMNS))
_SQLITE_INSERT_TAGS = SqliteStatement(insert(_TAGS), ("workspace_id", "contact_id", "tag", "position"))
_SQLITE_INSERT_KEYS = SqliteStatement(match_index.INSERT_KEYS, ("workspace_id", "key", "contact_id"))


def _attach(session: AsyncSession, contact: Contact) -> None:
    """Make the rows just written with Core the session's persistent objects, as if loaded, so callers
    can read and change them like any loaded contact."""
    for row in (*contact.emails, *contact.phones, *contact.tag_rows):
        make_transient_to_detached(row)
    make_transient_to_detached(contact)
    session.add(contact)


# ---------------------------------------------------------------- PostgreSQL: a new contact in two statements
#
# A POST without an Idempotency-Key needs no session: one read (the facts, with the workspace's webhook
# endpoints) and one statement that writes the contact's rows, its event and the event's deliveries, sent
# with those of the process's concurrent POSTs as one group in one transaction (``GroupedWrites``): the
# event's number is taken inside the statement, and the workspace's row stays locked until the commit's WAL
# flush, so writers one commit each ran one at a time behind that lock; a group shares it and the flush.
# The number is taken after the statement's emails and phones are in (the UPDATE waits for them), so a
# group's first execution takes unique keys before the row. A group runs its executions by workspace, so
# two groups (two processes) lock workspaces' rows in one order; later executions of a group take their
# keys while holding rows, though: two groups claiming the same email can deadlock, and PostgreSQL breaks it
# by failing one. Any group that fails leaves nothing behind, and each of its POSTs then writes alone: a
# concurrent writer that took one of its emails or phones after its read fails it again (a unique
# violation), and it reads again to answer that writer's 409, or writes again.


def _pg_write_new() -> TextClause:
    """``_pg_insert_new`` with the ``contact.created`` event and its webhook deliveries, without ON CONFLICT
    (a taken email or phone fails the statement). Answers how many deliveries it wrote."""
    sql = f"""
WITH{_pg_rows_ctes("")},
s AS (
  UPDATE workspaces SET event_seq = event_seq + 1
  WHERE id = CAST(:ws AS uuid) AND (SELECT count(*) FROM e) + (SELECT count(*) FROM p) >= 0
  RETURNING event_seq
),
ev AS (
  INSERT INTO events (workspace_id, seq, id, type, resource_type, resource_id, contact_id, actor_type, actor_id,
                      door, changes, payload, occurred_at)
  SELECT CAST(:ws AS uuid), s.event_seq, CAST(:ev_id AS uuid), CAST(:ev_type AS varchar), 'contact',
         CAST(:id AS uuid), CAST(:id AS uuid), CAST(:actor_type AS varchar), CAST(:actor_id AS varchar),
         CAST(:door AS varchar), NULL, CAST(:payload AS jsonb), CAST(:now AS timestamptz)
  FROM s
),
d AS (
  INSERT INTO webhook_deliveries (workspace_id, id, endpoint_id, event_seq, event_id, event_type, contact_id,
                                  status, attempts, next_attempt_at, created_at)
  SELECT CAST(:ws AS uuid), u.id, u.endpoint_id, s.event_seq, CAST(:ev_id AS uuid), CAST(:ev_type AS varchar),
         CAST(:id AS uuid), CAST(:status AS varchar), 0, CAST(:now AS timestamptz), CAST(:now AS timestamptz)
  FROM s, unnest(CAST(:d_id AS uuid[]), CAST(:d_endpoint AS uuid[])) AS u(id, endpoint_id)
  RETURNING 1
),
note AS (SELECT pg_notify('{wakeup.CHANNEL}', '') FROM (SELECT 1 FROM d LIMIT 1) AS any_delivery)
SELECT (SELECT count(*) FROM d) + 0 * (SELECT count(*) FROM note)
"""
    return text(sql)


_PG_WRITE_NEW_SQL, _PG_WRITE_NEW_PARAMS = positional(_pg_write_new().text)
_CREATED = "contact.created"
# The facts read of the direct path, by shape (see ``_facts_statement``), as asyncpg's SQL text.
_PG_FACTS: dict[tuple[bool, ...], tuple[str, tuple[str, ...]]] = {}


async def create_direct(db: Database, ws: Workspace, actor: Actor, data: ContactIn) -> bytes | None:
    """PostgreSQL: ``create`` for a request without an Idempotency-Key, in two statements and no session;
    answers the new contact's JSON (as ``to_out`` renders it). None (nothing written) when the body needs
    what only ``create`` does: invalid input (its errors read the workspace's definitions), a company_id to
    look up, custom fields with definitions, or the workspace's opt-in ingest dedupe."""
    if data.company_id is not None:
        return None
    plan = _plan(ws, None, data, "create")
    if plan.errors:
        return None
    for attempt in range(_RACE_RETRIES):
        async with db.brief_connections, db.engine.connect() as connection:
            driver = await connection_driver(connection)
            try:
                found = await _pg_read_found(driver, db.engine.dialect, ws, data, plan)
            except CONNECTION_LOST:
                await drop_lost(db.engine, connection)
                raise
        facts = _facts_of(found, data, plan)
        if facts.dedupe_on_ingest or facts.typed_custom_fields:
            return None
        if attempt:
            plan = _plan(ws, None, data, "create")
        contact = _new_contact(ws, data, plan, facts)
        out = to_out(contact)
        answer = out.__pydantic_serializer__.to_json(out)
        args, deliveries = _pg_write_args(actor, contact, answer, found.endpoints)
        # The connection is given back first: the group's writer needs one of the pool's.
        if not await db.grouped(_PG_WRITE_NEW_SQL).write(args, lock_order=ws.id):
            try:
                await _pg_write_alone(db, args)
            except asyncpg.UniqueViolationError:
                continue  # taken after our read: the next read finds the owner (409) or it is gone again
        if deliveries:
            outbox.wake_after_commit()
        return answer
    # Taken at every try, and gone again at every read: a 409 like the last attempt of ``create``.
    raise Conflict("email", "", detail="an email or phone of this contact was taken concurrently")


async def _pg_write_alone(db: Database, args: Sequence[Any]) -> None:
    """``_PG_WRITE_NEW`` in a transaction of its own (its group failed: this meets its own outcome)."""
    async with db.brief_connections, db.engine.connect() as connection:
        driver = await connection_driver(connection)
        try:
            await driver.execute(_PG_WRITE_NEW_SQL, *args)
        except CONNECTION_LOST:
            await drop_lost(db.engine, connection)
            raise


async def _pg_read_found(driver: Any, dialect: Dialect, ws: Workspace, data: ContactIn, plan: _Plan) -> _Found:
    """``_read_facts``' union, with the workspace's webhook endpoints, straight on the driver."""
    new_emails, new_phones = _new_identities(plan)
    domain = _domain_of(data, plan)
    params: dict[str, Any] = {
        "ws": ws.id,
        "digests": list(
            suppression.digests_of([(e.path, e.value) for e in new_emails], [(p.path, p.value) for p in new_phones])
        ),
        "emails": [e.value for e in new_emails],
        "phones": [p.value for p in new_phones],
        "domains": [domain] if domain else [],
        "field_keys": list(data.custom_fields or {}),
    }
    digests, emails, phones, domains, field_keys = (
        bool(params[name]) for name in ("digests", "emails", "phones", "domains", "field_keys")
    )
    shape = (digests, emails, phones, domains, field_keys)
    compiled = _PG_FACTS.get(shape)
    if compiled is None:
        statement = _facts_statement(True, digests, emails, phones, domains, field_keys, endpoints=True).compile(
            dialect=dialect
        )
        compiled = _PG_FACTS[shape] = (str(statement), tuple(statement.positiontup or ()))
    sql, names = compiled
    return _collect(await driver.fetch(sql, *(params[name] for name in names)))


def _new_contact(ws: Workspace, data: ContactIn, plan: _Plan, facts: _Facts) -> Contact:
    """A new contact (not in any session) out of ``data``, checked against ``facts`` as ``_apply`` checks it
    when the workspace defines none of the body's custom fields and the body names no company."""
    now = clock.now()
    # A draft quacks like the Contact that _fill, to_out and _pg_write_args read.
    contact = cast(Contact, _Draft(workspace_id=ws.id, id=ids.new_uuid(), created_at=now, updated_at=now))
    custom: dict[str, Any] = {}
    if data.custom_fields:
        custom_fields.apply_values(custom, data.custom_fields, {}, plan.errors)
    if plan.errors:
        raise Invalid(plan.errors)
    _refuse_taken(facts, None, *_new_identities(plan))
    _fill(contact, data, "create", plan, custom)
    contact.company_id = None if "company_id" in data.model_fields_set else facts.domain_company
    return contact


def _pg_write_args(
    actor: Actor, contact: Contact, answer: bytes, endpoints: list[tuple[uuid.UUID, list[str]]]
) -> tuple[tuple[Any, ...], int]:
    """``_PG_WRITE_NEW``'s arguments for ``contact``, its event's payload the answer's JSON, and how many
    deliveries it writes."""
    targets = outbox.endpoints_for(_CREATED, endpoints)
    params = _pg_rows_params(contact, match_index.keys_of(contact))
    params |= {
        "ev_id": ids.new_uuid(),
        "ev_type": _CREATED,
        "actor_type": actor.type,
        "actor_id": actor.id,
        "door": actor.door,
        # The answer is the contact's snapshot, as events carry it (``snapshot``: the same model's JSON).
        "payload": answer.decode(),
        "now": clock.now(),
        "status": PENDING,
        "d_id": [ids.new_uuid() for _ in targets],
        "d_endpoint": targets,
    }
    return tuple(params[name] for name in _PG_WRITE_NEW_PARAMS), len(targets)


async def _after_ingest(session: AsyncSession, ws: Workspace, actor: Actor, contact: Contact) -> Contact:
    """The workspace's opt-in duplicate report and auto-merge for a contact just written by create/upsert."""
    from leadhub.contacts import duplicates  # here, not on top: the duplicates service builds on this module

    return await duplicates.after_ingest(session, ws, actor, contact)


async def patch(session: AsyncSession, ws: Workspace, actor: Actor, contact_id: str, data: ContactIn) -> Contact:
    """Change the given fields only (see the module docstring for lists and objects)."""
    key = _contact_key(contact_id)

    async def attempt() -> Contact:
        contact = await _live(session, ws.id, key)
        if contact is None:
            raise NotFound("contact")
        return await _update_row(session, ws, actor, contact, data, "patch")

    return await _retrying(session, attempt)


async def _match(session: AsyncSession, ws: Workspace, data: ContactIn) -> Contact | None:
    errors: list[FieldError] = []
    emails = _email_entries(data) or []
    phones = _phone_entries(data, ws.default_region, errors) or []
    if errors:
        raise Invalid(errors)
    for model, column, entries in (
        (ContactEmail, ContactEmail.address, emails),
        (ContactPhone, ContactPhone.number, phones),
    ):
        if not entries:
            continue
        result = await session.execute(
            select(column, model.contact_id).where(model.workspace_id == ws.id, column.in_([e.value for e in entries]))
        )
        rows = {value: owner for value, owner in result}
        for entry in entries:  # the caller's order decides which identity matches first
            if entry.value in rows:
                return await _load(session, ws.id, rows[entry.value])
    return None


async def upsert(session: AsyncSession, ws: Workspace, actor: Actor, data: ContactIn) -> UpsertResult:
    """Match by any email, then any phone; update the match (adding to its lists) or create."""

    async def attempt() -> UpsertResult:
        match = await _match(session, ws, data)
        if match is None:
            try:
                return UpsertResult(await _create_row(session, ws, actor, data), created=True)
            except Conflict as conflict:
                raise _Raced(conflict) from None
        return UpsertResult(await _update_row(session, ws, actor, match, data, "upsert"), created=False)

    result = await _retrying(session, attempt)
    result.contact = await _after_ingest(session, ws, actor, result.contact)
    return result


async def delete(session: AsyncSession, ws: Workspace, actor: Actor, contact_id: str) -> None:
    contact = await get(session, ws, contact_id)
    payload = snapshot(contact)
    await deals.forget_contact(session, ws.id, contact.id)
    await tasks.forget_contact(session, ws.id, contact.id)
    await session.delete(contact)
    await session.flush()
    events.record(
        session,
        ws.id,
        actor,
        "contact.deleted",
        resource_type="contact",
        resource_id=contact.id,
        contact_id=contact.id,
        payload=payload,
    )


async def add_tags(session: AsyncSession, ws: Workspace, actor: Actor, contact_id: str, tags: list[str]) -> Contact:
    return await patch(
        session, ws, actor, contact_id, ContactIn(tags=[*(await get(session, ws, contact_id)).tags, *tags])
    )


async def remove_tags(session: AsyncSession, ws: Workspace, actor: Actor, contact_id: str, tags: list[str]) -> Contact:
    drop = set(tags)
    current = (await get(session, ws, contact_id)).tags
    return await patch(session, ws, actor, contact_id, ContactIn(tags=[t for t in current if t not in drop]))
