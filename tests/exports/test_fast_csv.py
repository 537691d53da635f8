"""The contacts CSV export's fast paths (PostgreSQL COPY, SQLite tuples) give exactly the bytes of the reference
renderer (native JSON flattened cell by cell in Python) on awkward data, with every filter, across batches, and
inside one workspace."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import strategies as st
from sqlalchemy import text

from leadhub.auth.models import Workspace
from leadhub.contacts import service as contacts
from leadhub.core.errors import Invalid
from leadhub.db.engine import Database
from leadhub.exports import contacts_csv
from leadhub.exports import service as exports
from tests.conftest import ENGINE, Tenant
from tests.drawing import draw

AWKWARD: list[dict[str, Any]] = [
    {
        "first_name": "Zoë",
        "last_name": "O'Brien, Jr.",
        "emails": [{"address": "zoe@example.com", "type": "work"}, {"address": "zoe@home.example", "primary": True}],
        "phones": [{"number": "+14155550100"}, {"number": "+14155550101", "primary": True}],
        "company_name": 'Smith "Co", Ltd',
        "title": "",
        "status": "qualified",
        "tags": ["vip", "math", "ünïcode"],
        "custom_fields": {
            "text": 'a,b;"c"\nd\re',
            "empty": "",
            "int": 12,
            "negative": -7,
            "big": 2**70,
            "float": 1.5,
            "whole_float": 100.0,
            "tiny": 1e-7,
            "huge": 1e300,
            "sum": 0.1 + 0.2,
            "yes": True,
            "no": False,
            "none": None,
            "nested": {"a": [1, 2, {"b": "x, y: z"}], "é": 'ü\t"q"\\'},
            "nested_float": {"ratio": 0.25},
            "list": ["a", 1, None, True],
            "empty_object": {},
            "empty_list": [],
            "it's $1 \\ key": "name with a quote, a dollar parameter and a backslash",
        },
        "address": {"line1": "1 Main St, Apt 2", "city": "Zürich", "country": "CH"},
        "date_of_birth": "1915-12-10",
        "first_seen": "2024-01-02T03:04:05.123456Z",
        "last_seen": "2024-05-01T00:00:00Z",
        "dnd_settings": {"sms": {"status": "active", "message": 'no, thanks: "later"'}},
        "consent": {"marketing": {"granted": True, "source": "form"}},
        "notes": 'said "hello",\r\nthen left\n',
        "user_knowledge": "\\.",
    },
    {"name": "Grace Hopper", "email": "grace@example.com", "status": "new", "custom_fields": {"int": 3}},
    {"email": "plain@example.com", "dnd": True, "is_test": True, "source": "fair", "tags": []},
    *[
        {"email": f"p{n}@example.com", "status": "new" if n % 2 else "lost", "source": "fair", "custom_fields": c}
        for n, c in enumerate([{"float": 2.0}, {"text": "日本"}, {}, {"nested": [[]]}, {"int": 0}])
    ],
]


async def _seed(client: httpx.AsyncClient, tenant: Tenant, people: list[dict[str, Any]]) -> None:
    for body in people:
        r = await client.post("/v1/contacts", json=body, headers=tenant.headers)
        assert r.status_code == 201, r.text


async def _workspace(database: Database, tenant: Tenant) -> Workspace:
    async with database.read_session() as session:
        ws = await session.get(Workspace, tenant.ws_id)
    assert ws is not None
    return ws


async def _exported(database: Database, ws: Workspace, filters: contacts.ContactFilters) -> bytes:
    return b"".join([block async for block in exports.stream(database, ws, "contacts", "csv", filters)])


async def _reference(database: Database, ws: Workspace, filters: contacts.ContactFilters) -> bytes:
    """The CSV as the reference renderer writes it: every contact's native JSON, flattened in Python."""
    async with database.read_session() as session:
        columns = exports.contact_columns(await exports.custom_field_keys(session, ws.id))
    keys = [c[len("custom_fields.") :] for c in columns if c.startswith("custom_fields.")]
    header = io.StringIO()
    csv.writer(header).writerow(columns)
    outs = [out async for batch in exports.contact_batches(database, ws, filters) for out in batch]
    return header.getvalue().encode() + exports._reference_csv(outs, keys)


@pytest.mark.parametrize(("batch", "cap"), [(2, 4), (20_000, 4), (2, 0), (20_000, 0)])
async def test_fast_csv_is_the_reference_byte_for_byte_on_awkward_data(
    client: httpx.AsyncClient,
    tenant: Tenant,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    batch: int,
    cap: int,
) -> None:
    # cap 0: on SQLite the lists are read by one probe per id instead of the range scan.
    monkeypatch.setattr(contacts_csv, "_SQLITE_RANGE_CAP", cap)
    monkeypatch.setattr(contacts_csv, "BATCH", batch)
    monkeypatch.setattr(contacts_csv, "SQLITE_BATCH", batch)
    await _seed(client, tenant, AWKWARD)
    ws = await _workspace(database, tenant)
    everything = await _exported(database, ws, contacts.ContactFilters())
    assert everything == await _reference(database, ws, contacts.ContactFilters())
    rows = list(csv.DictReader(io.StringIO(everything.decode(), newline="")))
    assert len(rows) == len(AWKWARD)
    zoe = next(row for row in rows if row["first_name"] == "Zoë")
    assert zoe["custom_fields.text"] == 'a,b;"c"\nd\re' and zoe["custom_fields.tiny"] == "1e-07"
    assert zoe["custom_fields.whole_float"] == "100.0" and zoe["custom_fields.big"] == str(2**70)
    assert zoe["notes"] == 'said "hello",\r\nthen left' and zoe["emails"] == "zoe@home.example;zoe@example.com"
    assert zoe["custom_fields.nested"] == '{"a":[1,2,{"b":"x, y: z"}],"é":"ü\\t\\"q\\"\\\\"}'


@pytest.mark.parametrize(
    "filters",
    [
        contacts.ContactFilters(status=["new", "lost"]),
        contacts.ContactFilters(source="fair", status=["lost"]),
        contacts.ContactFilters(tags=["vip", "math"]),
        contacts.ContactFilters(email="grace@example.com"),
        contacts.ContactFilters(phone="+14155550101"),
        contacts.ContactFilters(custom_fields={"int": "3"}),
        contacts.ContactFilters(q="o'brien"),
        contacts.ContactFilters(q="example"),
        contacts.ContactFilters(
            created_after=datetime.now(UTC) - timedelta(days=1), updated_before=datetime(2100, 1, 1)
        ),
        contacts.ContactFilters(created_before=datetime(2000, 1, 1)),
    ],
)
async def test_fast_csv_applies_every_list_filter_as_the_reference_does(
    client: httpx.AsyncClient,
    tenant: Tenant,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    filters: contacts.ContactFilters,
) -> None:
    monkeypatch.setattr(contacts_csv, "BATCH", 2)
    monkeypatch.setattr(contacts_csv, "SQLITE_BATCH", 2)
    await _seed(client, tenant, AWKWARD)
    ws = await _workspace(database, tenant)
    assert await _exported(database, ws, filters) == await _reference(database, ws, filters)


async def test_a_batch_sql_cannot_render_exactly_goes_through_the_reference(
    client: httpx.AsyncClient, tenant: Tenant, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Values no door writes (a float's text that is not Python's repr, a timestamp in another text form) still
    come out as the reference renders them."""
    monkeypatch.setattr(contacts_csv, "BATCH", 2)
    monkeypatch.setattr(contacts_csv, "SQLITE_BATCH", 2)
    await _seed(client, tenant, AWKWARD)
    ws = await _workspace(database, tenant)
    async with database.session() as session:
        if database.is_postgres:
            odd = """UPDATE contacts SET custom_fields = custom_fields || '{"float": 1.50, "tiny": 0.00001}'::jsonb"""
            await session.execute(text(f"{odd} WHERE workspace_id = :ws AND name = 'Grace Hopper'"), {"ws": ws.id})
        else:
            odd = "UPDATE contacts SET first_seen = '2024-01-02T03:04:05'"
            await session.execute(text(f"{odd} WHERE workspace_id = :ws AND name = 'Grace Hopper'"), {"ws": ws.id.hex})
        await session.commit()
    exported = await _exported(database, ws, contacts.ContactFilters())
    assert exported == await _reference(database, ws, contacts.ContactFilters())
    grace = next(r for r in csv.DictReader(io.StringIO(exported.decode(), newline="")) if r["name"] == "Grace Hopper")
    if database.is_postgres:
        assert (grace["custom_fields.float"], grace["custom_fields.tiny"]) == ("1.5", "1e-05")
    else:
        assert grace["first_seen"] == "2024-01-02T03:04:05Z"


async def test_fast_csv_stays_inside_the_workspace(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, database: Database
) -> None:
    await _seed(client, tenant, AWKWARD[:2])
    # The same emails, phones and tags in another workspace must not join into this one's rows.
    await _seed(client, other_tenant, [{**AWKWARD[0], "first_name": "Other"}, AWKWARD[1], {"email": "x@example.com"}])
    ws = await _workspace(database, tenant)
    exported = await _exported(database, ws, contacts.ContactFilters())
    assert exported == await _reference(database, ws, contacts.ContactFilters())
    rows = list(csv.DictReader(io.StringIO(exported.decode(), newline="")))
    assert sorted(r["first_name"] for r in rows) == ["Grace", "Zoë"]
    assert all(r["emails"].count("@") <= 2 for r in rows)


def test_ids_in_bulk_are_ids_encode() -> None:
    import uuid

    from leadhub.core import ids

    keys = [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), *(uuid.uuid4() for _ in range(50))]
    hexes = b"".join(contacts_csv._HEX_PAD + k.hex.encode() for k in keys)
    text = contacts_csv._encoded(hexes).decode()
    assert [f"con_{text[i * 28 + 2 : i * 28 + 28]}" for i in range(len(keys))] == [
        ids.encode(ids.CONTACT, k) for k in keys
    ]


async def test_a_filter_the_database_refuses_fails_before_the_first_block(
    client: httpx.AsyncClient, tenant: Tenant, database: Database
) -> None:
    """The API reads the first block before it answers, so the header must not go out before the filters ran."""
    r = await client.post(
        "/v1/custom-fields", json={"key": "seats", "label": "Seats", "type": "number"}, headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    await _seed(client, tenant, [{"email": "s@example.com", "custom_fields": {"seats": 3}}])
    ws = await _workspace(database, tenant)
    body = exports.stream(database, ws, "contacts", "csv", contacts.ContactFilters(custom_fields={"seats": "many"}))
    with pytest.raises(Invalid) as refused:
        await anext(body)
    assert refused.value.errors[0].field == "custom_field.seats"


@pytest.mark.skipif(ENGINE != "postgres", reason="SQLite reads each batch in its own transaction")
async def test_a_postgres_export_reads_one_snapshot_across_its_connections(
    client: httpx.AsyncClient, tenant: Tenant, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches run two at a time on two connections in one snapshot: changes committed while the export runs
    stay out of it, also on the connection whose batch fell back to the reference (its COPY failed)."""
    monkeypatch.setattr(contacts_csv, "BATCH", 2)
    await _seed(client, tenant, AWKWARD)
    ws = await _workspace(database, tenant)
    odd = """UPDATE contacts SET custom_fields = custom_fields || '{"float": 1.50}'::jsonb"""
    newest = "SELECT id FROM contacts WHERE workspace_id = :ws ORDER BY created_at DESC, id DESC LIMIT 1"
    await _commit(database, f"{odd} WHERE workspace_id = :ws AND id = ({newest})", ws)
    before = await _reference(database, ws, contacts.ContactFilters())
    body = exports.stream(database, ws, "contacts", "csv", contacts.ContactFilters())
    blocks = [await anext(body)]
    await _commit(database, "UPDATE contacts SET first_name = 'Changed', status = 'lost' WHERE workspace_id = :ws", ws)
    await _commit(database, "DELETE FROM contact_tags WHERE workspace_id = :ws", ws)
    blocks += [block async for block in body]
    assert len(blocks) == 4
    assert b"".join(blocks) == before != await _reference(database, ws, contacts.ContactFilters())


async def test_an_export_left_early_returns_its_connections(
    client: httpx.AsyncClient, tenant: Tenant, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both engines read the next batch ahead while the caller takes the current one.
    monkeypatch.setattr(contacts_csv, "BATCH", 2)
    monkeypatch.setattr(contacts_csv, "SQLITE_BATCH", 2)
    await _seed(client, tenant, AWKWARD)
    ws = await _workspace(database, tenant)
    idle = database.engine.pool.checkedout()  # type: ignore[attr-defined]
    body = exports.stream(database, ws, "contacts", "csv", contacts.ContactFilters())
    await anext(body)
    if ENGINE == "postgres":  # its two connections hold one snapshot to the end
        assert database.engine.pool.checkedout() == idle + 2  # type: ignore[attr-defined]
    await body.aclose()
    assert database.engine.pool.checkedout() == idle  # type: ignore[attr-defined]
    assert await _exported(database, ws, contacts.ContactFilters()) == await _reference(
        database, ws, contacts.ContactFilters()
    )


async def _commit(database: Database, sql: str, ws: Workspace) -> None:
    async with database.session() as session:
        await session.execute(text(sql), {"ws": ws.id})
        await session.commit()


@pytest.mark.skipif(ENGINE != "postgres", reason="the timestamp cell is written by PostgreSQL")
async def test_timestamps_in_sql_are_the_references(database: Database) -> None:
    edges = [datetime(2024, 1, 2, 3, 4, 5, micro, tzinfo=UTC) for micro in (0, 1, 120000, 999999, 500)]
    drawn = draw(st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30), timezones=st.just(UTC)), 200)
    values = [*edges, datetime(999, 5, 6, 7, 8, 9, tzinfo=UTC), *drawn]
    cell = contacts_csv._TIME.format(c="v.t")
    async with database.read_session() as session:
        for setting in contacts_csv._PG_SETTINGS:
            await session.execute(text(f"SET LOCAL {setting}"))
        rows = await session.execute(
            text(f"SELECT {cell} FROM unnest(CAST(:ts AS timestamptz[])) WITH ORDINALITY AS v(t, n) ORDER BY v.n"),
            {"ts": values},
        )
        assert [r[0] for r in rows] == [exports._time(v) for v in values]
