"""`q` search means "the needle is a substring of the contact's lower-cased names, emails, phones and company",
whichever index answers it (FTS5 trigram on SQLite, pg_trgm on PostgreSQL, or the plain substring test for
needles too short or too common for an index). Every expectation is computed from the stored search text
with Python's own `in`, so the oracle is independent of the database."""

from __future__ import annotations

import random
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from leadhub.auth.models import Workspace
from leadhub.contacts import listing
from leadhub.contacts.models import Contact
from leadhub.core.pagination import PageRequest
from leadhub.db.engine import Database
from tests.conftest import Tenant
from tests.contacts.support import create_contact

PEOPLE: list[dict[str, Any]] = [
    {"first_name": "Alice", "last_name": "Archer", "email": "alice@acme.io", "company_name": "Acme Rockets"},
    {"first_name": "Bob", "last_name": "O'Brien", "email": "bob@bobco.com", "phone": "+14155550180"},
    {"first_name": "Cleo", "last_name": "50% Off", "email": "cleo@example.org", "company_name": "Half_Price Ltd"},
    {"first_name": "Dmitri", "last_name": 'The "Quoted"', "email": "d@near.dev", "company_name": "NEAR-by AND Co"},
    {"first_name": "Eve", "last_name": "Star*Gazer", "email": "eve@stars.net", "company_name": "(Parens): ^Caret"},
    {"first_name": "Zoë", "last_name": "Ångström", "email": "zoe@uni.se", "company_name": "Straße GmbH"},
    {"first_name": "José", "last_name": "Núñez", "email": "jose@ejemplo.es", "phone": "+34612345678"},
    {"first_name": "Taro", "last_name": "山田太郎", "email": "taro@example.jp", "company_name": "東京商事"},
    {"first_name": "Ivan", "last_name": "ИВАНОВ", "email": "ivan@example.ru", "company_name": "Рога и Копыта"},  # noqa: RUF001
    {"first_name": "Frank", "last_name": "Back\\Slash", "email": "frank@a-b.c.io", "company_name": "percent%under_"},
]

SPECIAL_NEEDLES = [
    "%", "_", "%%", "50%", "50% off", "half_price", "alf_p", "o'brien", "'", "''", "\"quoted\"", '"', '""', '"q',
    "*", "star*", "*gaz", "near", "NEAR", "near-by", "-by", "and", " and ", "AND Co", "or", "not", "(parens)",
    "): ^", "^caret", ":", "\\", "back\\", "k\\s", "%under_", "t%u", "zoë", "ZOË", "ångström", "ÅNGSTRÖM", "straße",
    "josé", "núñez", "ÑÚ", "山田", "田太郎", "山田太郎", "東京", "商事", "ивано", "ИВАН", "копыта", "рога и",  # noqa: RUF001
    "555018", "+1415", "14155550180", "612345678", "@", "@acme", ".io", "a", "z", "e", "ar", "ob", "zz",
    "nobody", "alice@acme.io", "  Alice  ", "ALICE ARCHER", "alice archer", "e a", "é n",
]  # fmt: skip


async def _stored_texts(database: Database, tenant: Tenant) -> dict[str, str]:
    async with database.read_session() as session:
        rows = await session.execute(
            select(Contact.first_name, Contact.search_text).where(Contact.workspace_id == tenant.ws_id)
        )
        return {str(first): text for first, text in rows.all()}


def _expected(texts: dict[str, str], q: str) -> set[str]:
    needle = q.strip().lower()
    return {first for first, text in texts.items() if needle in text}


async def _found(client: httpx.AsyncClient, tenant: Tenant, q: str, limit: int = 100) -> set[str]:
    names: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"q": q, "limit": limit} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/v1/contacts", params=params, headers=tenant.headers)
        assert response.status_code == 200, (q, response.text)
        body = response.json()
        names += [c["first_name"] for c in body["data"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(names) == len(set(names)), f"{q!r}: a contact came twice across pages"
    return set(names)


@pytest.fixture
async def people(client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant) -> None:
    for body in PEOPLE:
        await create_contact(client, tenant, body)
        # The same people in another workspace: a wall, never a match.
        twin = dict(body, email=f"twin.{body['email']}") | ({"phone": None} if "phone" in body else {})
        await create_contact(client, other_tenant, {k: v for k, v in twin.items() if v is not None})


def _needles(texts: dict[str, str]) -> list[str]:
    """The special cases, plus random substrings of the stored texts (each a guaranteed hit) in mixed case."""
    rnd = random.Random(11)
    needles = list(SPECIAL_NEEDLES)
    for text in sorted(texts.values()):
        for _ in range(6):
            size = rnd.choice([1, 2, 3, 3, 4, 5, 8])
            start = rnd.randrange(max(1, len(text) - size))
            piece = text[start : start + size]
            needles.append(piece.upper() if rnd.random() < 0.3 else piece)
    return needles


async def test_search_finds_exactly_the_contacts_whose_text_contains_the_needle(
    client: httpx.AsyncClient, database: Database, tenant: Tenant, people: None
) -> None:
    texts = await _stored_texts(database, tenant)
    assert len(texts) == len(PEOPLE)
    mismatches = {}
    for q in _needles(texts):
        if not q.strip():
            continue
        found, expected = await _found(client, tenant, q), _expected(texts, q)
        if found != expected:
            mismatches[q] = (sorted(found), sorted(expected))
    assert mismatches == {}


async def test_a_needle_too_common_for_the_index_answers_the_same(
    client: httpx.AsyncClient, database: Database, tenant: Tenant, people: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the candidate cap at 1 every indexed search takes the walk-in-order path instead."""
    texts = await _stored_texts(database, tenant)
    needles = [q for q in _needles(texts) if len(q.strip()) >= 3]
    indexed = {q: await _found(client, tenant, q, limit=2) for q in needles}
    monkeypatch.setattr(listing, "_FTS_CANDIDATES", 1)
    walked = {q: await _found(client, tenant, q, limit=2) for q in needles}
    assert walked == indexed
    assert indexed == {q: _expected(texts, q) for q in needles}
    assert any(len(found) > 2 for found in indexed.values()), "no needle paged through more than one page"


async def test_another_workspaces_contacts_never_match(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = await create_contact(client, tenant, {"first_name": "Wallace", "email": "wallace@mine.io"})
    theirs = await create_contact(client, other_tenant, {"first_name": "Wallace", "email": "wallace@theirs.io"})
    for q in ("wallace", "wal", "wa", "theirs", "@theirs.io"):
        response = await client.get("/v1/contacts", params={"q": q}, headers=tenant.headers)
        ids = {c["id"] for c in response.json()["data"]}
        assert theirs["id"] not in ids, q
    assert {c["id"] for c in (await client.get("/v1/contacts?q=wallace", headers=tenant.headers)).json()["data"]} == {
        mine["id"]
    }


async def test_search_follows_renames_and_deletes(client: httpx.AsyncClient, tenant: Tenant) -> None:
    h = tenant.headers
    marker = uuid.uuid4().hex[:10]
    made = await create_contact(client, tenant, {"first_name": "Old", "last_name": f"Name{marker}"})
    assert await _found(client, tenant, f"name{marker}") == {"Old"}

    renamed = await client.patch(f"/v1/contacts/{made['id']}", json={"last_name": f"Fresh{marker}"}, headers=h)
    assert renamed.status_code == 200, renamed.text
    assert await _found(client, tenant, f"name{marker}") == set()
    assert await _found(client, tenant, f"fresh{marker}") == {"Old"}

    added = await client.patch(
        f"/v1/contacts/{made['id']}", json={"emails": [{"address": f"{marker}@new.io"}]}, headers=h
    )
    assert added.status_code == 200, added.text
    assert await _found(client, tenant, f"{marker}@new") == {"Old"}

    assert (await client.delete(f"/v1/contacts/{made['id']}", headers=h)).status_code in (200, 204)
    assert await _found(client, tenant, f"fresh{marker}") == set()
    assert await _found(client, tenant, marker) == set()


async def test_search_combines_with_filters(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for i in range(6):
        body = {"first_name": f"Combo{i}", "email": f"combo{i}@mix.io", "status": "lost" if i % 2 else "new"}
        await create_contact(client, tenant, body | {"tags": ["odd"] if i % 2 else []})
    response = await client.get(
        "/v1/contacts", params={"q": "combo", "status": "lost", "tag": "odd"}, headers=tenant.headers
    )
    assert {c["first_name"] for c in response.json()["data"]} == {"Combo1", "Combo3", "Combo5"}


async def test_a_needle_holding_nul_is_searched_without_the_index(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    """Doors that let U+0000 through (the native API refuses it) still get an answer on SQLite."""
    if not database.is_sqlite:
        pytest.skip("PostgreSQL text cannot hold U+0000; the doors refuse it there")
    await create_contact(client, tenant, {"first_name": "Nul", "email": "nul@acme.io"})
    async with database.read_session() as session:
        ws = await session.get(Workspace, tenant.ws_id)
        assert ws is not None
        page = await listing.list_contacts(session, ws, listing.ContactFilters(q="nul\x00acme"), PageRequest(10, None))
        hit = await listing.list_contacts(session, ws, listing.ContactFilters(q="nul@acme"), PageRequest(10, None))
    assert page.items == []
    assert [c.first_name for c in hit.items] == ["Nul"]
