"""Contacts performance against ceilings taken in the same run, on SQLite and PostgreSQL (issue 11).

    make bench                                   # = .venv/bin/python -m bench.contacts.run --quick
    .venv/bin/python -m bench.contacts.run       # full size: 1,000,000 stored contacts (not part of CI)
    ... --import-export                          # only the import and export lines (with their ceilings)

Measures, each as the median of ``--runs`` runs with the spread (min-max):
- ceilings: a bare ASGI endpoint (same uvicorn/FastAPI/ContactIn stack, no database), the same plus one
  INSERT through asyncpg / sqlite3 in a transaction ("thin real"), raw COPY (PostgreSQL) and raw
  executemany in one transaction (SQLite) of the same rows into one flat table with its unique index (a
  reference), for each import the raw COPY / executemany of the rows it wrote into leadhub's own tables
  (same shape, every index: the import's ceiling, ``shape_ceiling``), and the raw dump of the stored
  contacts (COPY … TO STDOUT / SELECT * to CSV) for the export;
- leadhub: POST /v1/contacts req/s and p50/p99 at 64 connections (wrk, its own process; `serve --workers 2`
  on PostgreSQL, one process on SQLite), batch upsert contacts/s (1,000 per call), then with ``--contacts``
  contacts stored (seeded with COPY / executemany): lookup by email p50/p99, filtered list p50/p95 and
  ``q`` search p50/p95 over HTTP, with the query plans (on SQLite once `serve`'s dispatcher has delivered
  the writes' webhooks to the bench's receiver, bench/contacts/sink.py); `leadhub import FILE` rows/s and
  peak RSS (20,000 rows with --quick; 100,000 and 1,000,000 at full size; ``--runs`` runs of each size up to
  100,000 rows, one of a million), each against its same-shape ceiling; the contacts
  export (CSV) rows/s.
Writes bench/results/contacts-<size>.md and .json with the machine description. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event, select

from leadhub import uow
from leadhub.auth import service as auth
from leadhub.auth.principal import Actor
from leadhub.contacts import service as contacts
from leadhub.core import ids
from leadhub.db import migrate
from leadhub.db.engine import Database
from leadhub.webhooks import service as webhooks
from leadhub.webhooks.schemas import EndpointIn

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
# LEADHUB_BENCH_PG_DB lets two benchmarks run side by side on one server (each its own database).
PG_DB = os.environ.get("LEADHUB_BENCH_PG_DB", "leadhub_bench")
PG_DSN = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
PG_URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}"
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
CONNECTIONS = 64
FIRST = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Edsger", "Frances", "José", "Zoë"]
LAST = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Dijkstra", "Allen"]
COMPANIES = ["Acme Corp", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries", "Wayne Enterprises", "Vandelay"]
SOURCES = ["webinar", "ads", "referral", "import", "website"]
STATUSES = ["new", "contacted", "qualified", "converted", "lost", "follow_up"]
AREAS = ["212", "415", "646", "312", "617", "303", "206", "512"]

WRK_SCRIPT = r"""
-- tid is a global: setup() sets it in each thread's own Lua state.
local counter = 0
local threads = 0
local base = 0
local prefix = "x"
setup = function(thread) thread:set("tid", threads); threads = threads + 1 end
init = function(args) base = tonumber(args[1]); prefix = args[2] end
local areas = {"212", "415", "646", "312", "617", "303", "206", "512"}
request = function()
  counter = counter + 1
  local n = base + tid * 1000000 + counter
  local area = areas[(math.floor(n / 8000000) % 8) + 1]
  local phone = string.format("(%s) %03d-%04d", area, 200 + math.floor(n / 10000) % 800, n % 10000)
  local body = string.format(
    '{"first_name":"Ada","last_name":"Lovelace %d","email":"Ada.L%s.%d.%d@Example%d.com","phone":"%s",' ..
    '"company_name":"Acme Corp","title":"CTO","source":"webinar","tags":["lead","bench"],' ..
    '"custom_fields":{"plan":"pro","seats":%d}}', n, prefix, tid, counter, n % 50, phone, n % 100)
  return wrk.format("POST", nil, wrk.headers, body)
end
"""


# --------------------------------------------------------------------------- small helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError):
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load_average_at_start": os.getloadavg(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def wait_http(url: str, headers: dict[str, str] | None = None, deadline: float = 60.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, headers=headers, timeout=2).status_code < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not come up")


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], health: str, headers: dict[str, str] | None = None) -> Iterator[int]:
    log = tempfile.NamedTemporaryFile("w+", prefix="bench-server-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(args, env={**os.environ, **env}, stdout=log, stderr=log, start_new_session=True, cwd=ROOT)
    try:
        try:
            wait_http(health, headers)
        except RuntimeError:
            log.seek(0)
            print(log.read()[-3000:], file=sys.stderr)
            raise
        yield proc.pid
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        os.unlink(log.name)


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is needed (apt-get install wrk)")
    return found


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    assert m, text
    return float(m.group(1)) * _UNITS[m.group(2)]


_runs_started = 0


def wrk(url: str, headers: dict[str, str], seconds: int) -> dict[str, float]:
    """One wrk run of POSTs with unique contacts; req/s counts 2xx answers only."""
    global _runs_started
    _runs_started += 1
    script = Path(tempfile.gettempdir()) / "bench-contacts.lua"
    script.write_text(WRK_SCRIPT)
    args = [ensure_wrk(), "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(script)]
    for k, v in {**headers, "Content-Type": "application/json"}.items():
        args += ["-H", f"{k}: {v}"]
    prefix = f"{os.getpid()}r{_runs_started}"
    out = subprocess.run([*args, url, "--", str(_runs_started * 10_000_000), prefix], capture_output=True, text=True)
    text = out.stdout
    total = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
    duration = re.search(r"requests in ([\d.]+\w+),", text).group(1)  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: .*", text)
    lat = dict(re.findall(r"^\s+(50|99)\.?0*%\s+(\S+)\s*$", text, re.M))
    if "99" not in lat:
        raise RuntimeError(f"wrk output without a p99:\n{text}\n{out.stderr}")
    ok = total - (int(bad.group(1)) if bad else 0)
    if bad or errors:
        print(f"   wrk: {bad.group(0) if bad else ''} {errors.group(0) if errors else ''}", flush=True)
    return {"rps": ok / (_ms(duration) / 1000), "p50": _ms(lat["50"]), "p99": _ms(lat["99"]), "non2xx": total - ok}


def wrk_runs(url: str, headers: dict[str, str], runs: int, seconds: int, label: str) -> dict[str, Any]:
    wrk(url, headers, 2)  # warm-up: connections, caches, JIT-free but allocator-warm
    samples = [wrk(url, headers, seconds) for _ in range(runs)]
    result = {k: spread([s[k] for s in samples]) for k in ("rps", "p50", "p99", "non2xx")}
    print(
        f"  {label:44s} {result['rps']['median']:8.0f} req/s  p50 {result['p50']['median']:6.1f} ms"
        f"  p99 {result['p99']['median']:6.1f} ms  (non-2xx {int(result['non2xx']['max'])})",
        flush=True,
    )
    return result


# --------------------------------------------------------------------------- data


def person(n: int) -> dict[str, Any]:
    first, last = FIRST[n % len(FIRST)], LAST[(n // 7) % len(LAST)]
    area = AREAS[(n // 8_000_000) % len(AREAS)]
    return {
        "first_name": first,
        "last_name": f"{last}{n}",
        "email": f"{first.lower()}.{last.lower()}{n}@example{n % 50}.com",
        "phone": f"+1{area}{200 + (n // 10000) % 800:03d}{n % 10000:04d}",
        "company_name": COMPANIES[n % len(COMPANIES)],
        "source": SOURCES[n % len(SOURCES)],
        "status": STATUSES[(n // 3) % len(STATUSES)],
    }


async def prepare_pg() -> None:
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {PG_DB}")
    finally:
        await admin.close()


CEILING_DDL = (
    "CREATE TABLE ceiling_contacts (workspace_id {uuid}, id {uuid}, name text, email text, phone text,"
    " company_name text, payload {json}, created_at {ts}, PRIMARY KEY (workspace_id, id))",
    "CREATE UNIQUE INDEX ceiling_contacts_email ON ceiling_contacts (workspace_id, email)",
)


async def ceiling_table_pg() -> None:
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute("DROP TABLE IF EXISTS ceiling_contacts")
        for ddl in CEILING_DDL:
            await conn.execute(ddl.format(uuid="uuid", json="jsonb", ts="timestamptz"))
    finally:
        await conn.close()


def ceiling_table_sqlite(path: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("DROP TABLE IF EXISTS ceiling_contacts")
    for ddl in CEILING_DDL:
        conn.execute(ddl.format(uuid="CHAR(32)", json="JSON", ts="DATETIME"))
    conn.close()


def raw_rows(n: int, offset: int) -> list[tuple[Any, ...]]:
    ws = uuid.UUID("00000000-0000-7000-8000-000000000002")
    now = datetime.now(UTC)
    rows = []
    for i in range(offset, offset + n):
        p = person(i)
        name = f"{p['first_name']} {p['last_name']}"
        rows.append((ws, uuid.uuid4(), name, p["email"], p["phone"], p["company_name"], json.dumps(p), now))
    return rows


async def raw_copy(rows: list[tuple[Any, ...]]) -> float:
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute("TRUNCATE ceiling_contacts")
        start = time.perf_counter()
        async with conn.transaction():
            await conn.copy_records_to_table(
                "ceiling_contacts",
                records=rows,
                columns=["workspace_id", "id", "name", "email", "phone", "company_name", "payload", "created_at"],
            )
        return len(rows) / (time.perf_counter() - start)
    finally:
        await conn.close()


def raw_executemany(path: str, rows: list[tuple[Any, ...]]) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("DELETE FROM ceiling_contacts")
    as_text = [(str(r[0]), str(r[1]), *r[2:7], r[7].isoformat()) for r in rows]
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT INTO ceiling_contacts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", as_text)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return len(rows) / elapsed


async def bootstrap(url: str, hook_url: str = "http://127.0.0.1:9/bench-hook") -> tuple[str, str]:
    """Migrate, create the organization, workspace and admin key, and one webhook endpoint (so every
    contact write also writes its outbox row; by default at a port that refuses connections). Returns
    (raw key, workspace public id)."""
    db = Database(url)
    try:
        await migrate.upgrade(db)
        async with db.session() as session:
            boot = await auth.bootstrap_if_empty(session, "US")
            await session.commit()
        assert boot is not None
        actor = Actor(type="system", id="bench", door="bench")
        async with uow.unit_of_work(db) as session:
            await webhooks.create_endpoint(
                session,
                boot.workspace.id,
                actor,
                EndpointIn(url=hook_url, event_types=["contact.*"]),  # type: ignore[arg-type]
                allow_private=True,
            )
        return boot.raw_key, boot.workspace.public_id
    finally:
        await db.dispose()


def _seed_rows(ws: uuid.UUID, first: int, last: int) -> tuple[list[tuple[Any, ...]], ...]:
    """Rows of contacts, contact_emails, contact_phones and contact_tags for people ``first``..``last``."""
    base = datetime(2024, 1, 1, tzinfo=UTC)
    people, emails, phones, tags = [], [], [], []
    for n in range(first, last):
        p = person(n)
        cid = ids.new_uuid()
        created = base + timedelta(seconds=n * 7)
        name = f"{p['first_name']} {p['last_name']}"
        text = " ".join(
            [name, p["first_name"], p["last_name"], p["company_name"], p["email"], p["phone"], p["phone"][1:]]
        ).lower()
        custom = json.dumps({"plan": "pro" if n % 3 else "free", "seats": n % 100})
        people.append(
            (
                ws,
                cid,
                p["first_name"],
                p["last_name"],
                name,
                p["company_name"],
                p["source"],
                p["status"],
                custom,
                False,
                "{}",
                "{}",
                False,
                0,
                created,
                created,
                text,
            )
        )
        emails.append((ws, p["email"], cid, "work", True, 0))
        phones.append((ws, p["phone"], cid, "mobile", True, 0))
        if n % 10 == 0:
            tags.append((ws, cid, "vip", 0))
    return people, emails, phones, tags


_SEED_COLUMNS = {
    "contacts": "workspace_id id first_name last_name name company_name source status custom_fields dnd dnd_settings"
    " consent is_test session_count created_at updated_at search_text",
    "contact_emails": "workspace_id address contact_id type is_primary position",
    "contact_phones": "workspace_id number contact_id type is_primary position",
    "contact_tags": "workspace_id contact_id tag position",
}


async def seed(url: str, ws_public: str, count: int, offset: int) -> float:
    """Store ``count`` contacts straight into the tables: COPY on PostgreSQL, executemany in big transactions
    on SQLite (the FTS5 index is rebuilt once after, not fed row by row). The read benchmarks' setup, not a
    measurement. Returns seconds taken."""
    ws = ids.decode(ids.WORKSPACE, ws_public)
    start = time.perf_counter()
    chunk = 50_000
    if url.startswith("postgresql"):
        conn = await asyncpg.connect(PG_DSN)
        try:
            for first in range(offset, offset + count, chunk):
                rows = _seed_rows(ws, first, min(first + chunk, offset + count))
                async with conn.transaction():
                    for table, records in zip(_SEED_COLUMNS, rows, strict=True):
                        await conn.copy_records_to_table(table, records=records, columns=_SEED_COLUMNS[table].split())
            await conn.execute("ANALYZE")
        finally:
            await conn.close()
        return time.perf_counter() - start
    db = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("BEGIN IMMEDIATE")
        triggers = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'contacts'"
        ).fetchall()
        for name, _ in triggers:
            db.execute(f"DROP TRIGGER {name}")
        for first in range(offset, offset + count, chunk):
            rows = _seed_rows(ws, first, min(first + chunk, offset + count))
            for table, records in zip(_SEED_COLUMNS, rows, strict=True):
                columns = _SEED_COLUMNS[table].split()
                as_sqlite = [tuple(v.hex if isinstance(v, uuid.UUID) else _sqlite_time(v) for v in r) for r in records]
                db.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", as_sqlite
                )
        if any(name == "contacts_fts_ai" for name, _ in triggers):
            db.execute("INSERT INTO contacts_fts(contacts_fts) VALUES ('rebuild')")
        for _, sql in triggers:
            db.execute(sql)
        db.execute("COMMIT")
        db.execute("ANALYZE")
    finally:
        db.close()
    return time.perf_counter() - start


def drain_outbox(path: str, within: float = 300) -> dict[str, float]:
    """Wait until `serve`'s dispatcher (SQLite) has delivered every open delivery to the bench's receiver.
    The reads are measured on a settled service: with thousands of deliveries still being sent by the same
    process, a lookup's p50 doubled (the dispatcher's attempts and their records share its event loop)."""
    db = sqlite3.connect(path)
    try:
        query = "SELECT count(*) FROM webhook_deliveries WHERE status IN ('pending', 'retrying')"
        start, first = time.perf_counter(), int(db.execute(query).fetchone()[0])
        while (left := int(db.execute(query).fetchone()[0])) and time.perf_counter() - start < within:
            time.sleep(0.5)
        seconds = time.perf_counter() - start
        return {"open_at_start": first, "left": left, "seconds": seconds}
    finally:
        db.close()


def _sqlite_time(value: Any) -> Any:
    # leadhub's UTCDateTime on SQLite: naive UTC text in one fixed format.
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return value


async def plans(url: str, ws_public: str) -> dict[str, str]:
    """The query plans of the filtered list and of the ``q`` search, captured from the real statements."""
    db = Database(url)
    captured: list[tuple[str, Any]] = []

    @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
    def grab(_c: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if "FROM contacts" in statement:
            captured.append((statement, parameters))

    out: dict[str, str] = {}
    try:
        async with db.read_session() as session:
            ws = await session.get(auth.Workspace, ids.decode(ids.WORKSPACE, ws_public))
            assert ws is not None
            from leadhub.core.pagination import PageRequest

            cases = {
                "list status+source": contacts.ContactFilters(status=["qualified"], source="webinar"),
                "q search": contacts.ContactFilters(q="lovelace12"),
                "q search (email fragment)": contacts.ContactFilters(q="example7.com"),
            }
            for label, filters in cases.items():
                captured.clear()
                await contacts.list_contacts(session, ws, filters, PageRequest(limit=50, cursor=None))
                statement, params = captured[0]
                prefix = "EXPLAIN ANALYZE " if db.is_postgres else "EXPLAIN QUERY PLAN "
                conn = await session.connection()
                rows = (await conn.exec_driver_sql(prefix + statement, params)).all()
                out[label] = "\n".join(" | ".join(str(c) for c in r) for r in rows)
    finally:
        await db.dispose()
    return out


def timed_gets(base: str, headers: dict[str, str], paths: list[str]) -> list[float]:
    times = []
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for path in paths[:5]:
            client.get(path)  # warm-up
        for path in paths:
            start = time.perf_counter()
            r = client.get(path)
            times.append((time.perf_counter() - start) * 1000)
            assert r.status_code == 200, (path, r.status_code, r.text[:300])
    return times


def batch_upsert(base: str, headers: dict[str, str], calls: int, offset: int) -> dict[str, Any]:
    rates = []
    with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
        for c in range(calls):
            items = []
            for i in range(1000):
                p = person(offset + c * 1000 + i)
                # Mixed formats as people type them; the service normalizes.
                p["email"] = p["email"].upper() if i % 4 == 0 else p["email"]
                p["phone"] = f"({p['phone'][2:5]}) {p['phone'][5:8]}-{p['phone'][8:]}" if i % 2 else p["phone"]
                items.append(p)
            start = time.perf_counter()
            r = client.post("/v1/contacts/batch", json={"mode": "upsert", "items": items})
            elapsed = time.perf_counter() - start
            assert r.status_code == 200, r.text[:500]
            body = r.json()
            assert body["failed"] == 0, body["results"][:3]
            rates.append(1000 / elapsed)
    return spread(rates)


def import_file(rows: int, offset: int) -> Path:
    """A CSV as people bring them: mixed-case emails, phones in E.164 and national formats, ~2% invalid
    rows (bad email or phone) and ~2% duplicates of an earlier row of the file (merged by the import)."""
    path = Path(tempfile.gettempdir()) / f"bench-import-{rows}-{offset}.csv"
    with path.open("w") as f:
        f.write("First Name,Last Name,E-mail Address,Phone Number,Company,Lead Source,Plan\n")
        for i in range(rows):
            n = offset + i
            if i % 50 == 49:
                n = offset + i - 17  # an in-file duplicate of a row 17 lines up
            p = person(n)
            email = p["email"].upper() if i % 4 == 0 else p["email"]
            phone = f"({p['phone'][2:5]}) {p['phone'][5:8]}-{p['phone'][8:]}" if i % 5 == 0 else p["phone"]
            if i % 50 == 23:
                email = "not-an-email"
            elif i % 50 == 37:
                phone = "12"
            plan = "pro" if n % 3 else "free"
            f.write(f"{p['first_name']},{p['last_name']},{email},{phone},{p['company_name']},{p['source']},{plan}\n")
    return path


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the import's normalizing workers)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
    return found


def _status(pid: int, field: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def _import_summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """One import size's runs as one line: rows/s (and its ceiling's) as the median with the spread, peak
    memory as the highest; a failed run makes the size a failure (reported with its output)."""
    failed = [s for s in samples if s["exit"] != 0]
    if failed:
        return failed[0]
    summary = dict(samples[len(samples) // 2])
    for key in ("rows_per_s", "rows_per_s_process"):
        summary[key] = statistics.median(s[key] for s in samples)
    summary["rows_per_s_spread"] = spread([s["rows_per_s"] for s in samples])
    summary["shape"] = {"rows_per_s": statistics.median(s["shape"]["rows_per_s"] for s in samples),
                        "spread": spread([s["shape"]["rows_per_s"] for s in samples])}  # fmt: skip
    for key in ("peak_rss_mb", "peak_tree_rss_mb"):
        summary[key] = max(s[key] for s in samples)
    summary["runs"] = len(samples)
    return summary


def import_rows(url: str, data_dir: str, rows: int, offset: int) -> dict[str, Any] | None:
    """Rows/s and peak RSS of `leadhub import FILE` (a real process, as a user runs it). Rows/s is over the
    job's own run (started_at..finished_at, the figure that scales to big files) and over the whole
    process (start-up and migrations check included); RSS is the main process's peak and the peak of the
    sum over the process tree (main + normalizing workers)."""
    probe = subprocess.run([str(BIN / "leadhub"), "import", "--help"], capture_output=True, text=True)
    if probe.returncode != 0:
        return None
    path = import_file(rows, offset)
    env = {**os.environ, "LEADHUB_DATABASE_URL": url, "LEADHUB_DATA_DIR": data_dir}
    start = time.perf_counter()
    command = [str(BIN / "leadhub"), "import", str(path), "--quiet"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak_main = peak_tree = 0
    while proc.poll() is None:
        pids = _tree(proc.pid)
        peak_main = max(peak_main, _status(proc.pid, "VmHWM"))
        peak_tree = max(peak_tree, sum(_status(p, "VmRSS") for p in pids))
        time.sleep(0.2)
    elapsed = time.perf_counter() - start
    output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    path.unlink()
    job_seconds = asyncio.run(_last_job_seconds(url))
    summary = next((json.loads(line) for line in output.splitlines() if line.startswith("{")), {})
    return {
        "rows": rows,
        "seconds": elapsed,
        "job_seconds": job_seconds,
        "rows_per_s": rows / job_seconds if job_seconds else rows / elapsed,
        "rows_per_s_process": rows / elapsed,
        "peak_rss_mb": peak_main / 1024,
        "peak_tree_rss_mb": peak_tree / 1024,
        "summary": summary,
        "exit": proc.returncode,
        "tail": output[-400:],
    }


# The tables an import writes for each new contact, in an order their foreign keys accept, with how a row
# of each is found among what the import wrote (``imported``: the contacts of its ``contact.created`` events).
SHAPE_TABLES = {
    "contacts": "id IN (SELECT contact_id FROM imported)",
    "contact_emails": "contact_id IN (SELECT contact_id FROM imported)",
    "contact_phones": "contact_id IN (SELECT contact_id FROM imported)",
    "contact_tags": "contact_id IN (SELECT contact_id FROM imported)",
    "contact_match_keys": "contact_id IN (SELECT contact_id FROM imported)",
    "events": "seq > {since}",
}
_IMPORTED = (
    "WITH imported AS (SELECT contact_id FROM events WHERE workspace_id = {ws} AND seq > {since}"
    " AND type = 'contact.created') "
)


async def events_seq(url: str, ws_public: str) -> int:
    """The workspace's last event number (an import's events come after it)."""
    db = Database(url)
    try:
        async with db.read_session() as session:
            ws = await session.get(auth.Workspace, ids.decode(ids.WORKSPACE, ws_public))
            assert ws is not None
            return int(ws.event_seq)
    finally:
        await db.dispose()


async def _shape_workspace(url: str, ws_public: str) -> uuid.UUID:
    """A new workspace of the bench's organization, for the same-shape ceiling's rows."""
    db = Database(url)
    try:
        async with uow.unit_of_work(db) as session:
            ws = await session.get(auth.Workspace, ids.decode(ids.WORKSPACE, ws_public))
            assert ws is not None
            made = await auth.create_workspace(session, ws.organization_id, f"ceiling {uuid.uuid4().hex[:6]}", "US")
            return made.id
    finally:
        await db.dispose()


def shape_ceiling(url: str, ws_public: str, since: int, rows: int, work: Path) -> dict[str, float]:
    """The import's ceiling as issue 11 words it, "raw COPY of the same rows (same table shape, unique
    indexes included)": every row the import just wrote (its contacts, emails, phones, tags, match keys and
    events; not its own job bookkeeping) read back, then written again, timed, into the same tables with
    every index, foreign key and the ``q`` search index (trigram GIN / FTS5), under another workspace of the
    same database: raw ``COPY`` of each table in one transaction on PostgreSQL; on SQLite ``executemany`` in
    one transaction, with the FTS5 index fed by one ``INSERT … SELECT`` as the import feeds it. Rows/s
    counts the file's rows over the timed writes, so its ratio to the import's rows/s is a ratio of times."""
    ws = ids.decode(ids.WORKSPACE, ws_public)
    target = asyncio.run(_shape_workspace(url, ws_public))
    if url.startswith("postgresql"):
        seconds = asyncio.run(_shape_copy(ws, target, since, work))
    else:
        seconds = _shape_executemany(url.split("///", 1)[1], ws, target, since)
    return {"rows_per_s": rows / seconds, "seconds": seconds}


async def _shape_copy(ws: uuid.UUID, target: uuid.UUID, since: int, work: Path) -> float:
    conn = await asyncpg.connect(PG_DSN)
    try:
        files: list[tuple[str, list[str], Path]] = []
        for table, which in SHAPE_TABLES.items():
            columns = [r["attname"] for r in await conn.fetch(
                "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0"
                " AND NOT attisdropped ORDER BY attnum", table)]  # fmt: skip
            cells = ", ".join(f"'{target}'::uuid" if c == "workspace_id" else f'"{c}"' for c in columns)
            query = (_IMPORTED + "SELECT {cells} FROM {table} WHERE workspace_id = {ws} AND {which}").format(
                ws=f"'{ws}'::uuid", since=since, cells=cells, table=table, which=which.format(since=since)
            )
            out = work / f"shape-{table}.copy"
            await conn.copy_from_query(query, output=str(out))
            files.append((table, columns, out))
        start = time.perf_counter()
        async with conn.transaction():
            for table, columns, out in files:
                await conn.copy_to_table(table, source=str(out), columns=columns)
        elapsed = time.perf_counter() - start
        for _, _, out in files:
            out.unlink()
        return elapsed
    finally:
        await conn.close()


def _shape_executemany(path: str, ws: uuid.UUID, target: uuid.UUID, since: int) -> float:
    read = sqlite3.connect(path)
    write = sqlite3.connect(path, isolation_level=None)
    elapsed = 0.0
    try:
        write.execute("PRAGMA foreign_keys=ON")  # as leadhub's own connections write
        write.execute("PRAGMA synchronous=NORMAL")
        write.execute("BEGIN IMMEDIATE")
        trigger = write.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'contacts_fts_ai'")
        trigger_sql = (trigger.fetchone() or (None,))[0]
        last = write.execute("SELECT coalesce(max(rowid), 0) FROM contacts").fetchone()[0]
        if trigger_sql:
            write.execute("DROP TRIGGER contacts_fts_ai")
        for table, which in SHAPE_TABLES.items():
            columns = [r[1] for r in read.execute(f"PRAGMA table_info({table})")]
            cells = ", ".join("?" if c == "workspace_id" else f'"{c}"' for c in columns)
            query = (_IMPORTED + "SELECT {cells} FROM {table} WHERE workspace_id = ? AND {which}").format(
                ws="?", since=since, cells=cells, table=table, which=which.format(since=since)
            )
            cursor = read.execute(query, (ws.hex, target.hex, ws.hex))
            insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            while batch := cursor.fetchmany(20_000):
                start = time.perf_counter()
                write.executemany(insert, batch)
                elapsed += time.perf_counter() - start
            if table == "contacts" and trigger_sql:
                start = time.perf_counter()
                write.execute(
                    "INSERT INTO contacts_fts(rowid, workspace_id, search_text)"
                    " SELECT rowid, workspace_id, search_text FROM contacts WHERE rowid > ?",
                    (last,),
                )
                elapsed += time.perf_counter() - start
        if trigger_sql:
            write.execute(trigger_sql)
        start = time.perf_counter()
        write.execute("COMMIT")
        elapsed += time.perf_counter() - start
    finally:
        read.close()
        write.close()
    return elapsed


async def _last_job_seconds(url: str) -> float | None:
    from leadhub.imports.models import ImportJob

    db = Database(url)
    try:
        async with db.read_session() as session:
            job = await session.scalar(select(ImportJob).order_by(ImportJob.created_at.desc()).limit(1))
            if job is None or not job.started_at or not job.finished_at:
                return None
            return (job.finished_at - job.started_at).total_seconds()
    finally:
        await db.dispose()


async def export_contacts(url: str, ws_public: str, out: Path) -> dict[str, float]:
    """leadhub's contacts export (CSV, every field, custom fields as columns) written to a file, in this
    process; rows/s."""
    from leadhub.contacts.listing import ContactFilters
    from leadhub.exports import service as exports

    db = Database(url)
    try:
        async with db.read_session() as session:
            ws = await session.get(auth.Workspace, ids.decode(ids.WORKSPACE, ws_public))
        assert ws is not None
        start = time.perf_counter()
        lines = 0
        with out.open("wb") as sink:
            async for block in exports.stream(db, ws, "contacts", "csv", ContactFilters()):
                lines += block.count(b"\r\n")
                sink.write(block)
        elapsed = time.perf_counter() - start
    finally:
        await db.dispose()
    return {"rows": lines - 1, "rows_per_s": (lines - 1) / elapsed, "seconds": elapsed}


async def export_ceiling(url: str, ws_public: str, out: Path) -> dict[str, float]:
    """The same rows' raw dump: ``COPY (SELECT * FROM contacts WHERE workspace_id = …) TO STDOUT`` (CSV) on
    PostgreSQL; on SQLite ``SELECT *`` through sqlite3 written with csv.writer."""
    ws = ids.decode(ids.WORKSPACE, ws_public)
    start = time.perf_counter()
    if url.startswith("postgresql"):
        conn = await asyncpg.connect(PG_DSN)
        try:
            status = await conn.copy_from_query(
                "SELECT * FROM contacts WHERE workspace_id = $1", ws, output=str(out), format="csv", header=True
            )
            rows = int(status.split()[-1])
        finally:
            await conn.close()
    else:
        import csv

        db = sqlite3.connect(url.split("///", 1)[1])
        rows = 0
        with out.open("w", newline="") as sink:
            writer = csv.writer(sink)
            cursor = db.execute("SELECT * FROM contacts WHERE workspace_id = ?", (ws.hex,))
            writer.writerow([d[0] for d in cursor.description])
            while batch := cursor.fetchmany(5000):
                writer.writerows(batch)
                rows += len(batch)
        db.close()
    elapsed = time.perf_counter() - start
    return {"rows": rows, "rows_per_s": rows / elapsed, "seconds": elapsed}


def export_runs(url: str, ws_public: str, runs: int, work: Path) -> dict[str, Any]:
    out = work / "export.csv"
    # Interleaved (ours, raw, ours, raw…): the load other work puts on the machine moves both alike.
    ours: list[dict[str, float]] = []
    raw: list[dict[str, float]] = []
    for _ in range(runs):
        ours.append(asyncio.run(export_contacts(url, ws_public, out)))
        raw.append(asyncio.run(export_ceiling(url, ws_public, out)))
    out.unlink(missing_ok=True)
    return {
        "rows": ours[0]["rows"],
        "ceiling_rows": raw[0]["rows"],
        "rows_per_s": spread([r["rows_per_s"] for r in ours]),
        "ceiling_rows_per_s": spread([r["rows_per_s"] for r in raw]),
    }


# --------------------------------------------------------------------------- one engine


def bench_engine(engine: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    res: dict[str, Any] = {"engine": engine}
    workers = 2 if engine == "postgres" else 1
    if engine == "postgres":
        asyncio.run(prepare_pg())
        url, ceiling_dsn = PG_URL, PG_DSN
        asyncio.run(ceiling_table_pg())
    else:
        path = str(work / "leadhub.db")
        url, ceiling_dsn = f"sqlite+aiosqlite:///{path}", str(work / "ceiling.db")
        ceiling_table_sqlite(ceiling_dsn)
    res["workers"] = workers
    print(f"== {engine} (leadhub serve --workers {workers})", flush=True)

    # Ceilings.
    if not args.import_export:
        for mode in ("bare", "pg" if engine == "postgres" else "sqlite"):
            port = free_port()
            uv = [str(BIN / "uvicorn"), "bench.contacts.ceiling:app", "--port", str(port), "--workers", str(workers)]
            uv += ["--loop", "uvloop", "--http", "httptools", "--log-level", "warning", "--no-access-log"]
            with process(uv, {"BENCH_MODE": mode, "BENCH_DSN": ceiling_dsn}, f"http://127.0.0.1:{port}/docs"):
                label = "ceiling: bare ASGI" if mode == "bare" else f"ceiling: thin real ({mode} INSERT)"
                res["bare" if mode == "bare" else "thin"] = wrk_runs(
                    f"http://127.0.0.1:{port}/v1/contacts", {}, args.runs, args.seconds, label
                )
    rows = raw_rows(args.rows, 50_000_000)
    if engine == "postgres":
        res["raw_write"] = spread([asyncio.run(raw_copy(rows)) for _ in range(args.runs)])
        label = "ceiling: raw COPY"
    else:
        res["raw_write"] = spread([raw_executemany(ceiling_dsn, rows) for _ in range(args.runs)])
        label = "ceiling: raw executemany (1 transaction)"
    print(f"  {label:44s} {res['raw_write']['median']:8.0f} rows/s ({args.rows} rows)", flush=True)

    # leadhub.
    key, ws = asyncio.run(bootstrap(url, args.hook_url))
    headers = {"Authorization": f"Bearer {key}"}
    port = free_port()
    env = {
        "LEADHUB_DATABASE_URL": url,
        "LEADHUB_DATA_DIR": str(work / engine),
        # Rate limits stay on (their cost is part of a request) with room for the benchmark's load.
        "LEADHUB_RATELIMIT_KEY_LIMIT": "100000000",
        "LEADHUB_RATELIMIT_WORKSPACE_LIMIT": "100000000",
        "LEADHUB_RATELIMIT_DAILY_QUOTA": "1000000000",
        "LEADHUB_WEBHOOK_ALLOW_PRIVATE": "1",
    }
    if args.import_export:
        res["seed_seconds"] = asyncio.run(seed(url, ws, args.contacts, 0))
        print(f"  seeded {args.contacts} contacts in {res['seed_seconds']:.0f} s", flush=True)
    else:
        serve = [
            str(BIN / "leadhub"),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ]
        base = f"http://127.0.0.1:{port}"
        with process(serve, env, f"{base}/healthz") as pid:
            res["server_pid"] = pid
            res["post"] = wrk_runs(f"{base}/v1/contacts", headers, args.runs, args.seconds, "leadhub POST /v1/contacts")
            res["batch"] = batch_upsert(base, headers, args.batch_calls, 60_000_000)
            print(
                f"  {'leadhub batch upsert (1,000 per call)':44s} {res['batch']['median']:8.0f} contacts/s", flush=True
            )
            res["seed_seconds"] = asyncio.run(seed(url, ws, args.contacts, 0))
            print(f"  seeded {args.contacts} contacts in {res['seed_seconds']:.0f} s", flush=True)
            if engine == "sqlite":  # on PostgreSQL `leadhub worker` delivers, and the bench runs none
                res["drain"] = d = drain_outbox(path)
                print(f"  dispatcher: {d['open_at_start']} deliveries still open after seeding, delivered in"
                      f" {d['seconds']:.0f} s ({d['left']} left)", flush=True)  # fmt: skip
            rnd = random.Random(7)
            picks = [person(rnd.randrange(args.contacts)) for _ in range(args.lookups)]
            lookups = timed_gets(base, headers, [f"/v1/contacts/lookup?email={p['email'].upper()}" for p in picks])
            lists = timed_gets(
                base,
                headers,
                [f"/v1/contacts?status={STATUSES[i % 6]}&source={SOURCES[i % 5]}&limit=50" for i in range(args.lists)],
            )
            searches = timed_gets(
                base,
                headers,
                [f"/v1/contacts?q={p['last_name'].lower()[:-1]}&limit=50" for p in picks[: args.lists]],
            )
            res["lookup"] = {"p50": pct(lookups, 50), "p99": pct(lookups, 99), "n": len(lookups)}
            res["list"] = {"p50": pct(lists, 50), "p95": pct(lists, 95), "n": len(lists)}
            res["q"] = {"p50": pct(searches, 50), "p95": pct(searches, 95), "n": len(searches)}
            for name in ("lookup", "list", "q"):
                r = res[name]
                tail = "p99" if name == "lookup" else "p95"
                print(f"  {name:44s} p50 {r['p50']:6.1f} ms  {tail} {r[tail]:6.1f} ms", flush=True)
        res["plans"] = asyncio.run(plans(url, ws))
    res["imports"] = []
    for size in args.import_sizes:
        # Each run imports new people (its own offset), then takes its same-shape ceiling; a million-row
        # file is imported once (a run takes minutes).
        samples = []
        for run in range(args.runs if size <= 100_000 else 1):
            since = asyncio.run(events_seq(url, ws))
            imported = import_rows(url, str(work / engine), size, 70_000_000 + 2_000_000 * run + size)
            if not imported:
                break
            if imported["exit"] == 0:
                imported["shape"] = shape_ceiling(url, ws, since, size, work)
            samples.append(imported)
            shape = imported["shape"]["rows_per_s"] if "shape" in imported else 0
            print(
                f"  {'leadhub import ' + f'{size:,} rows':44s} {imported['rows_per_s']:8.0f} rows/s"
                f" (process {imported['rows_per_s_process']:.0f}; same-shape ceiling {shape:.0f})  peak RSS"
                f" {imported['peak_rss_mb']:.0f} MB (tree {imported['peak_tree_rss_mb']:.0f} MB)"
                f"  {imported['summary']}",
                flush=True,
            )
        if not samples:
            print("  leadhub import: command not available: not measured", flush=True)
            break
        res["imports"].append(_import_summary(samples))
    res["export"] = export_runs(url, ws, args.export_runs, work)
    e = res["export"]
    label = f"leadhub export (CSV) of {e['rows']:,} contacts"
    print(
        f"  {label:44s} {e['rows_per_s']['median']:8.0f} rows/s  ceiling {e['ceiling_rows_per_s']['median']:.0f}",
        flush=True,
    )
    return res


# --------------------------------------------------------------------------- report


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.0%}" if a and b else "—"


def _rng(x: dict[str, float], fmt: str = "{:.0f}") -> str:
    return f"{fmt.format(x['median'])} ({fmt.format(x['min'])} to {fmt.format(x['max'])})"


def _engine_lines(engine: str, r: dict[str, Any], args: argparse.Namespace) -> list[str]:
    lines = []
    raw = r["raw_write"]
    raw_name = "raw COPY" if engine == "postgres" else "raw executemany"
    if "post" in r:
        post, thin, bare = r["post"], r["thin"], r["bare"]
        w = r["workers"]
        lines += [
            f"| {engine} | POST /v1/contacts req/s (serve --workers {w}) | {_rng(post['rps'])} |"
            f" thin real {_rng(thin['rps'])} | {ratio(post['rps']['median'], thin['rps']['median'])} | ≥ 50% |",
            f"| {engine} | POST /v1/contacts vs bare ASGI | | bare {_rng(bare['rps'])} |"
            f" {ratio(post['rps']['median'], bare['rps']['median'])} | |",
            f"| {engine} | POST p50 / p99 ms | {post['p50']['median']:.1f} / {post['p99']['median']:.1f} |"
            f" thin {thin['p50']['median']:.1f} / {thin['p99']['median']:.1f} | | p99 ≤ 150 |",
        ]
    best_import = None
    for imp in r.get("imports", []):
        if imp["exit"] != 0:
            lines.append(
                f"| {engine} | import of {imp['rows']:,} rows | did not finish (exit {imp['exit']}) after"
                f" {imp['seconds']:.0f} s: not a measurement | {raw_name} {_rng(raw)} |||"
            )
            continue
        best_import = best_import or imp["rows_per_s"]
        done = imp["summary"]
        shape = imp.get("shape")
        if shape:
            lines.append(
                f"| {engine} | import rows/s, {imp['rows']:,}-row CSV (job; whole process"
                f" {imp['rows_per_s_process']:.0f}) | {_rng(imp['rows_per_s_spread'])} | {raw_name} of the same"
                f" rows into leadhub's tables (same shape, every index) {_rng(shape['spread'])} |"
                f" {ratio(imp['rows_per_s'], shape['rows_per_s'])} | ≥ 25% |"
            )
        lines.append(
            f"| {engine} | import rows/s, {imp['rows']:,}-row CSV{' vs one flat table' if shape else ''} |"
            f" {imp['rows_per_s']:.0f} | {raw_name} into one table with a unique index {_rng(raw)} |"
            f" {ratio(imp['rows_per_s'], raw['median'])} | {'' if shape else '≥ 25%'} |"
        )
        lines.append(
            f"| {engine} | import peak RSS, {imp['rows']:,} rows (main process / with its workers) |"
            f" {imp['peak_rss_mb']:.0f} / {imp['peak_tree_rss_mb']:.0f} MB | | | ≤ 300 MB |"
        )
        lines.append(
            f"| {engine} | import outcome, {imp['rows']:,} rows | created {done.get('created')}, merged"
            f" {done.get('merged')}, failed {done.get('failed')} | | | |"
        )
    if "batch" in r:
        batch = r["batch"]["median"]
        lines += [
            f"| {engine} | batch upsert contacts/s (1,000 per call) | {_rng(r['batch'])} |"
            f" import {best_import or 0:.0f} | {ratio(batch, best_import)} | ≥ 50% of import |",
            f"| {engine} | lookup by email p50 / p99 ms | {r['lookup']['p50']:.1f} / {r['lookup']['p99']:.1f} |"
            " | | p99 ≤ 10 |",
            *(
                [
                    f"| {engine} | (reads measured once `serve`'s dispatcher had delivered the"
                    f" {r['drain']['open_at_start']:,} deliveries open after seeding: {r['drain']['seconds']:.0f} s) |"
                    " | | | |"
                ]
                if "drain" in r
                else []
            ),
            f"| {engine} | filtered list p50 / p95 ms | {r['list']['p50']:.1f} / {r['list']['p95']:.1f} ||| p95 ≤ 50 |",
            f"| {engine} | q search p50 / p95 ms | {r['q']['p50']:.1f} / {r['q']['p95']:.1f} | | | p95 ≤ 100 |",
        ]
    if "export" in r:
        e = r["export"]
        ceiling = "raw COPY … TO STDOUT (CSV)" if engine == "postgres" else "raw SELECT * to CSV"
        lines.append(
            f"| {engine} | export contacts rows/s (CSV, {e['rows']:,} rows) | {_rng(e['rows_per_s'])} |"
            f" {ceiling} {_rng(e['ceiling_rows_per_s'])} |"
            f" {ratio(e['rows_per_s']['median'], e['ceiling_rows_per_s']['median'])} | ≥ 50% |"
        )
    return lines


def report(results: dict[str, Any], args: argparse.Namespace) -> str:
    m = results["machine"]
    size = "quick" if args.quick else "full"
    lines = [
        f"# Contacts benchmark ({size}: {args.contacts:,} contacts stored"
        f"{'; import and export lines only' if args.import_export else ''})",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory']}; Linux {m['kernel']}; Python {m['python']};"
        f" SQLite {m['sqlite']}; {m.get('postgres', '')}; load average at start {m['load_average_at_start']},"
        f" at end {m.get('load_average_at_end')}.",
        f"Started {m['started']}, {results.get('seconds', 0):.0f} s in all. Each figure: median of {args.runs} runs"
        f" (min to max) unless one figure is given; HTTP runs {args.seconds} s each with wrk (2 threads,"
        f" {CONNECTIONS} connections) in its own process, every POST a new unique contact. Imports: `leadhub"
        f" import FILE` as a user runs it, {args.runs} runs of each size up to 100,000 rows and one of a million"
        " (rows/s over the job's own run; mixed-case emails, E.164 and national phones, ~2% invalid rows, ~2%"
        " in-file duplicates). Export: `exports.stream` of"
        " every stored contact to a CSV file, against the raw dump of the same rows.",
        "",
        "| engine | measure | leadhub | ceiling | ratio | target |",
        "|---|---|---|---|---|---|",
    ]
    for engine in args.engines:
        r = results.get(engine)
        if r:
            lines += _engine_lines(engine, r, args)
    for engine in args.engines:
        r = results.get(engine)
        if not r or "plans" not in r:
            continue
        lines += ["", f"## Query plans ({engine}, {args.contacts:,} contacts)"]
        for label, plan in r["plans"].items():
            lines += ["", f"{label}:", "```", plan, "```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="50,000 stored, 20,000-row import, short runs (< 5 min)")
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tag", default="", help="suffix for the result files")
    parser.add_argument(
        "--import-export", action="store_true", help="only the import and export lines (with their ceilings)"
    )
    parser.add_argument("--contacts", type=int, help="contacts stored (overrides the size's default)")
    parser.add_argument("--import-sizes", help="comma-separated import row counts (overrides the size's default)")
    args = parser.parse_args()
    args.engines = args.engines.split(",")
    contacts, import_sizes = args.contacts, args.import_sizes
    if args.quick:
        # Sized to finish in under 5 minutes on a 2-core machine: the import and the export run at a few
        # thousand rows/s, so they get the smallest sizes that still show their rates.
        args.contacts, args.rows, args.seconds, args.batch_calls, args.lookups, args.lists = (
            50_000, 20_000, 5, 3, 300, 100)  # fmt: skip
        args.import_sizes = [20_000]
        args.export_runs = 1
    else:
        args.contacts, args.rows, args.seconds, args.batch_calls, args.lookups, args.lists = (
            1_000_000, 1_000_000, 15, 5, 1000, 300)  # fmt: skip
        args.import_sizes = [100_000, 1_000_000]
        args.export_runs = args.runs
    if contacts:
        args.contacts = contacts
    if import_sizes:
        args.import_sizes = [int(n) for n in import_sizes.split(",")]
        args.rows = max(args.import_sizes)
    began = time.perf_counter()
    results: dict[str, Any] = {"machine": machine(), "args": {k: v for k, v in vars(args).items()}}
    with contextlib.suppress(Exception):
        results["machine"]["postgres"] = asyncio.run(_pg_version())
    # Every contact write also queues a webhook delivery, to a receiver that accepts them (SQLite's `serve`
    # delivers them itself while the bench runs, as it would for a healthy subscriber).
    sink = free_port()
    args.hook_url = f"http://127.0.0.1:{sink}/bench-hook"
    sink_command = [sys.executable, "-m", "bench.contacts.sink", str(sink)]
    with tempfile.TemporaryDirectory(prefix="bench-contacts-") as tmp, process(sink_command, {}, args.hook_url):
        for engine in args.engines:
            results[engine] = bench_engine(engine, args, Path(tmp))
    results["machine"]["load_average_at_end"] = os.getloadavg()
    results["seconds"] = time.perf_counter() - began
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"contacts-{'quick' if args.quick else 'full'}{'-import-export' if args.import_export else ''}"
    name += f"-{args.tag}" if args.tag else ""
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2, default=str))
    text = report(results, args)
    (RESULTS / f"{name}.md").write_text(text)
    print("\n" + text.split("## Query plans")[0])
    print(f"written: bench/results/{name}.md and .json")


async def _pg_version() -> str:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        return str(await conn.fetchval("SELECT version()")).split(" on ")[0]
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
