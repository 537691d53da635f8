"""Request limits: JSON nesting, list length and string length are refused with a 422 naming the place
(in the door's own error format), JSON too deep even to parse is a 422 not a 500, and a client that
sends its body too slowly gets a 408 instead of holding a worker."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import orjson

from leadhub.app import create_app
from leadhub.config import Settings
from leadhub.db.engine import Database
from leadhub.http.limits import JsonLimits, check
from tests.conftest import Tenant


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


async def post(client: httpx.AsyncClient, tenant: Tenant, body: bytes, path: str = "/v1/contacts") -> httpx.Response:
    return await client.post(path, content=body, headers={**tenant.headers, "content-type": "application/json"})


async def test_json_nested_too_deep_is_a_422_naming_the_member(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await post(client, tenant, orjson.dumps({"custom_fields": {"deep": nested(40)}}))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    error = response.json()["errors"][0]
    assert error["rule"] == "max_depth" and error["field"].startswith("custom_fields.deep.a.a")


async def test_json_too_deep_to_parse_is_a_422_not_a_500(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await post(client, tenant, b"[" * 5000 + b"]" * 5000)
    assert response.status_code == 422 and response.json()["errors"][0]["rule"] == "max_depth"


async def test_long_lists_and_strings_are_refused_before_any_door_parses_them(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    tags = await post(client, tenant, orjson.dumps({"tags": ["t"] * 1001}))
    assert tags.status_code == 422 and tags.json()["errors"][0] == {
        "field": "tags",
        "rule": "max_items",
        "message": "at most 1000 items",
        "kind": "array",
    }
    notes = await post(client, tenant, orjson.dumps({"notes": "x" * 100_001}))
    assert notes.status_code == 422 and notes.json()["errors"][0]["field"] == "notes"
    assert notes.json()["errors"][0]["rule"] == "max_length"
    # Within the bounds the body reaches the door untouched.
    fine = await post(client, tenant, orjson.dumps({"notes": "x" * 20_000, "tags": ["a", "b"]}))
    assert fine.status_code == 201 and fine.json()["tags"] == ["a", "b"]


async def test_a_dialect_answers_the_limit_in_its_own_format(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = orjson.dumps({"locationId": tenant.ws_public_id, "customFields": [nested(40)]})
    response = await client.post(
        "/compat/leadconnector/contacts/",
        content=body,
        headers={**tenant.headers, "Version": "2021-07-28", "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["statusCode"] == 400 and "levels" in response.json()["message"]


def test_check_reports_the_first_broken_limit_with_its_path() -> None:
    limits = JsonLimits(max_depth=3, max_items=2, max_string=5)
    assert check({"a": [1, 2]}, limits) is None
    too_many = check({"a": [1, 2, 3]}, limits)
    assert too_many is not None and (too_many.field, too_many.rule) == ("a", "max_items")
    too_long = check({"a": [{"b": "123456"}]}, limits)
    assert too_long is not None and (too_long.field, too_long.rule) == ("a[0].b", "max_length")
    too_deep = check({"a": {"b": {"c": {"d": 1}}}}, limits)
    assert too_deep is not None and (too_deep.field, too_deep.rule) == ("a.b.c.d", "max_depth")
    long_key = check({"abcdefg": 1}, limits)
    assert long_key is not None and long_key.rule == "max_length"


async def test_a_body_that_does_not_arrive_in_time_is_a_408(database: Database, settings: Settings) -> None:
    app = create_app(Settings(data_dir=settings.data_dir, body_timeout_seconds=0.2), database, background=False)
    never = asyncio.Event()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await never.wait()  # a client that announced a body and then stalls
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/contacts",
        "raw_path": b"/v1/contacts",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")],
        "client": ("127.0.0.1", 1),
        "server": ("leadhub.test", 80),
    }
    await asyncio.wait_for(app(scope, receive, send), 10)
    assert sent[0]["status"] == 408
    assert orjson.loads(sent[1]["body"])["code"] == "request_timeout"


def _scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("leadhub.test", 80),
    }


async def test_an_import_upload_may_exceed_the_json_body_ceiling(client: httpx.AsyncClient, tenant: Tenant) -> None:
    # 11 MiB: over the 10 MiB ceiling of every other body, far under the upload ceiling. One huge cell
    # makes it big without making the import long (that row fails its length rule; the others import).
    big_cell = "x" * (11 * 1024 * 1024)
    csv = f"Email,Notes\nbig.cell@example.com,{big_cell}\nsmall.one@example.com,hi\n".encode()
    response = await client.post("/v1/imports?wait=true", content=csv, headers=tenant.headers)
    assert response.status_code == 201, response.text[:500]
    assert response.json()["rows_read"] == 2
    contacts = await client.get("/v1/contacts", params={"email": "small.one@example.com"}, headers=tenant.headers)
    assert len(contacts.json()["data"]) == 1
    # Every other route keeps the 10 MiB ceiling.
    too_big = await client.post("/v1/contacts", content=csv, headers={**tenant.headers, "content-type": "text/csv"})
    assert too_big.status_code == 413 and too_big.json()["code"] == "payload_too_large"


async def test_an_upload_over_its_own_ceiling_is_a_413(database: Database, settings: Settings, tenant: Tenant) -> None:
    app = create_app(Settings(data_dir=settings.data_dir, upload_max_bytes=1024), database, background=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://leadhub.test") as client:
        response = await client.post(
            "/v1/imports", content=b"Email\n" + b"a@example.com\n" * 100, headers=tenant.headers
        )
    assert response.status_code == 413 and "1024 bytes" in response.json()["detail"]


async def test_a_stalled_upload_is_a_408_and_leaves_no_file(database: Database, tmp_path: Path, tenant: Tenant) -> None:
    app = create_app(Settings(data_dir=tmp_path, body_timeout_seconds=0.2), database, background=False)
    chunks = [{"type": "http.request", "body": b"Email\na@example.com\n", "more_body": True}]
    never = asyncio.Event()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if chunks:
            return chunks.pop()
        await never.wait()  # a client that sent a first chunk and then stalls
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(k.lower().encode(), v.encode()) for k, v in tenant.headers.items()]
    await asyncio.wait_for(app(_scope("/v1/imports", [*headers, (b"content-type", b"text/csv")]), receive, send), 10)
    assert sent[0]["status"] == 408
    assert orjson.loads(sent[1]["body"])["code"] == "request_timeout"
    assert [m for m in sent if m["type"] == "http.response.start"] == [sent[0]]  # the app's own answer dropped
    assert not await asyncio.to_thread(lambda: list(tmp_path.rglob("*.upload")))


async def test_a_streamed_upload_over_its_ceiling_without_a_length_is_a_413(
    database: Database, settings: Settings, tenant: Tenant
) -> None:
    app = create_app(Settings(data_dir=settings.data_dir, upload_max_bytes=1024), database, background=False)
    chunks = [{"type": "http.request", "body": b"a@example.com\n" * 50, "more_body": True} for _ in range(5)]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return chunks.pop() if chunks else {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(k.lower().encode(), v.encode()) for k, v in tenant.headers.items()]  # no content-length: chunked
    await asyncio.wait_for(app(_scope("/v1/imports", [*headers, (b"content-type", b"text/csv")]), receive, send), 10)
    assert sent[0]["status"] == 413
    assert [m for m in sent if m["type"] == "http.response.start"] == [sent[0]]
