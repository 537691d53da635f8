"""The fast path equals the service path: the same file imported once each way, into two workspaces set up
alike, gives the same contacts (every field, emails, phones, tags, custom fields, company links, match
keys), the same events and webhook deliveries, the same counts and the same per-row report."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import strategies as st
from sqlalchemy import func, select

from leadhub import uow
from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.companies import service as companies
from leadhub.companies.models import Company
from leadhub.companies.schemas import CompanyIn
from leadhub.contacts import service as contacts
from leadhub.contacts.dedupe_models import MatchKey
from leadhub.contacts.models import Contact
from leadhub.contacts.schemas import ContactIn
from leadhub.core import ids, validation
from leadhub.custom_fields import service as custom_fields
from leadhub.custom_fields.schemas import CustomFieldCreate
from leadhub.db.engine import Database, driver_connection
from leadhub.events.models import Event
from leadhub.imports import fast as fast_path
from leadhub.imports import service as imports
from leadhub.imports.models import ImportIssue, ImportJob
from leadhub.privacy import suppression
from leadhub.webhooks import service as webhooks
from leadhub.webhooks.models import Delivery
from leadhub.webhooks.schemas import EndpointIn
from tests.conftest import ENGINE, Tenant
from tests.contacts.support import without_ids
from tests.drawing import draw

ACTOR = Actor(type="system", id=None, door="cli")
HEADER = ["First Name", "Last Name", "Email", "Phone", "Company", "Seats", "Favourite Colour", "Tags", "Title"]
ROWS = [
    ["Ada", "Lovelace", "ada@acme.example", "+14155550101", "Acme", "5", "blue", "vip, lead", "CTO"],
    ["Grace", "Hopper", "GRACE.Hopper+news@Example.com", "(415) 555-0102", "", "", "", "", ""],
    ["Bad", "Email", "not-an-email", "+14155550199", "", "", "", "", ""],
    ["Alan", "Turing", "ada@acme.example", "+14155550103", "", "7", "red", "lead", ""],  # in-file duplicate
    ["", "", "old@example.com", "", "", "", "", "", "VP"],  # matches a stored contact
    ["Seats", "Wrong", "seats@example.com", "", "", "many", "", "", ""],  # custom-field coercion fails
    ["Short", "Phone", "short@example.com", "12", "", "", "", "", ""],
    ["Linus", "Torvalds", "linus@kernel.example", "+44 7911 123456", "", "", "", "", ""],
    ["Grace", "Again", "grace2@example.com", "415-555-0102", "", "", "", "", ""],  # same phone as row 2
    ["", "", "", "", "", "", "", "", ""],  # blank: skipped
    ["Erased", "Person", "erased@example.com", "", "", "", "", "", ""],  # suppressed
    ["Free", "Mail", "someone@gmail.com", "+14155550104", "Acme", "", "", "", ""],  # no company link
    ["Both", "Owners", "old@example.com", "+14155550555", "", "", "", "", ""],  # email one, phone another
    ["Only", "Phone", "", "+14155550555", "", "", "", "", ""],  # matches a stored phone
    ["Martin", "King Jr.", "mlk@acme.example", "", "", "", "", "", ""],  # generational suffix
    ["", "", "nameless.person@acme.example", "", "", "", "", "", ""],  # name made from the email
    ["Zoë", "Ünicode", "zoe@bücher.example", "+33 6 12 34 56 78", "", "1.5", "", "x;y|z", ""],
    *[
        [f"Person{n}", f"Number{n}", f"p{n}@acme.example", f"+1415555{1000 + n:04d}", "", str(n), "", "", ""]
        for n in range(25)
    ],
    ["Late", "Duplicate", "P3@ACME.example", "", "", "", "", "", ""],  # matches a row three chunks back
    # A group within one chunk (rows 44-49 with 7-row chunks): merged in memory on the fast path.
    ["Merge", "Base", "m@acme.example", "+14155550700", "", "3", "green", "a", "Dev"],
    ["", "", "M@ACME.example", "+14155550701", "", "4", "", "b, a", ""],  # adds a phone, a tag, a value
    ["Merged", "Again", "m@acme.example", "", "", "lots", "", "", ""],  # fails: seats is a number
    ["", "", "m@acme.example", "555", "", "", "", "", ""],  # fails: the phone, and only the phone
    ["New", "Name", "", "+14155550701", "", "", "", "", "Lead"],  # by the phone row 45 added; renames
    ["Other", "Person", "other@acme.example", "+14155550700", "", "", "", "", ""],  # adds an email
]
NAMES_ONLY = [["Full Name", "E-mail"], ["Dr. Jane Q. Public III", "jane@acme.example"], ["Prince", "prince@x.example"]]


def _csv(path: Path, rows: list[list[str]]) -> Path:
    import csv

    with path.open("w", newline="") as out:
        csv.writer(out).writerows(rows)
    return path


async def _workspace(tenant: Tenant, name: str) -> uuid.UUID:
    """A workspace set up like every other one of this test: definitions, a company, stored contacts, a
    suppressed email and a webhook endpoint."""
    public = await tenant.add_workspace(name)
    ws_id = ids.decode(ids.WORKSPACE, public)
    async with uow.unit_of_work(tenant.db) as session:
        ws = await session.get(Workspace, ws_id)
        assert ws is not None
        await custom_fields.create(session, ws_id, ACTOR, CustomFieldCreate(key="seats", label="Seats", type="number"))
        await companies.create(session, ws, ACTOR, CompanyIn(name="Acme", domain="acme.example"))
        await contacts.create(session, ws, ACTOR, ContactIn(email="old@example.com", title="Before"))
        await contacts.create(
            session, ws, ACTOR, ContactIn(phone="+14155550555", first_name="Phone", last_name="Owner")
        )
        await suppression.add(session, ws_id, "email", "erased@example.com", "test")
        await webhooks.create_endpoint(
            session,
            ws_id,
            ACTOR,
            EndpointIn(url="http://127.0.0.1:9/hook", event_types=["contact.*", "import.*"]),  # type: ignore[arg-type]
            allow_private=True,
        )
    return ws_id


async def _import(
    db: Database, ws_id: uuid.UUID, file: Path, path: str, options: imports.ImportOptions, **run: Any
) -> ImportJob:
    async with uow.unit_of_work(db) as session:
        ws = await session.get(Workspace, ws_id)
        assert ws is not None
        job = await imports.create_job(session, ws, file, options)
    return await imports.run(db, ws_id, job.id, ACTOR, path=path, **run)


async def _state(db: Database, ws_id: uuid.UUID, job: ImportJob) -> dict[str, Any]:
    async with db.read_session() as session:
        ws = await session.get(Workspace, ws_id)
        assert ws is not None
        domains = {c.id: c.domain for c in await session.scalars(select(Company).where(Company.workspace_id == ws_id))}
        people = list(await session.scalars(select(Contact).where(Contact.workspace_id == ws_id)))
        label: dict[uuid.UUID, str] = {}
        shown = []
        for c in people:
            out = contacts.snapshot(c)
            out["company_id"] = domains.get(c.company_id) if c.company_id else None
            out["search_text"] = c.search_text
            label[c.id] = orjson.dumps(without_ids(out), option=orjson.OPT_SORT_KEYS).decode()
            shown.append(label[c.id])
        keys = sorted(
            (label[k.contact_id], k.key)
            for k in await session.scalars(select(MatchKey).where(MatchKey.workspace_id == ws_id))
        )
        events = []
        for e in await session.scalars(select(Event).where(Event.workspace_id == ws_id).order_by(Event.seq)):
            payload = without_ids(e.payload)
            if e.type.startswith("contact."):
                payload["company_id"] = payload.get("company_id") is not None
            changes = {k: v for k, v in (e.changes or {}).items() if k != "updated_at"}
            if "company_id" in changes:
                changes["company_id"] = {k: v is not None for k, v in changes["company_id"].items()}
            events.append(
                orjson.dumps(
                    [e.type, label.get(e.contact_id) if e.contact_id else None, payload, without_ids(changes)],
                    option=orjson.OPT_SORT_KEYS,
                ).decode()
            )
        deliveries = sorted(
            (t, n)
            for t, n in await session.execute(
                select(Delivery.event_type, func.count())
                .where(Delivery.workspace_id == ws_id)
                .group_by(Delivery.event_type)
            )
        )
        issues = [
            (i.row, i.position, i.kind, i.column, i.value_kind, i.rule, i.message, i.merged_into_row)
            for i in await session.scalars(
                select(ImportIssue)
                .where(ImportIssue.workspace_id == ws_id, ImportIssue.job_id == job.id)
                .order_by(ImportIssue.row, ImportIssue.position)
            )
        ]
    return {
        "counts": imports.summary(job) | {"id": None},
        "contacts": sorted(shown),
        "match_keys": keys,
        "events": sorted(events),
        "deliveries": deliveries,
        "issues": issues,
    }


async def _both(
    tenant: Tenant, tmp_path: Path, rows: list[list[str]], options: imports.ImportOptions, **run: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    file = _csv(tmp_path / f"{uuid.uuid4().hex}.csv", rows)
    results = []
    for path in ("service", "fast"):
        ws_id = await _workspace(tenant, f"{path}-{uuid.uuid4().hex[:6]}")
        job = await _import(tenant.db, ws_id, file, path, options, **run)
        assert job.status == "completed"
        results.append(await _state(tenant.db, ws_id, job))
    return results[0], results[1]


def _assert_same(service: dict[str, Any], fast: dict[str, Any]) -> None:
    for part in ("counts", "issues", "contacts", "match_keys", "events", "deliveries"):
        assert fast[part] == service[part], part


@pytest.mark.parametrize(
    ("mode", "match_keys"),
    [
        ("upsert", "both"),
        ("create_only", "both"),
        ("update_only", "both"),
        ("skip_existing", "both"),
        ("upsert", "email"),
    ],
)
async def test_fast_path_equals_service_path(
    tenant: Tenant, tmp_path: Path, mode: str, match_keys: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bulk_rows: list[int] = []
    write_bulk = fast_path.write_bulk

    async def counting(*args: Any) -> bool:  # a spy: the real bulk write runs
        bulk_rows.extend(p.row for p in args[4])
        return await write_bulk(*args)

    monkeypatch.setattr(fast_path, "write_bulk", counting)
    merged_in_memory: list[int] = []
    merge_row = fast_path.merge_row

    def merging(*args: Any) -> Any:  # a spy: the real in-memory merge runs
        merged_in_memory.append(args[3].row)
        return merge_row(*args)

    monkeypatch.setattr(fast_path, "merge_row", merging)
    options = imports.ImportOptions(mode=mode, match_keys=match_keys, unmapped_to_custom=True, deliver_webhooks=True)
    service, fast = await _both(tenant, tmp_path, [HEADER, *ROWS], options, chunk_rows=7)
    _assert_same(service, fast)
    if mode != "update_only":
        assert len(bulk_rows) >= 20  # most new rows really took the bulk write
    if mode != "update_only" and match_keys == "both":
        assert {4, 45, 46, 47, 48, 49} <= set(merged_in_memory)
    assert service["counts"]["rows_read"] == len(ROWS)
    if mode == "upsert" and match_keys == "both":
        # The file exercises what it claims to: merges, failures of several rules, links, skips.
        counts = service["counts"]
        assert counts["created"] >= 25 and counts["merged"] >= 2 and counts["failed"] >= 4 and counts["skipped"] == 1
        rules = {i[5] for i in service["issues"]}
        assert {"in_file_duplicate", "suppressed", "number", "duplicate_phone", "email", "phone"} <= rules
        assert any('"company_id":"acme.example"' in c for c in service["contacts"])


async def test_fast_path_equals_service_path_for_a_single_name_column(tenant: Tenant, tmp_path: Path) -> None:
    options = imports.ImportOptions()
    service, fast = await _both(tenant, tmp_path, NAMES_ONLY, options)
    _assert_same(service, fast)
    assert any('"first_name":"Jane"' in c for c in service["contacts"])


async def test_fast_path_in_worker_processes_equals_service_path(tenant: Tenant, tmp_path: Path) -> None:
    options = imports.ImportOptions(unmapped_to_custom=True)
    service, fast = await _both(tenant, tmp_path, [HEADER, *ROWS], options, chunk_rows=5, workers=2)
    _assert_same(service, fast)


TRICKY = [
    [
        'Quote "Q" O\'Neil',
        "Back\\slash\\N",
        "quote@acme.example",
        "+14155550177",
        'Co "A\tB"',
        "3",
        "\\.",
        "a\\b",
        "T\\t",
    ],
    ["Zoë", "Ünïcødé ✓", "uni@acme.example", "", "Føø\nBar", "", "tab\there", "", "new\nline"],
    ["Back", "Slash", "slash\\@example.com", "+14155550178", "\\", "", "\\", "\\", "\\"],
]


async def test_fast_path_equals_service_path_for_quotes_backslashes_and_control_characters(
    tenant: Tenant, tmp_path: Path
) -> None:
    # What the COPY text format escapes (backslash, tab, newline), JSON escapes in the payloads (quotes,
    # backslashes) and non-ASCII text, through the bulk writer and through the service path alike.
    options = imports.ImportOptions(unmapped_to_custom=True, deliver_webhooks=True)
    service, fast = await _both(tenant, tmp_path, [HEADER, *TRICKY, *ROWS[-5:]], options)
    _assert_same(service, fast)
    assert service["counts"]["created"] >= 4


async def test_fast_dry_run_reports_what_the_service_dry_run_reports_and_writes_nothing(
    tenant: Tenant, tmp_path: Path
) -> None:
    options = imports.ImportOptions(dry_run=True, unmapped_to_custom=True)
    service, fast = await _both(tenant, tmp_path, [HEADER, *ROWS], options, chunk_rows=6)
    assert fast["counts"] == service["counts"] and fast["issues"] == service["issues"]
    assert len(fast["contacts"]) == 2 and fast["contacts"] == service["contacts"]  # the two stored before


@pytest.mark.skipif(ENGINE != "postgres", reason="SQLite's chunk transaction holds the write lock from its start")
async def test_an_identity_taken_after_the_look_up_sends_the_chunk_to_the_service_path(
    tenant: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent writer stores one of the chunk's emails between the look-up and the bulk write: the
    bulk write rolls back, and the service path imports every row (that one as an update of the
    writer's contact)."""
    ws_id = await _workspace(tenant, "race")
    split = fast_path.split
    outcomes: list[bool] = []
    write_bulk = fast_path.write_bulk

    async def racing_split(*args: Any, **kwargs: Any) -> Any:
        parts = await split(*args, **kwargs)
        async with uow.unit_of_work(tenant.db) as session:  # the other writer, committed first
            ws = await session.get(Workspace, ws_id)
            assert ws is not None
            await contacts.create(session, ws, ACTOR, ContactIn(email="p7@acme.example", title="Raced"))
        return parts

    async def recording(*args: Any) -> bool:
        outcomes.append(await write_bulk(*args))
        return outcomes[-1]

    monkeypatch.setattr(fast_path, "split", racing_split)
    monkeypatch.setattr(fast_path, "write_bulk", recording)
    rows = [HEADER, *[[f"P{n}", "X", f"p{n}@acme.example", "", "", "", "", "", ""] for n in range(10)]]
    job = await _import(tenant.db, ws_id, _csv(tmp_path / "race.csv", rows), "fast", imports.ImportOptions())
    assert outcomes == [False]
    assert (job.status, job.created, job.updated, job.failed) == ("completed", 9, 1, 0)
    async with tenant.db.read_session() as session:
        titles = [
            c.title
            for c in await session.scalars(
                select(Contact).where(Contact.workspace_id == ws_id, Contact.title == "Raced")
            )
        ]
    assert titles == ["Raced"]


@pytest.mark.skipif(ENGINE != "postgres", reason="SQLite plans each statement as it is prepared")
async def test_an_import_that_outgrows_the_planner_statistics_refreshes_them(tenant: Tenant) -> None:
    """The foreign-key checks of a chunk's emails, phones and match keys are planned from the contacts
    table's statistics: a job that has written more contacts than they count analyzes the table."""
    from sqlalchemy import text

    stats = fast_path.Statistics(known=-1)
    await fast_path.keep_statistics(tenant.db, stats, fast_path.ANALYZE_MIN_ROWS - 1)
    assert stats.known == -1  # fewer than the minimum written: nothing analyzed yet
    async with tenant.db.read_session() as session:
        stored = await session.scalar(select(func.count()).select_from(Contact))
    await fast_path.keep_statistics(tenant.db, stats, 1)
    async with tenant.db.read_session() as session:
        reltuples = await session.scalar(text("SELECT reltuples FROM pg_class WHERE oid = 'contacts'::regclass"))
    assert stats.known == reltuples == stored
    assert stats.written == 0


@pytest.mark.skipif(ENGINE != "sqlite", reason="SQLite's page cache is set per connection")
async def test_a_bulk_write_gives_its_connection_back_with_its_own_page_cache(tenant: Tenant, tmp_path: Path) -> None:
    """The chunk's writes run with a bigger page cache; the pooled connection gets its own setting back."""
    from sqlalchemy import text

    async with tenant.db.read_session() as session:
        before = await session.scalar(text("PRAGMA cache_size"))
    assert before is not None and fast_path._SQLITE_CACHE_KIB < before < 0
    ws_id = await _workspace(tenant, f"cache-{uuid.uuid4().hex[:6]}")
    job = await _import(tenant.db, ws_id, _csv(tmp_path / "c.csv", [HEADER, *ROWS]), "fast", imports.ImportOptions())
    assert job.created >= 25
    pool = tenant.db.engine.sync_engine.pool
    sessions = [tenant.db.read_session() for _ in range(pool.checkedin() or 1)]  # type: ignore[attr-defined]
    try:
        for session in sessions:  # every pooled connection, the import's among them
            assert await session.scalar(text("PRAGMA cache_size")) == before
    finally:
        for session in sessions:
            await session.close()


def test_a_normalizing_worker_sets_its_start_up_objects_aside_from_the_garbage_collector() -> None:
    import gc
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn, initializer=fast_path.worker_started) as pool:
        assert pool.submit(gc.get_freeze_count).result() > 10_000


def _national(n: int) -> str:
    # Valid US numbers in national form behind the national prefix 1, which take the full (cached) check
    # rather than the E.164 or the ten-digit national fast path.
    return f"1 (415) {200 + n // 10_000:03d}-{n % 10_000:04d}"


def test_value_caches_are_forgotten_past_their_limit() -> None:
    validation.trim_value_caches(0)
    for n in range(11):
        validation.normalize_phone(_national(n), "US")
    validation.trim_value_caches(11)
    assert validation._full_phone.cache_info().currsize == 11
    validation.trim_value_caches(10)
    assert validation._full_phone.cache_info().currsize == 0


def test_a_normalizing_worker_keeps_its_value_caches_small(monkeypatch: pytest.MonkeyPatch) -> None:
    context = fast_path.Context(
        mapping={"phone": "phone"}, unmapped_to_custom=False, default_region="US", definitions=()
    )
    limit = fast_path.WORKER_VALUE_CACHE
    records: list[tuple[int, dict[str, Any], str | None]] = [
        (n + 2, {"phone": _national(n)}, None) for n in range(limit + 100)
    ]
    validation.trim_value_caches(0)
    # In the serving process (the API's caches) a chunk leaves every verdict cached...
    prepared = fast_path.prepare_chunk(context, records)
    assert [p.phones for p in prepared[:2]] == [["+14152000000"], ["+14152000001"]]
    assert validation._full_phone.cache_info().currsize == limit + 100
    # ... in a normalizing worker (worker_started sets this) the caches are kept under the limit.
    monkeypatch.setattr(fast_path, "_in_worker", True)
    fast_path.prepare_chunk(context, records[:10])
    assert validation._full_phone.cache_info().currsize <= limit


@pytest.mark.parametrize("sqlite", [True, False])
@pytest.mark.parametrize("company", [None, uuid.UUID("0190f7c8-5a7e-7c3b-9b1e-5d2a7c9e1f00")])
def test_a_workers_ready_rows_are_what_the_writer_makes_of_the_prepared_contact(
    sqlite: bool, company: uuid.UUID | None
) -> None:
    import json

    workspace = uuid.uuid4()
    context = fast_path.Context(
        mapping={"First Name": "first_name", "Last Name": "last_name", "Email": "email", "Phone": "phone"}
        | {
            "Company": "company_name",
            "Tags": "tags",
            "Title": "title",
            "Born": "date_of_birth",
            "City": "address.city",
        },
        unmapped_to_custom=True,
        default_region="US",
        definitions=(("favourite_colour", "text", ()), ("seats", "number", ())),
        sqlite=sqlite,
        workspace=workspace.hex,
    )
    records: list[tuple[int, dict[str, Any], str | None]] = [
        (n + 2, dict(zip(HEADER, row, strict=True)), None) for n, row in enumerate(ROWS)
    ]
    records += [
        (
            900,
            {"First Name": "Dee", "Email": "dee@b\u00fccher.example", "Born": "1990-02-03", "City": "K\u00f6ln"},
            None,
        )
    ]
    as_values = fast_path.prepare_chunk(dataclasses.replace(context, sqlite=None), records)
    as_ready = fast_path.prepare_chunk(context, records)
    public = ids.encode(ids.COMPANY, company) if company else None
    checked = 0
    for p, r in zip(as_values, as_ready, strict=True):
        if r.ready is None:
            continue  # not new, or sharing an identity with another row: the main process writes its values
        assert p.contact is not None and p.payload is not None and r.contact is None
        p.contact |= {"id": uuid.UUID(r.ready.id), "company_id": company}
        p.contact["created_at"] = p.contact["updated_at"] = r.ready.created
        p.payload |= {"id": ids.encode(ids.CONTACT, p.contact["id"]), "company_id": public}
        for time in ("created_at", "updated_at"):
            p.payload[time] = fast_path._time(r.ready.created)
        columns = fast_path._CONTACT_COLUMNS
        written = _records(columns, {"workspace_id": workspace, **p.contact}, sqlite)
        written = tuple(v.hex if isinstance(v, uuid.UUID) else v for v in written)
        children = _children(p, workspace.hex)
        ready = r.ready
        assert ready.id == p.contact["id"].hex
        if sqlite:
            assert fast_path._with_company(ready.contact, company) == written
            assert [ready.emails, ready.phones, ready.tags, ready.keys] == children[:4]
            assert ready.at == written[columns.index("created_at")]
        else:  # lines of COPY text
            line = ready.contact[0] + (company.hex if company else "\\N") + ready.contact[1]
            assert line == "\t".join(map(fast_path._copy_text, written)) + "\n"
            lines = ["".join("\t".join(map(fast_path._copy_text, row)) + "\n" for row in rows) for rows in children]
            assert [ready.emails, ready.phones, ready.tags, ready.keys] == lines[:4]
            assert ready.at == ready.created.isoformat()
        dump = json.dumps if sqlite else fast_path._json
        assert fast_path._payload_text(ready.payload, public, sqlite) == dump(p.payload)
        checked += 1
    assert checked >= 20


def _records(columns: list[str], item: dict[str, Any], sqlite: bool) -> tuple[Any, ...]:
    """The driver's row of a contact as the writer made it from values, column by column: the oracle the
    worker's ready rows are held to."""
    table = fast_path._table(Contact)
    convert = fast_path._to_sqlite if sqlite else fast_path._to_postgres
    return tuple(v if (f := convert(table.c[name])) is None else f(v) for name, v in ((n, item[n]) for n in columns))


def _children(p: fast_path.Prepared, ws: str) -> list[list[tuple[Any, ...]]]:
    """A contact's emails, phones, tags and match keys as the writer made them from values."""
    assert p.contact is not None
    cid = p.contact["id"].hex
    return [
        [(ws, a, cid, t, primary, i) for i, (a, t, primary) in enumerate(p.email_rows)],
        [(ws, n, cid, t, primary, i) for i, (n, t, primary) in enumerate(p.phone_rows)],
        [(ws, cid, tag, i) for i, tag in enumerate(p.tags)],
        [(ws, k, cid) for k in p.keys],
    ]


COPY_TEXTS = draw(st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=30), 200)


@pytest.mark.skipif(ENGINE != "postgres", reason="PostgreSQL's COPY text format")
async def test_copy_text_reads_back_as_the_value_it_wrote(tenant: Tenant) -> None:
    values: list[Any] = [*COPY_TEXTS, "a\\b\tc\nd\re\\N", "\\N", "\\.", None, True, False, 7]
    async with tenant.db.session() as session:
        driver = await driver_connection(session)
        await driver.execute("CREATE TEMPORARY TABLE copied (n int, t text, b boolean, i int)")
        lines = "".join(
            f"{n}\t{fast_path._copy_text(v if isinstance(v, str | None) else None)}\t"
            f"{fast_path._copy_text(v if isinstance(v, bool) else None)}\t"
            f"{fast_path._copy_text(v if type(v) is int else None)}\n"
            for n, v in enumerate(values)
        )
        await driver.copy_to_table(
            "copied", source=fast_path._sent(lines.encode()), columns=["n", "t", "b", "i"], format="text"
        )
        back = await driver.fetch("SELECT t, b, i FROM copied ORDER BY n")
        await session.rollback()
    assert [next((c for c in r if c is not None), None) for r in back] == values
