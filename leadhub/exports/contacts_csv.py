"""The contacts CSV export at the database's speed: each cell is rendered by the SQL statement (PostgreSQL:
``COPY (SELECT …) TO STDOUT``, read straight from asyncpg) or by one tight loop over plain tuples (SQLite),
in keyset batches, so memory stays constant.

The bytes are exactly those of the reference renderer (``service._csv_row`` through ``csv.writer``). Where
SQL cannot prove a cell equal (a float whose text is not Python's ``repr``, a nested JSON value holding a
fraction, a timestamp stored in an unusual form), the whole batch is rendered by the reference instead."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import csv
import io
import json
import re
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import orjson
from sqlalchemy import ColumnElement, Select, literal, literal_column, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import Workspace
from leadhub.contacts.models import Contact
from leadhub.core import ids
from leadhub.db.engine import Database, driver_connection
from leadhub.db.types import UTCDateTime

Key = tuple[datetime, uuid.UUID]
# The reference rendering (CSV rows, no header) of the contacts ordered before ``after`` and from ``lower`` on.
Reference = Callable[[AsyncSession, Key | None, Key | None], Awaitable[bytes]]
# The filtered listing statement (``listing._filtered`` with its definitions and index narrowing) for a session.
Filtered = Callable[[AsyncSession], Awaitable[Select[Any]]]

# Rows a batch: PostgreSQL keeps the batch's rows and Python only its CSV bytes; on SQLite Python holds the
# batch's tuples and cells too (about 4 kB a row), so its batches are smaller.
BATCH = 20_000
SQLITE_BATCH = 5_000
_ADDRESS = ("line1", "line2", "city", "state", "postal_code", "country")
_TEXT = ("first_name", "middle_name", "last_name", "name")
_ORDER = (Contact.created_at.desc(), Contact.id.desc())


def cell(value: Any) -> str:
    """One CSV cell of a native JSON value: empty for null, ``true``/``false``, JSON for objects and lists."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def keyset(after: Key | None, lower: Key | None) -> list[ColumnElement[bool]]:
    """Rows strictly after ``after`` in the export's order (newest first) and up to ``lower`` included. Row
    values, so both engines seek the (workspace_id, created_at, id) index to the spot: SQLite answers the
    equivalent ``a < x OR (a = x AND b < y)`` by walking the index from the newest row, every batch."""
    key = tuple_(Contact.created_at, Contact.id)
    conditions: list[ColumnElement[bool]] = []
    if after is not None:
        conditions.append(key < tuple_(literal(after[0], Contact.created_at.type), literal(after[1], Contact.id.type)))
    if lower is not None:
        conditions.append(key >= tuple_(literal(lower[0], Contact.created_at.type), literal(lower[1], Contact.id.type)))
    return conditions


# ---------------------------------------------------------------- ids, in bulk

# ids.encode writes a UUID's 128 bits (2 zero bits above them) as 26 groups of 5 bits. Done for a whole batch
# at once: each UUID in a 21-byte slot of one big integer, every group moved into a 6-bit slot of its own by
# five mask-and-shift steps (step k moves the groups whose index has bit k set by 2**k), then base64 (C)
# writes each 6-bit slot as one character, mapped to the alphabet.
_SLOT = 21
# The 5 bytes in front of each UUID: 12 one bits, base64's "//" in front of each encoded id (the
# ids' bits take the lower 156 of the 168 once spread); then zeros.
_HEX_PAD = b"fff" + b"0" * (2 * (_SLOT - 16) - 3)


def _spread_masks() -> list[tuple[int, bytes]]:
    steps = []
    for k in (4, 3, 2, 1, 0):
        done = ~((1 << (k + 1)) - 1)  # the higher index bits, already moved
        mask = 0
        for i in range(26):
            if i >> k & 1:
                mask |= 31 << (5 * i + (i & done))
        steps.append((1 << k, mask.to_bytes(_SLOT, "big")))
    return steps


_SPREAD = _spread_masks()
_B64 = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef", ids._ALPHABET.encode())


def _encoded(hexes: bytes) -> bytes:
    """``ids.encode`` of many UUIDs at once (without prefix), given as hex digits, each UUID's 32 behind
    ``_HEX_PAD``: 28 characters each, the first two always ``//``."""
    raw = bytes.fromhex(hexes.decode())
    count = len(raw) // _SLOT
    x = int.from_bytes(raw, "big")
    for shift, mask in _SPREAD:
        moved = x & int.from_bytes(mask * count, "big")
        x = (x ^ moved) | (moved << shift)
    return base64.b64encode(x.to_bytes(len(raw), "big")).translate(_B64)


# ---------------------------------------------------------------- PostgreSQL

_FALLBACK = "leadhub-export-fallback"
# Casting this text (behind a row's own value, so the planner cannot fold it) fails the COPY on purpose.
_SENTINEL = "(({v}) || '" + _FALLBACK + "')::int::text"
# jsonb's text puts a space after every ',' and ':' between tokens; orjson writes none. Strings are matched
# whole first, so the separators inside them stay.
_COMPACT = r"""regexp_replace({t}, '("(?:[^"\\]|\\.)*")|([,:]) ', '\1\2', 'g')"""
# A nested value with a fraction or an integer past 64 bits: orjson's number text may differ from jsonb's.
_NESTED_UNSAFE = r"""regexp_replace({t}, '"(?:[^"\\]|\\.)*"', '', 'g') ~ '[0-9]\.|[0-9]{{19}}'"""
# Python's repr of the float a jsonb number's text parses to, from PostgreSQL's shortest float8 text
# (PostgreSQL writes exponents from 1e15 and Python from 1e16: such a text never equals the jsonb's).
_PY_FLOAT = "CASE WHEN ({t})::float8::text ~ '[.en]' THEN ({t})::float8::text ELSE ({t})::float8::text || '.0' END"
# ISO 8601 in UTC (the statement's TimeZone) as pydantic writes it: microseconds only when not zero.
_TIME = (
    "CASE WHEN date_trunc('second', {c}) = {c} THEN to_char({c}, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    ' ELSE to_char({c}, \'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\') END'
)


def _sql_string(value: str) -> str:
    # standard_conforming_strings is set on for the statement's transaction: only quotes need doubling.
    return "'" + value.replace("'", "''") + "'"


def _pg_json(t: str) -> str:
    """A nested JSON value (jsonb text ``t``) as orjson writes it, or the fallback."""
    return f"CASE WHEN {_NESTED_UNSAFE.format(t=t)} THEN {_SENTINEL.format(v=t)} ELSE {_COMPACT.format(t=t)} END"


def _pg_custom(key: str) -> str:
    """The cell of one custom field; ``key`` is the SQL of its name (a bind parameter)."""
    v = f"b.custom_fields -> {key}"
    t = f"(b.custom_fields ->> {key})"
    number = (
        f"CASE WHEN strpos({t}, '.') = 0 THEN {t} WHEN {t} = ({_PY_FLOAT.format(t=t)}) THEN {t}"
        f" ELSE {_SENTINEL.format(v=t)} END"
    )
    return (
        f"CASE jsonb_typeof({v}) WHEN 'string' THEN NULLIF({t}, '') WHEN 'number' THEN {number}"
        f" WHEN 'boolean' THEN {t} WHEN 'null' THEN NULL ELSE {_pg_json(t)} END"
    )


def _pg_list(name: str, table: str, value: str, ws: str) -> str:
    """A LEFT JOIN of the batch's lists (their count and, for one, the value), read by one range scan of the
    (workspace_id, contact_id) index between the batch's least and greatest ids: ids are UUIDv7s minted with
    created_at, so a batch's ids are close together (a lookup per row costs three times as much). No sort:
    a contact with more than one value is ordered and joined by ``_pg_list_cell``, so ``v`` is read only when
    it is the one value: compared bytewise (``COLLATE "C"``), not by the database's collation."""
    return (
        f' LEFT JOIN (SELECT l.contact_id, count(*) AS n, min(l.{value} COLLATE "C") AS v FROM {table} l'
        f" WHERE l.workspace_id = {ws} AND l.contact_id BETWEEN (SELECT lo FROM r) AND (SELECT hi FROM r)"
        f" GROUP BY l.contact_id) {name} ON {name}.contact_id = b.id"
    )


# Each list: its join's name, table, value column, separator, and whether the primary comes first.
_PG_LISTS = {
    "emails": ("e", "contact_emails", "address", ";", True),
    "phones": ("p", "contact_phones", "number", ";", True),
    "tags": ("t", "contact_tags", "tag", ",", False),
}


def _pg_list_cell(list_name: str, ws: str) -> str:
    """One list's cell: none, the one value, or (rare) the values ordered and joined by a lookup."""
    name, table, value, separator, primary_first = _PG_LISTS[list_name]
    order = "NOT l.is_primary, l.position" if primary_first else "l.position"
    many = (
        f"(SELECT string_agg(l.{value}, '{separator}' ORDER BY {order}) FROM {table} l"
        f" WHERE l.workspace_id = {ws} AND l.contact_id = b.id)"
    )
    one = f"NULLIF({name}.v, '')"
    return f"CASE WHEN {name}.n IS NULL THEN NULL WHEN {name}.n = 1 THEN {one} ELSE NULLIF({many}, '') END"


def _pg_company_id() -> str:
    # ids.encode in SQL, from the UUID's bytes (only linked contacts pay for it).
    alphabet = ids._ALPHABET
    chars = []
    for i in range(26):
        low = 5 * (25 - i)
        first, last = 15 - min(low + 4, 127) // 8, 15 - low // 8
        shift = low - 8 * (15 - last)
        byte = f"get_byte(uuid_send(b.company_id), {last})"
        if first != last:
            byte = f"((get_byte(uuid_send(b.company_id), {first}) << 8) | {byte})"
        chars.append(f"substr('{alphabet}', (({byte} >> {shift}) & 31) + 1, 1)")
    return f"CASE WHEN b.company_id IS NULL THEN NULL ELSE '{ids.COMPANY}_' || {' || '.join(chars)} END"


def _pg_jsonb_column(name: str) -> str:
    return f"CASE WHEN b.{name} = '{{}}'::jsonb THEN '{{}}' ELSE {_pg_json(f'b.{name}::text')} END"


def _pg_columns(keys: Sequence[str], ws: str) -> list[str]:
    """The CSV's cells as SQL, in ``contact_columns`` order; the id as the UUID's text (encoded in Python, a
    batch at a time: ``_encoded``)."""
    text = [f"NULLIF(b.{n}, '')" for n in _TEXT]
    return [
        "b.id",
        *text,
        _pg_list_cell("emails", ws),
        _pg_list_cell("phones", ws),
        "NULLIF(b.company_name, '')",
        _pg_company_id(),
        *(f"NULLIF(b.{n}, '')" for n in ("title", "website", "country", "timezone")),
        "b.date_of_birth::text",
        "NULLIF(b.source, '')",
        "NULLIF(b.status, '')",
        _pg_list_cell("tags", ws),
        "CASE WHEN b.dnd THEN 'true' ELSE 'false' END",
        _pg_jsonb_column("dnd_settings"),
        _pg_jsonb_column("consent"),
        "CASE WHEN b.is_test THEN 'true' ELSE 'false' END",
        *(f"NULLIF(b.{n}, '')" for n in ("user_knowledge", "notes", "assigned_to")),
        _TIME.format(c="b.first_seen"),
        _TIME.format(c="b.last_seen"),
        "b.session_count",
        _TIME.format(c="b.created_at"),
        _TIME.format(c="b.updated_at"),
        *(f"NULLIF(b.address_{a}, '')" for a in _ADDRESS),
        *(_pg_custom(k) for k in keys),
    ]


def _pg_statement(batch: str, keys: Sequence[str], ws: str) -> str:
    """The COPY's query: the batch's contacts (``batch``, materialized once as ``b``), their lists joined."""
    ranged = (
        "r AS MATERIALIZED (SELECT (SELECT id FROM b ORDER BY id LIMIT 1) AS lo,"
        " (SELECT id FROM b ORDER BY id DESC LIMIT 1) AS hi)"
    )
    return (
        f"WITH b AS MATERIALIZED ({batch}), {ranged} SELECT {', '.join(_pg_columns(keys, ws))} FROM b"
        + "".join(_pg_list(name, table, value, ws) for name, table, value, _, _ in _PG_LISTS.values())
        + " ORDER BY b.created_at DESC, b.id DESC"
    )


def _driver_sql(stmt: Select[Any], session: AsyncSession) -> tuple[str, list[Any]]:
    """The statement as its driver's text (``$n`` for asyncpg, ``?`` for sqlite3) and its values, each
    through its column type's bind processor."""
    dialect = session.get_bind().dialect
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    values = []
    for name in compiled.positiontup or ():
        # An IN list's values are rendered as ``<name>_1``, ``<name>_2``… of the list's one bind.
        bind = compiled.binds[name if name in compiled.binds else name.rsplit("_", 1)[0]]
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        values.append(processor(params[name]) if processor else params[name])
    return compiled.string, values


def _lines(chunk: bytes, rows: int) -> list[bytes]:
    """COPY's ``rows`` CSV rows (each ended by ``\\n``) without their ends; a row's quoted cells may hold
    newlines."""
    lines = chunk.split(b"\n")
    lines.pop()
    if len(lines) == rows:  # one newline a row: none inside a cell
        return lines
    # A newline inside quotes: join the pieces until a row's quotes pair up.
    out, pending = [], b""
    for piece in lines:
        pending = pending + b"\n" + piece if pending else piece
        if pending.count(b'"') % 2 == 0:
            out.append(pending)
            pending = b""
    return out


async def _bound(session: AsyncSession, base: Select[Any], after: Key | None) -> Key | None:
    """The key of the last row of the batch after ``after`` (None when fewer than a batch of rows remain)."""
    stmt = base.with_only_columns(Contact.created_at, Contact.id).where(*keyset(after, None))
    bound = (await session.execute(stmt.order_by(*_ORDER).offset(BATCH - 1).limit(1))).first()
    return (bound[0], bound[1]) if bound is not None else None


_PG_SETTINGS = (
    "jit = off",
    "work_mem = '64MB'",
    "extra_float_digits = 1",
    "DateStyle = 'ISO'",
    "TimeZone = 'UTC'",
    "standard_conforming_strings = on",
)
_PG_FIELDS = [c for c in Contact.__table__.columns if c.name != "search_text"]


async def _pg_copy(
    session: AsyncSession, base: Select[Any], keys: Sequence[str], ws: Workspace, after: Key | None, lower: Key | None
) -> bytes:
    """The CSV rows of the batch after ``after`` down to ``lower`` included, through one COPY."""
    batch = base.with_only_columns(*_PG_FIELDS).where(*keyset(after, lower)).order_by(*_ORDER)
    sql, values = _driver_sql(batch, session)
    driver = await driver_connection(session)
    parts: list[bytes] = []

    async def collect(data: bytes) -> None:
        parts.append(data)

    # Custom-field names travel as parameters after the batch's own: asyncpg inlines parameters by replacing
    # every ``$n`` in the text, so a name written into the text as a literal could be rewritten.
    names = [f"${len(values) + n}::text" for n in range(1, len(keys) + 1)]
    statement = _pg_statement(sql, names, _sql_string(str(ws.id)) + "::uuid")
    # In a savepoint: a COPY failed on purpose (the fallback) leaves the transaction, and its snapshot, usable.
    async with driver.transaction():
        status = await driver.copy_from_query(statement, *values, *keys, output=collect, format="csv")
    lines = _lines(b"".join(parts), int(status.split()[-1]))
    if not lines:
        return b""
    start = 36  # the id's text: 32 hex digits and 4 dashes
    encoded = _encoded((_HEX_PAD + _HEX_PAD.join([line[:start] for line in lines])).replace(b"-", b""))
    # Each id opens with its padding's "//" (no id holds a "/"): there each row begins, ended by the last.
    starts = encoded.replace(b"//", b"/\r\n" + ids.CONTACT.encode() + b"_").split(b"/")
    starts[1] = starts[1][2:]
    # The rows' pieces interleaved (the id's text, then the row's other cells) and joined at once.
    pieces = [b""] * (2 * len(lines))
    pieces[0::2] = starts[1:]
    pieces[1::2] = [line[start:] for line in lines]
    return b"".join(pieces) + b"\r\n"


class _Reader:
    """One connection of the export: a read transaction in the export's snapshot, with the COPY's settings
    and the filtered statement."""

    def __init__(self, session: AsyncSession, base: Select[Any]) -> None:
        self.session = session
        self.base = base

    @classmethod
    async def open(cls, session: AsyncSession, snapshot: str | None, filtered: Filtered) -> tuple[_Reader, str]:
        """Begin ``session``'s transaction in ``snapshot`` (a new one, exported, when None)."""
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        if snapshot is None:
            snapshot = str(await session.scalar(text("SELECT pg_export_snapshot()")))
        else:
            await session.execute(text(f"SET TRANSACTION SNAPSHOT {_sql_string(snapshot)}"))
        # JIT compiling costs seconds a batch (the joins' estimated cost is high); the sort of a batch's rows
        # fits in memory; the float and date text forms are the ones the cells are written from.
        for setting in _PG_SETTINGS:
            await session.execute(text(f"SET LOCAL {setting}"))
        return cls(session, await filtered(session)), snapshot

    async def block(
        self, keys: Sequence[str], ws: Workspace, after: Key | None, lower: Key | None, reference: Reference
    ) -> bytes:
        try:
            return await _pg_copy(self.session, self.base, keys, ws, after, lower)
        except asyncpg.InvalidTextRepresentationError as exc:
            if _FALLBACK not in str(exc):
                raise
        # A cell SQL cannot render exactly: this batch through the reference.
        return await reference(self.session, after, lower)


async def _pg_batches(
    db: Database, ws: Workspace, keys: Sequence[str], filtered: Filtered, reference: Reference
) -> AsyncGenerator[bytes, None]:
    """The batches, two at a time on two connections (the database's work a row is what bounds the export,
    and each connection's server process takes a core), in one snapshot exported by the first and imported
    by the second, the way pg_dump's parallel jobs share one: every batch sees the same rows, so the keys
    bounding the next batch, read ahead, are exact. At most one batch waits while the caller takes the last."""
    tasks: list[asyncio.Task[bytes]] = []
    async with contextlib.AsyncExitStack() as stack:
        first, snapshot = await _Reader.open(await stack.enter_async_context(db.read_session()), None, filtered)
        readers = [first]
        try:
            lower = await _bound(first.session, first.base, None)
            tasks.append(asyncio.ensure_future(first.block(keys, ws, None, lower, reference)))
            started = 1
            while tasks:
                if lower is not None:  # another batch follows: start it on the other connection
                    if len(readers) == 1:
                        session = await stack.enter_async_context(db.read_session())
                        readers.append((await _Reader.open(session, snapshot, filtered))[0])
                    reader = readers[started % 2]  # the one whose batch the caller took last
                    after, lower = lower, await _bound(reader.session, reader.base, lower)
                    tasks.append(asyncio.ensure_future(reader.block(keys, ws, after, lower, reference)))
                    started += 1
                block = await tasks[0]
                del tasks[0]
                yield block
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task


# ---------------------------------------------------------------- SQLite

# The one text form leadhub writes timestamps (db.types.UTCDateTime) and dates in on SQLite: a batch holding
# anything else goes through the reference renderer, which parses whatever it finds.
_STORED_DATE = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
_STORED_TIME = _STORED_DATE + " [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}"
_CANONICAL = re.compile(f"(?:{_STORED_TIME}\n)*(?:{_STORED_DATE}\n)*")
# Positions in a SQLite row: the ids, the timestamps and date, the JSON columns, custom_fields last.
_ID, _COMPANY_ID, _BORN, _DND_SETTINGS, _CONSENT, _FIRST_SEEN, _LAST_SEEN, _CREATED, _UPDATED = (
    0,
    6,
    11,
    15,
    16,
    21,
    22,
    24,
    25,
)


def _sqlite_columns() -> list[str]:
    """The stored columns in ``contact_columns`` order, without the lists (read by ``_SQLITE_LISTS``) and
    with custom_fields last; booleans as ``true``/``false``, the rest finished in Python."""
    return [
        "contacts.id",
        *(f"contacts.{n}" for n in _TEXT),
        "contacts.company_name",
        "contacts.company_id",
        *(f"contacts.{n}" for n in ("title", "website", "country", "timezone", "date_of_birth", "source", "status")),
        "CASE WHEN contacts.dnd THEN 'true' ELSE 'false' END",
        "contacts.dnd_settings",
        "contacts.consent",
        "CASE WHEN contacts.is_test THEN 'true' ELSE 'false' END",
        *(f"contacts.{n}" for n in ("user_knowledge", "notes", "assigned_to", "first_seen", "last_seen")),
        "contacts.session_count",
        "contacts.created_at",
        "contacts.updated_at",
        *(f"contacts.address_{a}" for a in _ADDRESS),
        "contacts.custom_fields",
    ]


def _canonical(rows: Sequence[Any]) -> bool:
    """Whether every timestamp and date of the batch is in the one form ``_iso`` rewrites exactly."""
    times = [r[k] for r in rows for k in (_FIRST_SEEN, _LAST_SEEN, _CREATED, _UPDATED) if r[k] is not None]
    dates = [r[_BORN] for r in rows if r[_BORN] is not None]
    return _CANONICAL.fullmatch("".join([t + "\n" for t in times] + [d + "\n" for d in dates])) is not None


def _iso(stored: str | None) -> str | None:
    """A canonical stored timestamp as the reference writes it (ISO 8601, microseconds only when non-zero, Z)."""
    if stored is None:
        return None
    if stored.endswith(".000000"):
        return stored[:10] + "T" + stored[11:19] + "Z"
    return stored[:10] + "T" + stored[11:] + "Z"


# A batch's lists: one range scan each of the (workspace_id, contact_id) index between the batch's least and
# greatest ids (UUIDv7s minted with created_at, so close together: half the cost of an index probe per id),
# capped; past the cap (ids far apart, as when created_at was set apart from the ids' minting, like the
# benchmark's seeding), one probe per id of the batch, so memory and work stay bounded by the batch.
_SQLITE_LISTS = [
    (
        f"SELECT l.contact_id, l.{value} FROM {table} l WHERE l.workspace_id = ? AND {{owners}}"
        f" ORDER BY l.contact_id, {order}"
    )
    for table, value, order in (
        ("contact_emails", "address", "NOT l.is_primary, l.position"),
        ("contact_phones", "number", "NOT l.is_primary, l.position"),
        ("contact_tags", "tag", "l.position"),
    )
]
_SQLITE_RANGE_CAP = 4  # list rows a contact of the batch, on average, before the range scan is given up


async def _sqlite_list(driver: Any, query: str, ws: Workspace, owners: list[str]) -> list[Any]:
    cap = _SQLITE_RANGE_CAP * len(owners) + 1
    ranged = query.format(owners="l.contact_id BETWEEN ? AND ?") + " LIMIT ?"
    found = await _fetch(driver, ranged, (ws.id.hex, min(owners), max(owners), cap))
    if len(found) < cap:
        return found
    probed = query.format(owners=f"l.contact_id IN ({', '.join('?' * len(owners))})")
    return await _fetch(driver, probed, (ws.id.hex, *owners))


_LONG_NUMBER = re.compile(r"[0-9]{19}")


def _loads(stored: str) -> Any:
    # The reference reads stored JSON with json.loads (SQLAlchemy's JSON type). orjson reads the same values
    # five times faster, except integers past 64 bits (it makes them floats: any run of 19 digits goes to
    # json.loads) and what it refuses (NaN, lone surrogates).
    if _LONG_NUMBER.search(stored):
        return json.loads(stored)
    try:
        return orjson.loads(stored)
    except orjson.JSONDecodeError:
        return json.loads(stored)


def _json_cell(stored: str) -> str:
    return "{}" if stored == "{}" else cell(_loads(stored))


def _joined(rows: Sequence[Any], separator: str) -> dict[str, str]:
    """Each owner's values (rows in owner, then list order) joined by ``separator``."""
    out: dict[str, str] = {}
    for owner, value in rows:
        prior = out.get(owner)
        out[owner] = value if prior is None else prior + separator + value
    return out


def _sqlite_rows(rows: Sequence[Any], lists: Sequence[dict[str, str]], keys: Sequence[str]) -> list[list[Any]]:
    """The batch's CSV cells (see ``_sqlite_columns`` for the positions in ``rows``)."""
    pad = _HEX_PAD.decode()
    text = _encoded("".join([pad + r[_ID] for r in rows]).encode()).decode()
    prefix = ids.CONTACT + "_"
    emails, phones, tags = (joined.get for joined in lists)
    out = []
    for i, r in enumerate(rows):
        owner, company, dnd_settings, consent = r[_ID], r[_COMPANY_ID], r[_DND_SETTINGS], r[_CONSENT]
        created, updated = r[_CREATED], r[_UPDATED]
        created = _iso(created)
        cells = [
            prefix + text[i * 28 + 2 : i * 28 + 28],
            *r[1:5],
            emails(owner),
            phones(owner),
            r[5],
            company if company is None else ids.encode(ids.COMPANY, uuid.UUID(hex=company)),
            *r[7:14],
            tags(owner),
            r[14],
            dnd_settings if dnd_settings == "{}" else _json_cell(dnd_settings),
            consent if consent == "{}" else _json_cell(consent),
            *r[17:21],
            _iso(r[_FIRST_SEEN]),
            _iso(r[_LAST_SEEN]),
            r[23],
            created,
            created if updated == r[_CREATED] else _iso(updated),
            *r[26:32],
        ]
        if keys:
            custom = _loads(r[-1]) if r[-1] != "{}" else {}
            for k in keys:
                value = custom.get(k)
                kind = value.__class__
                # cell(value), with its commonest kinds first (bool is not int here: ``is``, not isinstance).
                if kind is str:
                    cells.append(value)
                elif kind is int or kind is float:
                    cells.append(str(value))
                else:
                    cells.append(cell(value))
        out.append(cells)
    return out


async def _fetch(driver: Any, sql: str, values: Sequence[Any]) -> list[Any]:
    cursor = await driver.execute(sql, values)
    try:
        return list(await cursor.fetchall())
    finally:
        await cursor.close()


def _sqlite_block(rows: Sequence[Any], lists: Sequence[dict[str, str]], keys: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(_sqlite_rows(rows, lists, keys))
    return buffer.getvalue().encode()


async def _sqlite_batch(
    db: Database, ws: Workspace, keys: Sequence[str], filtered: Filtered, reference: Reference, after: Key | None
) -> tuple[int, Key | None, bytes | tuple[Sequence[Any], list[dict[str, str]]]]:
    """One batch after ``after``: its row count, its last key, and its CSV (when the reference renderer
    made it) or the rows and lists to render it from."""
    columns: list[ColumnElement[Any]] = [literal_column(c) for c in _sqlite_columns()]
    async with db.read_session() as session:
        base = await filtered(session)
        stmt = base.with_only_columns(*columns).where(*keyset(after, None)).order_by(*_ORDER).limit(SQLITE_BATCH)
        sql, values = _driver_sql(stmt, session)
        # Straight to the driver: plain tuples, no result processing a row.
        driver = await driver_connection(session)
        rows = await _fetch(driver, sql, values)
        if not rows:
            return 0, None, b""
        last = rows[-1]
        at = UTCDateTime().process_result_value(last[_CREATED], session.get_bind().dialect)
        assert at is not None
        lower: Key = (at, uuid.UUID(hex=last[_ID]))
        if not _canonical(rows):
            return len(rows), lower, await reference(session, after, lower)
        owners = [r[_ID] for r in rows]
        lists = [
            _joined(await _sqlite_list(driver, query, ws, owners), ";" if n < 2 else ",")
            for n, query in enumerate(_SQLITE_LISTS)
        ]
        return len(rows), lower, (rows, lists)


async def _sqlite_batches(
    db: Database, ws: Workspace, keys: Sequence[str], filtered: Filtered, reference: Reference
) -> AsyncGenerator[bytes, None]:
    """The batches one after another, the next one's statements running on its connection's thread (SQLite
    steps without the GIL) while this one's cells are made in another thread. At 75,000 contacts, quiet
    machine, runs interleaved with the raw dump: 55-57% of its rows/s before, 57-60% overlapped."""
    pending = asyncio.ensure_future(_sqlite_batch(db, ws, keys, filtered, reference, None))
    try:
        while True:
            count, lower, got = await pending
            if count == SQLITE_BATCH:
                pending = asyncio.ensure_future(_sqlite_batch(db, ws, keys, filtered, reference, lower))
            block = got if isinstance(got, bytes) else await asyncio.to_thread(_sqlite_block, *got, keys)
            yield block
            if count < SQLITE_BATCH:
                return
    finally:
        if not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pending


async def batches(
    db: Database, ws: Workspace, keys: Sequence[str], filtered: Filtered, reference: Reference
) -> AsyncGenerator[bytes, None]:
    """The export's CSV rows (no header), a batch at a time, newest first."""
    source = _pg_batches if db.is_postgres else _sqlite_batches
    async with contextlib.aclosing(source(db, ws, keys, filtered, reference)) as blocks:
        async for block in blocks:
            if block:
                yield block
