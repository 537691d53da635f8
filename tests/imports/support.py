"""Helpers for import tests: upload a file through the real API and read the job back."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx

from tests.conftest import Tenant


def csv_bytes(rows: list[list[str]], delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode()


async def upload(
    client: httpx.AsyncClient, tenant: Tenant, body: bytes, expect: int = 201, **params: Any
) -> dict[str, Any]:
    query = {"wait": "true", **{k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items()}}
    r = await client.post("/v1/imports", content=body, params=query, headers=tenant.headers)
    assert r.status_code == expect, r.text
    return r.json()  # type: ignore[no-any-return]


async def error_rows(client: httpx.AsyncClient, tenant: Tenant, job_id: str) -> list[dict[str, str]]:
    r = await client.get(f"/v1/imports/{job_id}/errors", headers=tenant.headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(r.text)))


async def contacts_of(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    r = await client.get("/v1/contacts", params={"limit": 200, "sort": "created_at"}, headers=tenant.headers)
    assert r.status_code == 200
    return r.json()["data"]  # type: ignore[no-any-return]
