"""The import fast path: rows normalized in chunks (in worker processes for big files), new contacts written
set-based, every other row through the service path.

``prepare`` is pure (no database): it runs the same schema (``ContactIn``), normalizers
(``core.validation``), name rules (``contacts.names``), custom-field coercion and blocking keys
(``contacts.dedupe``) as ``contacts.service.create``, and builds the contact's rows and its
``contact.created`` payload. ``write_chunk`` then sends to the service path, in file order, every row whose
outcome depends on other data: an email or phone already stored, suppressed (erased people), or shared with
another row of the chunk (an in-file duplicate). The remaining rows are independent of everything else
written in the chunk, so writing them first and in bulk (one ``INSERT`` per table, ``COPY`` on PostgreSQL)
gives what writing them one by one gives. A unique violation there (a concurrent writer took an identity
since the check) rolls the bulk write back and sends those rows to the service path too.
"""

from __future__ import annotations

import gc
import json
import operator
import re
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import chain
from typing import Any, NamedTuple, cast

import asyncpg  # type: ignore[import-untyped]
import orjson
from pydantic import ValidationError
from pydantic_core import to_jsonable_python
from sqlalchemy import ARRAY, Table, any_, bindparam, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import sqltypes

from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.companies.freemail import is_personal_domain
from leadhub.companies.models import Company
from leadhub.contacts import dedupe
from leadhub.contacts.dedupe_models import MatchKey
from leadhub.contacts.models import Contact, ContactEmail, ContactPhone, ContactTag
from leadhub.contacts.names import join_parts, name_from_email, split_name
from leadhub.contacts.schemas import ContactIn
from leadhub.contacts.service import ADDRESS_PARTS, FIELD_DEFAULTS, NOT_NULL_FIELDS, PLAIN_FIELDS
from leadhub.core import clock, ids, validation
from leadhub.core.errors import FieldError
from leadhub.core.validation import ValidationFailure, normalize_phone
from leadhub.custom_fields import service as custom_fields
from leadhub.custom_fields.models import CustomFieldDefinition
from leadhub.db import statistics as planner_statistics
from leadhub.db.engine import Database, driver_connection
from leadhub.db.types import UTCDateTime
from leadhub.events.models import Event
from leadhub.http.errors import pydantic_errors
from leadhub.imports import mapping as mappings
from leadhub.imports.models import ImportRow
from leadhub.privacy import suppression
from leadhub.privacy.models import Suppression

_IN = 5000  # values per IN (...) list (SQLite allows 32,766 parameters)


@dataclass(frozen=True)
class Context:
    """What preparing a row needs, picklable for a worker process."""

    mapping: dict[str, str]
    unmapped_to_custom: bool
    default_region: str | None
    definitions: tuple[tuple[str, str, tuple[Any, ...]], ...]  # (key, type, options)
    # Set for an import job: a new contact's rows are made ready to write where it is prepared (see Ready),
    # for this engine and workspace (the hex of its id).
    sqlite: bool | None = None
    workspace: str | None = None


class Ready(NamedTuple):
    """A new contact's rows in the driver's form, made in the normalizing worker: the main process, which
    writes every row and was the import's bound, unpickled and converted dicts of ~40 values a row (~50 µs
    of its CPU a row with the garbage collection they set off, and SQLite's JSON texts) where it now joins
    lists or text. On SQLite each table's rows as tuples (``_CONTACT_COLUMNS`` order for the contact, ids
    as hex text); on PostgreSQL each table's lines of ``COPY … FROM STDIN`` text, one string a table (no
    object a row for the main process to unpickle or asyncpg to encode). The company, known only to the
    main process, is left out: the contact's row is its part before and after ``company_id`` on
    PostgreSQL (``company_id`` None in the tuple on SQLite), and the ``contact.created`` payload is its
    JSON text before and after the ``company_id`` member."""

    id: str  # the contact's, as hex
    contact: tuple[Any, ...]
    emails: list[tuple[Any, ...]] | str
    phones: list[tuple[Any, ...]] | str
    tags: list[tuple[Any, ...]] | str
    keys: list[tuple[Any, ...]] | str
    payload: tuple[str, str]
    created: datetime
    at: str  # created, as the driver takes it (SQLite's text, or COPY's)


@dataclass
class Issue:
    row: int
    kind: str
    column: str | None
    value_kind: str | None
    rule: str
    message: str
    merged_into_row: int | None = None


@dataclass
class Prepared:
    """One row after normalization. ``kind``: ``new`` (a contact to create unless its identities are taken),
    ``failed`` / ``skipped`` (final whatever the database holds), or ``check`` (refused by a create rule that
    a stored match would change: the service path decides when one of ``emails``/``phones`` is stored)."""

    row: int
    kind: str
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    cells: dict[str, Any] | None = None
    contact: dict[str, Any] | None = None
    email_rows: list[tuple[str, str, bool]] = field(default_factory=list)
    phone_rows: list[tuple[str, str, bool]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    payload: dict[str, Any] | None = None
    domain: str | None = None
    company: str | None = None  # the linked company's public id (set before in-file merges)
    # contact.updated events of in-file duplicates merged into this row: (row, payload, changes, at)
    merges: list[tuple[int, dict[str, Any], dict[str, Any], Any]] = field(default_factory=list)
    # A worker's ready-made rows (then ``contact``, ``payload``, the row lists and ``keys`` are left empty).
    ready: Ready | None = None
    company_key: uuid.UUID | None = None


# ---------------------------------------------------------------- preparing (pure)


def definitions_of(context: Context) -> dict[str, CustomFieldDefinition]:
    return {
        key: CustomFieldDefinition(key=key, type=kind, options=list(options))
        for key, kind, options in context.definitions
    }


def _entries(
    given: list[tuple[str, str, bool, str]], list_name: str, errors: list[FieldError]
) -> list[tuple[str, str, bool, str]]:
    """contacts.service._one_primary: repeats dropped (first spelling wins, a primary flag carries over),
    exactly one primary."""
    merged: dict[str, list[Any]] = {}
    for value, type_, primary, path in given:
        if value in merged:
            merged[value][2] = merged[value][2] or primary
        else:
            merged[value] = [value, type_, primary, path]
    result: list[tuple[str, str, bool, str]] = [(e[0], e[1], e[2], e[3]) for e in merged.values()]
    primaries = [e for e in result if e[2]]
    if len(primaries) > 1:
        errors.append(FieldError(list_name, "one_primary", f"at most one of {list_name} may be primary", "array"))
    elif result and not primaries:
        first = result[0]
        result[0] = (first[0], first[1], True, first[3])
    return result


def _failure(row: int, errors: Sequence[FieldError], origin: dict[str, str]) -> list[Issue]:
    return [Issue(row, "error", mappings.column_of(e.field, origin), e.kind, e.rule, e.message[:500]) for e in errors]


def prepare_row(
    context: Context, definitions: dict[str, CustomFieldDefinition], row: int, cells: dict[str, Any], error: str | None
) -> Prepared:
    if error is not None:
        return Prepared(row, "failed", issues=[Issue(row, "error", None, None, "format", f"row {error}")])
    raw, origin = mappings.to_contact(cells, context.mapping, context.unmapped_to_custom)
    if not raw:
        return Prepared(row, "skipped")
    try:
        data = ContactIn.model_validate(raw)
    except ValidationError as exc:
        return Prepared(row, "failed", issues=_failure(row, pydantic_errors(exc.errors()), origin))
    return prepare_contact(context, definitions, row, data, cells, origin)


def prepare_contact(
    context: Context,
    definitions: dict[str, CustomFieldDefinition],
    row: int,
    data: ContactIn,
    cells: dict[str, Any] | None = None,
    origin: dict[str, str] | None = None,
) -> Prepared:
    """A validated contact input prepared as ``prepare_row`` prepares a record's (the batch API's new
    contacts come this way)."""
    origin = origin or {}
    given = data.model_fields_set
    errors: list[FieldError] = []
    for name in NOT_NULL_FIELDS:
        if name in given and getattr(data, name) is None:
            errors.append(FieldError(name, "not_null", "must not be null (send a value, or omit the field)", "null"))

    emails_in: list[tuple[str, str, bool, str]] | None = None
    if "emails" in given or "email" in given:
        emails_in = [(e.address, e.type, e.primary, f"emails[{i}].address") for i, e in enumerate(data.emails or [])]
        if data.email:
            emails_in.insert(0, (data.email, "other", not any(e[2] for e in emails_in), "email"))
    phones_in: list[tuple[str, str, bool, str]] | None = None
    if "phones" in given or "phone" in given:
        raw_phones = [(p.number, p.type, p.primary, f"phones[{i}].number") for i, p in enumerate(data.phones or [])]
        if data.phone:
            raw_phones.insert(0, (data.phone, "other", not any(p[2] for p in raw_phones), "phone"))
        phones_in = []
        for number, type_, primary, path in raw_phones:
            try:
                phones_in.append((normalize_phone(number, context.default_region), type_, primary, path))
            except ValidationFailure as exc:
                errors.append(FieldError(path, exc.rule, exc.message, "string"))
    emails = _entries(_entries(emails_in, "emails", errors), "emails", errors) if emails_in is not None else []
    phones = _entries(_entries(phones_in, "phones", errors), "phones", errors) if phones_in is not None else []

    custom: dict[str, Any] = {}
    if data.custom_fields:
        custom_fields.apply_values(custom, data.custom_fields, definitions, errors)
    identities = [e[0] for e in emails], [p[0] for p in phones]
    if errors:
        return Prepared(row, "check", *identities, issues=_failure(row, errors, origin), cells=cells)
    if "company_id" in given:
        return Prepared(row, "check", *identities, cells=cells)  # a company reference: the service resolves it
    return _build(row, data, emails, phones, custom, identities, cells)


def _build(
    row: int,
    data: ContactIn,
    emails: list[tuple[str, str, bool, str]],
    phones: list[tuple[str, str, bool, str]],
    custom: dict[str, Any],
    identities: tuple[list[str], list[str]],
    cells: dict[str, Any] | None,
) -> Prepared:
    given = data.model_fields_set
    now = clock.now()
    key = ids.new_uuid()
    c: dict[str, Any] = {"id": key, "created_at": now, "updated_at": now}
    for name in PLAIN_FIELDS:
        c[name] = getattr(data, name) if name in given else FIELD_DEFAULTS.get(name)
    c["custom_fields"] = custom if data.custom_fields is not None else {}
    c["dnd_settings"], c["consent"] = {}, {}
    for a in ADDRESS_PARTS:
        c[f"address_{a}"] = None
    if "address" in given and data.address is not None:
        for a in data.address.model_fields_set:
            c[f"address_{a}"] = getattr(data.address, a)
    if data.dnd_settings is not None:
        settings: dict[str, Any] = {}
        for channel in data.dnd_settings.model_fields_set:
            value = getattr(data.dnd_settings, channel)
            if value is None:
                settings.pop(channel, None)
            else:
                settings[channel] = value.model_dump(mode="json", exclude_none=True)
        c["dnd_settings"] = settings
    if data.consent is not None:
        consent: dict[str, Any] = {}
        for purpose, entry in data.consent.items():
            if entry is None:
                consent.pop(purpose, None)
            else:
                consent[purpose] = entry.model_dump(mode="json", exclude_none=True)
        c["consent"] = consent
    tags = list(dict.fromkeys(data.tags)) if "tags" in given and data.tags is not None else []
    primary_email = next((e[0] for e in emails if e[2]), None)
    # contacts.service._apply_names, create mode.
    parts = {"first_name", "middle_name", "last_name"} & given
    for part in ("first_name", "middle_name", "last_name"):
        c[part] = getattr(data, part) if part in parts else None
    if "name" in given and data.name:
        c["name"] = data.name
        if not parts:
            c["first_name"], c["middle_name"], c["last_name"] = split_name(data.name)
    else:
        joined = join_parts(c["first_name"], c["middle_name"], c["last_name"])
        c["name"] = joined if joined else name_from_email(primary_email)
    c["search_text"] = _search_text(c, [e[0] for e in emails], [p[0] for p in phones])
    domain = primary_email.rsplit("@", 1)[1].lower() if primary_email and "@" in primary_email else None
    email_rows = [(e[0], e[1], e[2]) for e in emails]
    phone_rows = [(p[0], p[1], p[2]) for p in phones]
    payload = _snapshot(c, email_rows, phone_rows, tags, None)
    return Prepared(
        row,
        "new",
        *identities,
        cells=cells,
        contact=c,
        email_rows=email_rows,
        phone_rows=phone_rows,
        tags=tags,
        keys=_keys(c, email_rows, phone_rows),
        payload=payload,
        domain=domain if domain and not is_personal_domain(domain) else None,
    )


def _search_text(c: dict[str, Any], emails: list[str], phones: list[str]) -> str:
    text = [c["name"], c["first_name"], c["last_name"], c["company_name"], *emails]
    for p in phones:
        text += [p, p.lstrip("+")]
    return " ".join(t for t in text if t).lower()


def _keys(c: dict[str, Any], emails: list[tuple[str, str, bool]], phones: list[tuple[str, str, bool]]) -> list[str]:
    """match_index.refresh_keys's keys for this state of the contact."""
    return sorted(
        dedupe.blocking_keys(
            dedupe.profile(
                str(c["id"]),
                first_name=c["first_name"],
                middle_name=c["middle_name"],
                last_name=c["last_name"],
                name=c["name"],
                emails=[e[0] for e in emails],
                phones=[p[0] for p in phones],
                company_name=c["company_name"],
                website=c["website"],
                date_of_birth=c["date_of_birth"],
                country=c["country"],
            )
        )
    )


def _snapshot(
    c: dict[str, Any],
    emails: list[tuple[str, str, bool]],
    phones: list[tuple[str, str, bool]],
    tags: list[str],
    company: str | None,
) -> dict[str, Any]:
    """contacts.service.snapshot of this state: the native JSON events carry (``ContactOut`` dumped in
    JSON mode), built directly: a model per row cost more than the rest of the row."""
    address = {a: c[f"address_{a}"] for a in ADDRESS_PARTS}
    born = c["date_of_birth"]
    return {
        "id": ids.encode(ids.CONTACT, c["id"]),
        "first_name": c["first_name"],
        "middle_name": c["middle_name"],
        "last_name": c["last_name"],
        "name": c["name"],
        "emails": [{"address": e[0], "type": e[1], "primary": e[2]} for e in emails],
        "phones": [{"number": p[0], "type": p[1], "primary": p[2]} for p in phones],
        "company_name": c["company_name"],
        "company_id": company,
        "title": c["title"],
        "website": c["website"],
        "address": address if any(address.values()) else None,
        "country": c["country"],
        "timezone": c["timezone"],
        "date_of_birth": born.isoformat() if born is not None else None,
        "source": c["source"],
        "status": c["status"],
        "tags": list(tags),
        "custom_fields": _jsonable(c["custom_fields"]),
        "dnd": c["dnd"],
        "dnd_settings": _jsonable(c["dnd_settings"]),
        "consent": _jsonable(c["consent"]),
        "is_test": c["is_test"],
        "user_knowledge": c["user_knowledge"],
        "notes": c["notes"],
        "assigned_to": c["assigned_to"],
        "first_seen": _time(c["first_seen"]),
        "last_seen": _time(c["last_seen"]),
        "session_count": c["session_count"],
        "created_at": _time(c["created_at"]),
        "updated_at": _time(c["updated_at"]),
    }


def _time(value: Any) -> str | None:
    """A datetime as pydantic writes it in JSON mode (ISO 8601, UTC as ``Z``)."""
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    """A JSON object's own copy, as pydantic's JSON mode gives it (values already JSON: custom fields are
    JSON values; DND and consent entries were dumped in JSON mode)."""
    return dict(value) if _plain_json(value) else to_jsonable_python(value)


def _plain_json(value: Any) -> bool:
    if isinstance(value, str | int | float | bool) or value is None:
        return True
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain_json(v) for v in value)
    return False


_worker_context: tuple[Context, dict[str, CustomFieldDefinition]] | None = None


# Verdicts by distinct value a normalizing worker keeps between chunks (see validation.trim_value_caches): a
# worker whose caches filled up held ~180 MB at the end of a 1,000,000-row file instead of ~130.
WORKER_VALUE_CACHE = 8192
_in_worker = False


def worker_started() -> None:
    """A normalizing process's start: its modules' objects (~130,000) are set aside from the cyclic garbage
    collector, whose full passes scanned them all again and again while chunks were prepared (36 µs a row of
    the ~170 spent preparing it, 12 µs after). Those objects live as long as the process anyway."""
    global _in_worker
    _in_worker = True
    gc.freeze()


def prepare_chunk(context: Context, records: list[tuple[int, dict[str, Any], str | None]]) -> list[Prepared]:
    """Every record of a chunk prepared (runs in a worker process for big files)."""
    global _worker_context
    if _worker_context is None or _worker_context[0] != context:
        _worker_context = (context, definitions_of(context))
    definitions = _worker_context[1]
    prepared = [prepare_row(context, definitions, row, cells, error) for row, cells, error in records]
    if context.sqlite is not None and context.workspace is not None:
        make_ready(prepared, context.sqlite, context.workspace)
    if _in_worker:
        validation.trim_value_caches(WORKER_VALUE_CACHE)
    return prepared


def make_ready(prepared: list[Prepared], sqlite: bool, workspace: str) -> None:
    """Each new contact of a chunk as its ready rows, except those sharing an email or phone with another
    row of the chunk: the main process may merge in-file duplicates into them (merge_row), which needs
    the contact as values."""
    seen: dict[str, int] = {}
    for p in prepared:
        for tagged in chain(("e:" + e for e in p.emails), ("p:" + n for n in p.phones)):
            seen[tagged] = seen.get(tagged, 0) + 1
    for p in prepared:
        if p.kind != "new" or any(seen["e:" + e] > 1 for e in p.emails) or any(seen["p:" + n] > 1 for n in p.phones):
            continue
        try:
            p.ready = ready_rows(p, sqlite, workspace)
        except TypeError:  # a value orjson refuses (an integer past 64 bits): left to the main process
            continue
        p.contact = p.payload = None
        p.email_rows, p.phone_rows, p.tags, p.keys = [], [], [], []


# ---------------------------------------------------------------- in-file duplicates, merged in memory


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """events.changes: {field: {before, after}} for each field that differs."""
    return {k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]}


def merge_row(
    context: Context, definitions: dict[str, CustomFieldDefinition], root: Prepared, row: Prepared
) -> list[Issue] | None:
    """Apply ``row`` (a later row of ``root``'s group) to ``root``'s contact as contacts.service.upsert
    applies a match: lists added to, objects merged, names kept unless given, a ``contact.updated`` event
    with the changes. Returns None when merged, or the row's issues when it fails (``root`` unchanged)."""
    assert root.contact is not None and row.cells is not None
    raw, origin = mappings.to_contact(row.cells, context.mapping, context.unmapped_to_custom)
    data = ContactIn.model_validate(raw)
    given = data.model_fields_set
    errors: list[FieldError] = []
    raw_phones = [(p.number, p.type, p.primary, f"phones[{i}].number") for i, p in enumerate(data.phones or [])]
    if data.phone:
        raw_phones.insert(0, (data.phone, "other", not any(p[2] for p in raw_phones), "phone"))
    phones_in: list[tuple[str, str, bool, str]] = []
    for number, type_, primary, path in raw_phones:
        try:
            phones_in.append((normalize_phone(number, context.default_region), type_, primary, path))
        except ValidationFailure as exc:
            errors.append(FieldError(path, exc.rule, exc.message, "string"))
    if errors:  # upsert's match normalizes the phones first and stops there
        return _failure(row.row, errors, origin)
    for name in NOT_NULL_FIELDS:
        if name in given and getattr(data, name) is None:
            errors.append(FieldError(name, "not_null", "must not be null (send a value, or omit the field)", "null"))
    emails: list[tuple[str, str, bool, str]] | None = None
    phones: list[tuple[str, str, bool, str]] | None = None
    if "emails" in given or "email" in given:
        given_emails: list[tuple[str, str, bool, str]] = [
            (e.address, e.type, e.primary, f"emails[{i}].address") for i, e in enumerate(data.emails or [])
        ]
        if data.email:
            given_emails.insert(0, (data.email, "other", not any(e[2] for e in given_emails), "email"))
        current = [(a, t, p, "") for a, t, p in root.email_rows]
        emails = _entries(_added(current, _entries(given_emails, "emails", errors)), "emails", errors)
    if "phones" in given or "phone" in given:
        current = [(n, t, p, "") for n, t, p in root.phone_rows]
        phones = _entries(_added(current, _entries(phones_in, "phones", errors)), "phones", errors)
    c = dict(root.contact)
    custom = dict(c["custom_fields"] or {})
    if data.custom_fields:
        custom_fields.apply_values(custom, data.custom_fields, definitions, errors)
    if errors:
        return _failure(row.row, errors, origin)

    before = _snapshot(c, root.email_rows, root.phone_rows, root.tags, root.company)
    for name in PLAIN_FIELDS:
        if name in given:
            c[name] = getattr(data, name)
    if data.custom_fields is not None:
        c["custom_fields"] = custom
    if "address" in given:
        if data.address is None:
            for a in ADDRESS_PARTS:
                c[f"address_{a}"] = None
        else:
            for a in data.address.model_fields_set:
                c[f"address_{a}"] = getattr(data.address, a)
    if data.dnd_settings is not None:
        settings = dict(c["dnd_settings"])
        for channel in data.dnd_settings.model_fields_set:
            value = getattr(data.dnd_settings, channel)
            if value is None:
                settings.pop(channel, None)
            else:
                settings[channel] = value.model_dump(mode="json", exclude_none=True)
        c["dnd_settings"] = settings
    if data.consent is not None:
        consent = dict(c["consent"])
        for purpose, entry in data.consent.items():
            if entry is None:
                consent.pop(purpose, None)
            else:
                consent[purpose] = entry.model_dump(mode="json", exclude_none=True)
        c["consent"] = consent
    email_rows = [(e[0], e[1], e[2]) for e in emails] if emails is not None else root.email_rows
    phone_rows = [(p[0], p[1], p[2]) for p in phones] if phones is not None else root.phone_rows
    tags = list(dict.fromkeys(root.tags + data.tags)) if "tags" in given and data.tags is not None else root.tags
    # contacts.service._apply_names, upsert mode.
    parts = {"first_name", "middle_name", "last_name"} & given
    for part in parts:
        c[part] = getattr(data, part)
    if "name" in given and data.name:
        c["name"] = data.name
        if not parts:
            c["first_name"], c["middle_name"], c["last_name"] = split_name(data.name)
    else:
        renamed = bool(parts) or "name" in given
        joined = join_parts(c["first_name"], c["middle_name"], c["last_name"])
        if joined and renamed:
            c["name"] = joined
        elif not joined and (renamed or emails is not None):
            c["name"] = name_from_email(next((e[0] for e in email_rows if e[2]), None))
    c["search_text"] = _search_text(c, [e[0] for e in email_rows], [p[0] for p in phone_rows])
    after = _snapshot(c, email_rows, phone_rows, tags, root.company)
    changes = _changes(before, after)
    if changes:
        c["updated_at"] = clock.now()
        root.merges.append(
            (row.row, _snapshot(c, email_rows, phone_rows, tags, root.company), changes, c["updated_at"])
        )
    root.contact, root.email_rows, root.phone_rows, root.tags = c, email_rows, phone_rows, tags
    root.keys = _keys(c, email_rows, phone_rows)
    return None


def _added(current: list[tuple[str, str, bool, str]], given: list[tuple[str, str, bool, str]]) -> list[Any]:
    """contacts.service._combine, upsert mode: the given values not held yet are added, not primary."""
    known = {e[0] for e in current}
    added = [e for e in given if e[0] not in known]
    if current:
        added = [(e[0], e[1], False, e[3]) for e in added]
    return current + added


def mergeable(root: Prepared, row: Prepared, owner: dict[str, int]) -> bool:
    """Whether ``row`` provably matches ``root``'s contact and nothing else: it shares one of its current
    emails or phones, and each of its others is first seen at this row (no other row's contact holds it)."""
    held = {"e:" + e[0] for e in root.email_rows} | {"p:" + p[0] for p in root.phone_rows}
    mine = ["e:" + e for e in row.emails] + ["p:" + n for n in row.phones]
    return any(t in held for t in mine) and all(t in held or owner.get(t) == row.row for t in mine)


# ---------------------------------------------------------------- writing (one chunk, in its transaction)


def _among(session: AsyncSession, column: Any) -> Any:
    """``column`` is one of the list bound as ``values``: one array parameter on PostgreSQL, an expanding
    one on SQLite (a clause element per value cost more than the look-up)."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return column == any_(bindparam("values", type_=ARRAY(column.type)))
    return column.in_(bindparam("values", expanding=True))


async def _stored(session: AsyncSession, ws_id: uuid.UUID, emails: set[str], phones: set[str]) -> set[str]:
    """Which of these emails / phones are stored or suppressed (as ``e:``/``p:`` tagged values)."""
    found: set[str] = set()
    for values, column, owner_ws, tag in (
        (sorted(emails), ContactEmail.address, ContactEmail.workspace_id, "e:"),
        (sorted(phones), ContactPhone.number, ContactPhone.workspace_id, "p:"),
    ):
        query = select(column).where(owner_ws == ws_id, _among(session, column))
        for start in range(0, len(values), _IN):
            rows = await session.scalars(query, {"values": values[start : start + _IN]})
            found.update(tag + v for v in rows)
    digests = {suppression.digest("email", e): "e:" + e for e in emails}
    digests |= {suppression.digest("phone", p): "p:" + p for p in phones}
    keys = sorted(digests)
    query = select(Suppression.digest).where(Suppression.workspace_id == ws_id, _among(session, Suppression.digest))
    for start in range(0, len(keys), _IN):
        found.update(digests[d] for d in await session.scalars(query, {"values": keys[start : start + _IN]}))
    return found


@dataclass
class Split:
    """A chunk sorted: rows final already, rows to create in bulk, rows for the service path (file order)."""

    final: list[Prepared] = field(default_factory=list)
    bulk: list[Prepared] = field(default_factory=list)
    service: list[Prepared] = field(default_factory=list)
    # Later rows of a group whose first row is bulk-created, with that first row: merged in memory.
    merges: list[tuple[Prepared, Prepared]] = field(default_factory=list)
    owner: dict[str, int] = field(default_factory=dict)  # identity -> row number of its first row


async def split(session: AsyncSession, ws_id: uuid.UUID, prepared: list[Prepared], merge: bool = False) -> Split:
    """Rows linked by a shared email or phone form a group (an in-file duplicate and what it duplicates).
    A group touching a stored or suppressed identity goes to the service path whole, in file order. In
    any other group the first row is independent of everything before it: it is final or bulk-created,
    and the group's later rows follow on the service path, which then finds it as the sequential import
    would (a merge into that row)."""
    parent = list(range(len(prepared)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, p in enumerate(prepared):
        for tagged in ["e:" + e for e in p.emails] + ["p:" + n for n in p.phones]:
            if tagged in owner:
                a, b = root(owner[tagged]), root(i)
                parent[max(a, b)] = min(a, b)  # the group's root is its first row
            else:
                owner[tagged] = i
    stored = await _stored(
        session,
        ws_id,
        {e for p in prepared for e in p.emails},
        {n for p in prepared for n in p.phones},
    )
    touched = {root(owner[t]) for t in stored if t in owner}
    out = Split(owner={t: prepared[i].row for t, i in owner.items()})
    for i, p in enumerate(prepared):
        if p.kind in ("failed", "skipped"):
            out.final.append(p)
            continue
        group = root(i)
        if merge and group not in touched and group != i and prepared[group].kind == "new":
            out.merges.append((prepared[group], p))
        elif group in touched or group != i or (p.kind == "check" and not p.issues):
            out.service.append(p)
        elif p.kind == "check":
            out.final.append(p)  # refused by the create rules; nothing stored could make it a match
        else:
            out.bulk.append(p)
    return out


async def _companies(session: AsyncSession, ws_id: uuid.UUID, domains: set[str], cache: dict[str, Any]) -> None:
    wanted = sorted(d for d in domains if d not in cache)
    for start in range(0, len(wanted), _IN):
        part = wanted[start : start + _IN]
        rows = await session.execute(
            select(Company.domain, Company.id).where(Company.workspace_id == ws_id, Company.domain.in_(part))
        )
        found = {d: k for d, k in rows}
        for d in part:
            cache[d] = found.get(d)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


_CONTACT_COLUMNS = [c.name for c in Contact.__table__.columns]
_EVENT_COLUMNS = [c.name for c in Event.__table__.columns]
_FTS_TRIGGER = "contacts_fts_ai"
_SQLITE_CACHE_KIB = -16384  # PRAGMA cache_size while a chunk is written (negative: KiB)
# Child rows as (table, columns); values in this order, ids already in the driver's form.
_EMAILS = (ContactEmail.__tablename__, ["workspace_id", "address", "contact_id", "type", "is_primary", "position"])
_PHONES = (ContactPhone.__tablename__, ["workspace_id", "number", "contact_id", "type", "is_primary", "position"])
_TAGS = (ContactTag.__tablename__, ["workspace_id", "contact_id", "tag", "position"])
_KEYS = (MatchKey.__tablename__, ["workspace_id", "key", "contact_id"])
_MADE = (ImportRow.__tablename__, ["workspace_id", "job_id", "contact_id", "row"])


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


def _to_sqlite(column: Any) -> Callable[[Any], Any] | None:
    """What SQLAlchemy binds for this column on SQLite (Uuid as hex, UTCDateTime as naive UTC text, JSON
    as json.dumps text, None included), without its per-row bind machinery; None: the value itself."""
    kind = column.type
    if isinstance(kind, sqltypes.JSON):
        return json.dumps
    if isinstance(kind, sqltypes.Uuid):
        return lambda v: v.hex if v is not None else None
    if isinstance(kind, UTCDateTime):
        return lambda v: v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if v is not None else None
    if isinstance(kind, sqltypes.Date):
        return lambda v: v.isoformat() if v is not None else None
    return None


def _to_postgres(column: Any) -> Callable[[Any], Any] | None:
    """What COPY needs for this column: JSON as its text (SQL NULL for None), anything else as it is."""
    if isinstance(column.type, sqltypes.JSON):
        return lambda v: _json(v) if v is not None else None
    return None


def _driver_form(column: Any, sqlite: bool) -> Callable[[Any], Any] | None:
    """A ready row's value for this column: as ``_to_sqlite``/``_to_postgres`` convert it, but ids as hex text on
    PostgreSQL too (asyncpg parses that in C; a uuid.UUID it asks for ``.bytes``, a Python property), an empty JSON
    object's text without encoding it, and the last time converted remembered (a new contact's
    ``created_at`` is its ``updated_at``)."""
    if isinstance(column.type, sqltypes.Uuid):
        return lambda v: v.hex if v is not None else None
    convert = (_to_sqlite if sqlite else _to_postgres)(column)
    if convert is None:
        return None
    if isinstance(column.type, sqltypes.JSON):
        dump = convert
        return lambda v: "{}" if type(v) is dict and not v else dump(v)
    if isinstance(column.type, UTCDateTime):
        last: list[tuple[Any, Any]] = [(None, None)]  # one tuple: threads preparing chunks share it

        def stamp(v: Any) -> Any:
            seen, text = last[0]
            if v is not seen:
                text = convert(v)
                last[0] = (v, text)
            return text

        return stamp
    return convert


_CONTACT_NAMES = _CONTACT_COLUMNS[1:]  # a ready row's contact values, after its workspace_id
_READY_FORM = {
    engine: [(i, f) for i, n in enumerate(_CONTACT_NAMES) if (f := _driver_form(_table(Contact).c[n], engine))]
    for engine in (True, False)
}
_COMPANY_ID = _CONTACT_COLUMNS.index("company_id")
_CREATED_AT = _CONTACT_COLUMNS.index("created_at")


def ready_rows(p: Prepared, sqlite: bool, workspace: str) -> Ready:
    """A new contact's rows (``p`` as prepared, in-file duplicates merged) as the driver takes them on
    this engine; ``workspace``: the hex of the workspace's id."""
    c, payload = p.contact, p.payload
    assert c is not None and payload is not None
    values: list[Any] = [workspace, *map(c.get, _CONTACT_NAMES)]
    for i, convert in _READY_FORM[sqlite]:
        values[i + 1] = convert(values[i + 1])
    cid = values[1]
    dump: Callable[[Any], str] = json.dumps if sqlite else _json
    members = list(payload.items())
    at = [k for k, _ in members].index("company_id")
    parts = (dump(dict(members[:at])), dump(dict(members[at + 1 :])))
    if sqlite:
        return Ready(
            cid,
            tuple(values),
            [(workspace, a, cid, t, primary, i) for i, (a, t, primary) in enumerate(p.email_rows)],
            [(workspace, n, cid, t, primary, i) for i, (n, t, primary) in enumerate(p.phone_rows)],
            [(workspace, cid, tag, i) for i, tag in enumerate(p.tags)],
            [(workspace, k, cid) for k in p.keys],
            parts,
            c["created_at"],
            values[_CREATED_AT],
        )
    cells = [_copy_text(v) for v in values]
    return Ready(
        cid,
        ("\t".join(cells[:_COMPANY_ID]) + "\t", "\t" + "\t".join(cells[_COMPANY_ID + 1 :]) + "\n"),
        "".join(
            f"{workspace}\t{_copy_text(a)}\t{cid}\t{_copy_text(t)}\t{'t' if primary else 'f'}\t{i}\n"
            for i, (a, t, primary) in enumerate(p.email_rows)
        ),
        "".join(
            f"{workspace}\t{_copy_text(n)}\t{cid}\t{_copy_text(t)}\t{'t' if primary else 'f'}\t{i}\n"
            for i, (n, t, primary) in enumerate(p.phone_rows)
        ),
        "".join(f"{workspace}\t{cid}\t{_copy_text(tag)}\t{i}\n" for i, tag in enumerate(p.tags)),
        "".join(f"{workspace}\t{_copy_text(k)}\t{cid}\n" for k in p.keys),
        parts,
        c["created_at"],
        c["created_at"].isoformat(),
    )


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_NULL = "\\N"
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")


def _copy_text(value: Any) -> str:
    """A value as PostgreSQL's ``COPY`` text format writes it (NULL as ``\\N``; a backslash, tab, newline or
    carriage return escaped; no NUL reaches here: validation refuses it)."""
    if value is None:
        return _COPY_NULL
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES) if _COPY_SPECIAL.search(value) else value
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _payload_text(parts: tuple[str, str], company: str | None, sqlite: bool) -> str:
    """The ``contact.created`` payload's JSON text with its company: what ``json.dumps`` (SQLite) or
    orjson (PostgreSQL) writes for the whole object. A company's public id is plain ASCII."""
    head, tail = parts
    value = f'"{company}"' if company is not None else "null"
    if sqlite:
        return f'{head[:-1]}, "company_id": {value}, {tail[1:]}'
    return f'{head[:-1]},"company_id":{value},{tail[1:]}'


def _with_company(contact: tuple[Any, ...], company: uuid.UUID | None) -> tuple[Any, ...]:
    if company is None or contact[_COMPANY_ID] is not None:
        return contact
    return (*contact[:_COMPANY_ID], company.hex, *contact[_COMPANY_ID + 1 :])


def _stamp(value: datetime) -> str:
    """A datetime as the UTCDateTime column binds it on SQLite."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


async def _write(session: AsyncSession, sqlite: bool, table: str, columns: list[str], rows: list[Any]) -> None:
    """Rows into a table on the session's own connection, inside its transaction: ``COPY`` on PostgreSQL,
    one prepared ``INSERT`` executed for every row on SQLite."""
    if not rows:
        return
    driver = await driver_connection(session)
    if not sqlite:
        await driver.copy_records_to_table(table, records=rows, columns=columns)
        return
    names = ", ".join(f'"{c}"' for c in columns)
    await driver.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})', rows)


async def _insert_contacts_sqlite(session: AsyncSession, rows: list[tuple[Any, ...]]) -> None:
    """Insert contacts on SQLite. The FTS5 index of ``q`` search (migration 0011) is fed by a per-row
    trigger, which costs ~1.7 ms a row inside a big insert; fed once per chunk with ``INSERT … SELECT`` it
    costs ~80 µs. So, inside this transaction (SQLite DDL is transactional: nobody ever sees the trigger
    missing), the trigger is set aside, the rows inserted, the index fed, and the trigger put back as
    it was written."""
    trigger = await session.scalar(
        text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :name"), {"name": _FTS_TRIGGER}
    )
    if trigger is None:
        await _write(session, True, "contacts", _CONTACT_COLUMNS, rows)
        return
    last = await session.scalar(text("SELECT coalesce(max(rowid), 0) FROM contacts"))
    await session.execute(text(f"DROP TRIGGER {_FTS_TRIGGER}"))
    await _write(session, True, "contacts", _CONTACT_COLUMNS, rows)
    await session.execute(
        text(
            "INSERT INTO contacts_fts(rowid, workspace_id, search_text)"
            " SELECT rowid, workspace_id, search_text FROM contacts WHERE rowid > :last"
        ),
        {"last": last},
    )
    await session.execute(text(trigger))


async def _insert_rows(
    session: AsyncSession, ws: Workspace, actor: Actor, job_id: uuid.UUID, rows: list[Prepared], outbox: bool
) -> list[Event]:
    ws_id = ws.id
    sqlite = session.bind is None or session.bind.dialect.name != "postgresql"
    ws_hex = ws_id.hex
    ready = [p.ready if p.ready is not None else ready_rows(p, sqlite, ws_hex) for p in rows]
    happened = _happened(rows, ready, sqlite)
    # The events' sequence numbers as one block: the same row lock events.flush takes, held to commit.
    result = await session.execute(
        update(Workspace)
        .where(Workspace.id == ws_id)
        .values(event_seq=Workspace.event_seq + len(happened))
        .returning(Workspace.event_seq)
        .execution_options(synchronize_session=False)
    )
    first = result.scalar_one() - len(happened) + 1
    event_ids = [ids.new_uuid() for _ in happened]
    if sqlite:
        await _write_sqlite(session, rows, ready, happened, first, event_ids, actor, ws_hex, job_id.hex)
    else:
        await _write_postgres(session, rows, ready, happened, first, event_ids, actor, ws_hex, job_id.hex)
    if not outbox:
        return []
    return [
        Event(
            workspace_id=ws_id,
            seq=first + n,
            id=key,
            type=kind,
            resource_type="contact",
            resource_id=uuid.UUID(cid),
            contact_id=uuid.UUID(cid),
            actor_type=actor.type,
            actor_id=actor.id,
            door=actor.door,
            changes=json.loads(changes) if changes is not None else None,
            payload=json.loads(payload),
            occurred_at=at,
        )
        for n, (key, (_, kind, cid, payload, changes, _, at)) in enumerate(zip(event_ids, happened, strict=True))
    ]


async def _write_sqlite(
    session: AsyncSession,
    rows: list[Prepared],
    ready: list[Ready],
    happened: list[_Happened],
    first: int,
    event_ids: list[uuid.UUID],
    actor: Actor,
    ws: str,
    job: str | None,
) -> None:
    head = (actor.type, actor.id, actor.door)
    events = [
        # A JSON column's None is JSON's null on SQLite (as SQLAlchemy binds it).
        (ws, first + n, key.hex, kind, "contact", cid, cid, *head, changes or "null", payload, at)
        for n, (key, (_, kind, cid, payload, changes, at, _)) in enumerate(zip(event_ids, happened, strict=True))
    ]
    tables: list[tuple[tuple[str, list[str]], list[Any]]] = [
        (_EMAILS, list(chain.from_iterable(r.emails for r in ready))),
        (_PHONES, list(chain.from_iterable(r.phones for r in ready))),
        (_TAGS, list(chain.from_iterable(r.tags for r in ready))),
        (_KEYS, list(chain.from_iterable(r.keys for r in ready))),
        (_MADE, [] if job is None else [(ws, job, r.id, p.row) for p, r in zip(rows, ready, strict=True)]),
        (("events", _EVENT_COLUMNS), events),
    ]
    # A chunk's match keys land all over their primary key's index: with SQLite's default 2 MB page cache
    # each insert re-read pages (11.5 µs a key against 7.0 µs with 16 MB). The connection's own setting
    # is put back after the chunk, so a pooled connection keeps its usual footprint.
    cache = int(await session.scalar(text("PRAGMA cache_size")) or 0)
    if _SQLITE_CACHE_KIB < cache < 0:  # a bigger cache, or one counted in pages, is left as it is
        await session.execute(text(f"PRAGMA cache_size = {_SQLITE_CACHE_KIB}"))
    await _insert_contacts_sqlite(
        session, [_with_company(r.contact, p.company_key) for p, r in zip(rows, ready, strict=True)]
    )
    for (table, columns), records in tables:
        await _write(session, True, table, columns, records)
    # Only after a chunk written: after a failure the session may run nothing more (a task cancelled
    # mid-statement has its connection invalidated, and a statement here raised in place of the
    # cancellation, failing the job). A connection kept after a failed chunk keeps the bigger cache.
    await session.execute(text(f"PRAGMA cache_size = {cache}"))


async def _write_postgres(
    session: AsyncSession,
    rows: list[Prepared],
    ready: list[Ready],
    happened: list[_Happened],
    first: int,
    event_ids: list[uuid.UUID],
    actor: Actor,
    ws: str,
    job: str | None,
) -> None:
    """Each table's lines of ``COPY`` text joined and sent as they are (the workers wrote the contacts',
    emails', phones', tags' and match keys' lines)."""
    head = "\t".join(_copy_text(v) for v in (actor.type, actor.id, actor.door))
    contacts = "".join(
        f"{r.contact[0]}{p.company_key.hex if p.company_key else _COPY_NULL}{r.contact[1]}"
        for p, r in zip(rows, ready, strict=True)
    )
    events = "".join(
        f"{ws}\t{first + n}\t{key.hex}\t{kind}\tcontact\t{cid}\t{cid}\t{head}\t{_copy_text(changes)}\t"
        f"{_copy_text(payload)}\t{at}\n"
        for n, (key, (_, kind, cid, payload, changes, at, _)) in enumerate(zip(event_ids, happened, strict=True))
    )
    tables = [
        (("contacts", _CONTACT_COLUMNS), contacts),
        (_EMAILS, "".join(cast(str, r.emails) for r in ready)),
        (_PHONES, "".join(cast(str, r.phones) for r in ready)),
        (_TAGS, "".join(cast(str, r.tags) for r in ready)),
        (_KEYS, "".join(cast(str, r.keys) for r in ready)),
        (
            _MADE,
            "" if job is None else "".join(f"{ws}\t{job}\t{r.id}\t{p.row}\n" for p, r in zip(rows, ready, strict=True)),
        ),
        (("events", _EVENT_COLUMNS), events),
    ]
    driver = await driver_connection(session)
    for (table, columns), lines in tables:
        if lines:
            await driver.copy_to_table(table, source=_sent(lines.encode()), columns=columns, format="text")


async def _sent(data: bytes) -> AsyncIterator[bytes]:
    """``data`` as the one piece of an async iterable (bytes alone asyncpg takes for a file's path)."""
    yield data


# An event as _insert_rows gathers it: (row, type, contact id, payload and changes as JSON text (None: no
# changes), occurred_at as the driver takes it and as a datetime).
_Happened = tuple[int, str, str, str, str | None, str, datetime]


def _happened(rows: list[Prepared], ready: list[Ready], sqlite: bool) -> list[_Happened]:
    """Each new contact's ``contact.created`` and the ``contact.updated`` of the in-file duplicates merged
    into it, in file order (as the rows would have been written one by one)."""
    dump: Callable[[Any], str] = json.dumps if sqlite else _json
    stamp: Callable[[datetime], str] = _stamp if sqlite else datetime.isoformat
    happened: list[_Happened] = []
    for p, r in zip(rows, ready, strict=True):
        payload = _payload_text(r.payload, p.company, sqlite)
        happened.append((p.row, "contact.created", r.id, payload, None, r.at, r.created))
        for row, merged, changes, at in p.merges:
            happened.append((row, "contact.updated", r.id, dump(merged), dump(changes), stamp(at), at))
    happened.sort(key=operator.itemgetter(0))
    return happened


# Planner statistics outgrown by a young table (why: db.statistics): importing 20,000 rows into a fresh database
# cost ~200 µs of server CPU per checked row (growing with the table) against ~20 µs with statistics. A job
# counts what it writes itself, exactly and without waiting for PostgreSQL's activity counters (which a busy
# connection reports at most once a second): it analyzes contacts, emails and phones each time it has written
# as many contacts as the statistics knew of (statistics.MIN_ROWS at least), which also makes every
# connection plan anew.
ANALYZE_MIN_ROWS = planner_statistics.MIN_ROWS
_RELTUPLES = text("SELECT reltuples FROM pg_class WHERE oid = 'contacts'::regclass")


@dataclass
class Statistics:
    known: float  # contacts the planner's statistics count (pg_class.reltuples; -1: never analyzed)
    written: int = 0  # contacts written by this job since


async def statistics(db: Database) -> Statistics | None:
    """The contacts table's planner statistics as a job starts (None on SQLite, which plans each statement
    when it is prepared)."""
    if db.is_sqlite:
        return None
    async with db.read_session() as session:
        return Statistics(float(await session.scalar(_RELTUPLES) or 0))


async def keep_statistics(db: Database, stats: Statistics | None, created: int) -> None:
    """After a committed chunk: analyze the tables a job grows when it has outgrown their statistics."""
    if stats is None:
        return
    stats.written += created
    if stats.written < max(stats.known, ANALYZE_MIN_ROWS):
        return
    async with db.session() as session:
        await session.execute(text("ANALYZE contacts, contact_emails, contact_phones"))
        stats.known = float(await session.scalar(_RELTUPLES) or 0)
        await session.commit()
    stats.written = 0


async def link_companies(
    session: AsyncSession, ws_id: uuid.UUID, rows: list[Prepared], company_cache: dict[str, Any]
) -> None:
    """companies.company_for_email for each new contact's primary email, one query per chunk."""
    await _companies(session, ws_id, {p.domain for p in rows if p.domain}, company_cache)
    for p in rows:
        company = company_cache.get(p.domain) if p.domain else None
        p.company_key = company
        p.company = ids.encode(ids.COMPANY, company) if company else None
        if p.ready is None:
            assert p.contact is not None and p.payload is not None
            p.contact["company_id"] = company
            p.payload["company_id"] = p.company


async def write_contacts(session: AsyncSession, ws_id: uuid.UUID, actor: Actor, rows: list[Prepared]) -> bool:
    """Only the contacts of ``rows`` with their emails, phones, tags and match keys, in bulk, by the import's
    writers (no events, no import rows: the caller records them); False (and nothing written) when an
    identity was taken concurrently since the check."""
    if not rows:
        return True
    sqlite = session.bind is None or session.bind.dialect.name != "postgresql"
    ws = ws_id.hex
    ready = [ready_rows(p, sqlite, ws) for p in rows]
    write = _write_sqlite if sqlite else _write_postgres
    try:
        async with session.begin_nested():
            await write(session, rows, ready, [], 0, [], actor, ws, None)
    except (IntegrityError, sqlite3.IntegrityError, asyncpg.UniqueViolationError):
        return False
    return True


async def write_bulk(
    session: AsyncSession,
    ws: Workspace,
    actor: Actor,
    job_id: uuid.UUID,
    rows: list[Prepared],
    outbox: bool,
    company_cache: dict[str, Any],
) -> bool:
    """Create the contacts of ``rows`` (companies linked, in-file duplicates merged) in bulk; False (and
    nothing written) when an identity was taken concurrently since the check, so the caller sends the
    rows to the service path."""
    if not rows:
        return True
    try:
        async with session.begin_nested():
            written = await _insert_rows(session, ws, actor, job_id, rows, outbox)
    except (IntegrityError, sqlite3.IntegrityError, asyncpg.UniqueViolationError):
        # A unique key taken since the look-up (the raw drivers raise their own error types).
        return False
    if written:
        from leadhub.webhooks import outbox as deliveries

        await deliveries.enqueue(session, written)
    return True
