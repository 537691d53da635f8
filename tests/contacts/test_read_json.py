"""The read routes (get, lookup, list and search) answer from plain rows: their bytes are exactly what
``ContactOut`` serialized from ORM contacts (``service.to_out``) gave, field order and formats included, for
awkward contacts and for generated ones; and each reads its contacts with their lists in one statement."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC
from typing import Any

import httpx
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import Workspace
from leadhub.contacts import listing, lookup, service
from leadhub.contacts.schemas import ContactList
from leadhub.core.pagination import PageRequest
from leadhub.db.engine import Database
from leadhub.http.context import serialize
from tests.conftest import Tenant
from tests.contacts.support import create_contact
from tests.drawing import draw

AWKWARD: list[dict[str, Any]] = [
    {
        "first_name": "Zoë",
        "middle_name": "Ünïcödé ☃",
        "last_name": "Ørsted 𝄞",
        "emails": [
            {"address": "second@example.io", "type": "personal"},
            {"address": "first@example.io", "type": "work", "primary": True},
            {"address": "third@example.io"},
        ],
        "phones": [
            {"number": "+14155550101", "type": "home"},
            {"number": "(415) 555-0102", "type": "mobile", "primary": True},
        ],
        "company_name": 'Acme "Rockets", Inc.\n',
        "title": "CTO",
        "website": "https://acme.example/a?b=c&d=é",
        "address": {"line1": "1 Rue de la Paix", "line2": "Bât. B", "city": "Paris", "postal_code": "75002"},
        "country": "fr",
        "timezone": "Europe/Paris",
        "date_of_birth": "1980-02-29",
        "source": "ads",
        "status": "qualified",
        "tags": ["zeta", "alpha", "mu", "éte", "with space"],
        "custom_fields": {
            "nested": {"b": [1, 2.5, {"c": None}], "a": True, "": "empty key"},
            "float": 0.1,
            "negative_zero": -0.0,
            "large": 1e20,
            "tiny": 1e-7,
            "whole_float": 3.0,
            "int64": 9223372036854775807,
            "text": 'line\nbreak "quoted" \\ \u2028 \t <b>&amp;</b>',
            "empty_object": {},
            "empty_list": [],
            "null": None,
            "false": False,
        },
        "dnd": True,
        "dnd_settings": {
            "email": {"status": "active", "message": "asked", "code": "x1"},
            "sms": {"status": "inactive"},
        },
        "consent": {
            "marketing": {"granted": True, "source": "form", "recorded_at": "2024-05-06T07:08:09.123456Z"},
            "calls": {"granted": False},
        },
        "is_test": True,
        "user_knowledge": "knows\u0001 a lot",
        "notes": "",
        "assigned_to": "usr_1",
        "first_seen": "2024-01-02T03:04:05Z",
        "last_seen": "2024-01-02T03:04:05.5+02:00",
        "session_count": 7,
    },
    {"email": "only@example.io"},
    {"phone": "+442079460111", "address": {"city": "London"}},
    # An integer past 64 bits: orjson refuses it, so this contact goes through the models instead.
    {"first_name": "Big", "custom_fields": {"huge": 123456789012345678901234567890, "small": -(2**70)}},
    {"name": "Dr. Jane Q. Public III", "address": {"country": "DE"}, "tags": ["one"]},
]


@contextlib.contextmanager
def counted(database: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)


async def _reference_get(database: Database, tenant: Tenant, contact_id: str) -> bytes:
    async with database.read_session() as session:
        ws = await session.get(Workspace, tenant.ws_id)
        assert ws is not None
        return serialize(service.to_out(await service.get(session, ws, contact_id)))


async def _reference_page(
    database: Database, tenant: Tenant, filters: service.ContactFilters, limit: int, cursor: str | None, sort: str
) -> bytes:
    async with database.read_session() as session:
        ws = await session.get(Workspace, tenant.ws_id)
        assert ws is not None
        page = await service.list_contacts(session, ws, filters, PageRequest(limit, cursor), sort)
        out = [service.to_out(c) for c in page.items]
        return serialize(ContactList(data=out, next_cursor=page.next_cursor, has_more=page.has_more))


async def _same_as_reference(
    client: httpx.AsyncClient, database: Database, tenant: Tenant, contact: dict[str, Any]
) -> None:
    expected = await _reference_get(database, tenant, contact["id"])
    got = await client.get(f"/v1/contacts/{contact['id']}", headers=tenant.headers)
    assert got.status_code == 200 and got.headers["content-type"] == "application/json"
    assert got.content == expected
    for email in contact["emails"]:
        found = await client.get("/v1/contacts/lookup", params={"email": email["address"]}, headers=tenant.headers)
        assert found.content == expected
    for phone in contact["phones"]:
        found = await client.get("/v1/contacts/lookup", params={"phone": phone["number"]}, headers=tenant.headers)
        assert found.content == expected


async def test_get_and_lookup_answer_exactly_what_contact_out_gave(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    company = await client.post(
        "/v1/companies", json={"name": "Acme", "domain": "acme.example"}, headers=tenant.headers
    )
    assert company.status_code == 201, company.text
    bodies = [*AWKWARD, {"first_name": "Linked", "company_id": company.json()["id"], "email": "linked@acme.example"}]
    for body in bodies:
        contact = await create_contact(client, tenant, body)
        await _same_as_reference(client, database, tenant, contact)


async def test_list_pages_answer_exactly_what_contact_out_gave(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    for body in AWKWARD:
        await create_contact(client, tenant, body)
    walks: list[tuple[dict[str, Any], service.ContactFilters]] = [
        ({}, service.ContactFilters()),
        ({"sort": "updated_at"}, service.ContactFilters()),
        ({"sort": "-updated_at"}, service.ContactFilters()),
        ({"sort": "created_at"}, service.ContactFilters()),
        ({"q": "example.io"}, service.ContactFilters(q="example.io")),
        ({"tag": "one"}, service.ContactFilters(tags=["one"])),
        ({"status": "qualified"}, service.ContactFilters(status=["qualified"])),
        ({"q": "nobody at all"}, service.ContactFilters(q="nobody at all")),
    ]
    for params, filters in walks:
        cursor: str | None = None
        pages = 0
        while True:
            query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
            got = await client.get("/v1/contacts", params=query, headers=tenant.headers)
            assert got.status_code == 200, got.text
            sort = str(params.get("sort", "-created_at"))
            assert got.content == await _reference_page(database, tenant, filters, 2, cursor, sort), params
            pages += 1
            cursor = got.json()["next_cursor"]
            if cursor is None:
                break
        assert pages >= 1


_json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
_json_value = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
_text = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=30)
_bodies = st.fixed_dictionaries(
    {},
    optional={
        "first_name": _text,
        "last_name": _text,
        "company_name": _text,
        "title": _text,
        "source": _text,
        "notes": st.text(max_size=50),
        "status": st.sampled_from(["new", "contacted", "qualified", "converted", "lost", "follow_up"]),
        "tags": st.lists(
            st.text(st.characters(exclude_categories=("Cs", "Cc", "Zs")), min_size=1, max_size=10), max_size=4
        ),
        "custom_fields": st.dictionaries(
            st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), _json_value, max_size=4
        ),
        "address": st.fixed_dictionaries(
            {}, optional={"city": _text, "line1": _text, "postal_code": st.text(max_size=10)}
        ),
        "dnd": st.booleans(),
        "session_count": st.integers(0, 2**31 - 1),
        "first_seen": st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    },
)


def _generated(count: int) -> list[dict[str, Any]]:
    return draw(_bodies, count)


async def test_generated_contacts_read_back_exactly_as_contact_out_gave(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    created = 0
    for n, body in enumerate(_generated(60)):
        response = await client.post(
            "/v1/contacts", json={**body, "email": f"gen{n}@example.io"}, headers=tenant.headers
        )
        if response.status_code == 422:  # a generated value the input rules refuse (a past-date, a bound)
            continue
        assert response.status_code == 201, response.text
        created += 1
        await _same_as_reference(client, database, tenant, response.json())
    assert created >= 40  # the strategies draw mostly valid contacts
    got = await client.get("/v1/contacts", params={"limit": 200}, headers=tenant.headers)
    assert got.content == await _reference_page(database, tenant, service.ContactFilters(), 200, None, "-created_at")


@contextlib.asynccontextmanager
async def driver_statements(database: Database, session: AsyncSession) -> AsyncIterator[list[str]]:
    """The statements the session's driver connection runs (the look-ups go to the driver directly)."""
    connection = await session.connection()
    driver: Any = (await connection.get_raw_connection()).driver_connection
    seen: list[str] = []
    if database.is_postgres:

        def log(record: Any) -> None:
            seen.append(record.query)

        driver.add_query_logger(log)
        try:
            yield seen
        finally:
            driver.remove_query_logger(log)

    else:
        await driver.set_trace_callback(seen.append)
        try:
            yield seen
        finally:
            await driver.set_trace_callback(None)


async def _sent(seen: list[str]) -> int:
    """How many statements were sent (asyncpg calls its query loggers soon after, not during, the query)."""
    await asyncio.sleep(0)
    count = len(seen)
    seen.clear()
    return count


async def test_each_read_is_one_statement(client: httpx.AsyncClient, database: Database, tenant: Tenant) -> None:
    made = [await create_contact(client, tenant, body) for body in AWKWARD]
    async with database.read_session() as session:
        ws = await session.get(Workspace, tenant.ws_id)
        assert ws is not None
        with counted(database) as statements:
            page = await listing.contact_page(session, ws, service.ContactFilters(status=["new"]), PageRequest(50))
            assert len(statements) == 1 and len(page["data"]) == 4
        async with driver_statements(database, session) as sent:
            await _sent(sent)
            assert (await lookup.out_by_id(session, ws, made[0]["id"]))["tags"] == AWKWARD[0]["tags"]
            assert await _sent(sent) == 1
            found = await lookup.out_by_email(session, ws, "SECOND@example.io")
            assert found is not None and [e["address"] for e in found["emails"]] == [
                "second@example.io",
                "first@example.io",
                "third@example.io",
            ]
            assert await _sent(sent) == 1
            found = await lookup.out_by_phone(session, ws, "+1 415 555 0102")
            assert found is not None and [p["primary"] for p in found["phones"]] == [False, True]
            assert await _sent(sent) == 1


async def test_lookup_and_get_are_walled_by_workspace(
    client: httpx.AsyncClient, database: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await create_contact(client, other_tenant, {"email": "theirs@example.io", "phone": "+14155550177"})
    async with database.read_session() as session:
        ws = await session.get(Workspace, tenant.ws_id)
        assert ws is not None
        assert await lookup.out_by_email(session, ws, "theirs@example.io") is None
        assert await lookup.out_by_phone(session, ws, "+14155550177") is None
    assert (await client.get(f"/v1/contacts/{theirs['id']}", headers=tenant.headers)).status_code == 404
    found = await client.get("/v1/contacts/lookup", params={"email": "theirs@example.io"}, headers=tenant.headers)
    assert found.status_code == 404
    page = await client.get("/v1/contacts", params={"q": "theirs"}, headers=tenant.headers)
    assert page.json()["data"] == []
