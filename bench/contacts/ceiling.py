"""Ceiling servers for the contacts benchmark: the same server stack as `leadhub serve` (uvicorn with uvloop
and httptools, FastAPI, the same ``ContactIn`` parsing and a ContactOut-shaped JSON answer), with

- ``BENCH_MODE=bare``: no database at all;
- ``BENCH_MODE=pg``: plus one ``INSERT`` of the contact through an asyncpg pool, in a transaction;
- ``BENCH_MODE=sqlite``: plus the same ``INSERT`` through sqlite3 (WAL, ``BEGIN IMMEDIATE`` … ``COMMIT``).

Run by bench/contacts/run.py as ``uvicorn bench.contacts.ceiling:app``.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI
from starlette.responses import Response

from leadhub.contacts.schemas import ContactIn

MODE = os.environ.get("BENCH_MODE", "bare")
DSN = os.environ.get("BENCH_DSN", "")
state: dict[str, Any] = {}

INSERT_PG = (
    "INSERT INTO ceiling_contacts (workspace_id, id, name, email, phone, company_name, payload, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
)
INSERT_SQLITE = (
    "INSERT INTO ceiling_contacts (workspace_id, id, name, email, phone, company_name, payload, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
WORKSPACE = uuid.UUID("00000000-0000-7000-8000-000000000001")


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    if MODE == "pg":
        state["pool"] = await asyncpg.create_pool(DSN, min_size=10, max_size=10)
    elif MODE == "sqlite":
        conn = sqlite3.connect(DSN, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=60000")
        state["sqlite"] = conn
    yield
    if "pool" in state:
        await state["pool"].close()


app = FastAPI(lifespan=lifespan)


@app.post("/v1/contacts", status_code=201)
async def create(body: ContactIn) -> Response:
    now = datetime.now(UTC)
    key = uuid.uuid4()
    out = {
        "id": f"con_{key.hex}",
        "first_name": body.first_name,
        "last_name": body.last_name,
        "name": " ".join(p for p in (body.first_name, body.last_name) if p),
        "emails": [{"address": (body.email or "").lower(), "type": "other", "primary": True}],
        "phones": [{"number": body.phone, "type": "other", "primary": True}],
        "company_name": body.company_name,
        "source": body.source,
        "status": "new",
        "tags": body.tags or [],
        "custom_fields": body.custom_fields or {},
        "created_at": now,
        "updated_at": now,
    }
    payload = orjson.dumps(out)
    row = (WORKSPACE, key, out["name"], out["emails"][0]["address"], body.phone, body.company_name)
    if MODE == "pg":
        async with state["pool"].acquire() as conn, conn.transaction():
            await conn.execute(INSERT_PG, *row, payload.decode(), now)
    elif MODE == "sqlite":
        conn = state["sqlite"]
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(INSERT_SQLITE, (str(WORKSPACE), str(key), *row[2:], payload, now.isoformat()))
        except sqlite3.Error:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return Response(payload, status_code=201, media_type="application/json")
