"""Operations: health and readiness without a key, the OpenAPI document, offline API docs, request ids,
and the request body ceiling."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx

from leadhub.http.middleware import MAX_BODY_BYTES
from tests.conftest import Tenant


async def test_healthz_and_readyz_answer_without_a_key(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ok", "database": "ok"}


async def test_openapi_document_lists_the_contact_routes(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    assert {"post", "get"} <= set(paths["/v1/contacts"])
    assert {"get", "patch", "delete"} <= set(paths["/v1/contacts/{contact_id}"])
    for path in ("/v1/contacts/upsert", "/v1/contacts/lookup", "/v1/contacts/{contact_id}/timeline", "/v1/events"):
        assert path in paths
    # Every write documents the problem+json answers.
    assert "application/problem+json" in paths["/v1/contacts"]["post"]["responses"]["422"]["content"]


async def test_docs_page_works_offline_from_local_assets(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    refs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert refs, page.text
    assert not [r for r in refs if "://" in r or r.startswith("//")], refs
    assert any(r.endswith(".js") for r in refs) and any(r.endswith(".css") for r in refs)
    for ref in refs:
        asset = await client.get(ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 0, ref
        kind = "javascript" if ref.endswith(".js") else "css"
        assert kind in asset.headers["content-type"], (ref, asset.headers["content-type"])
    assert any(r.startswith("/docs/assets/") for r in refs)
    # The page loads the API document from this server.
    init = await client.get("/docs/init.js")
    assert '"/openapi.json"' in init.text


async def test_request_id_is_echoed_or_made_up(client: httpx.AsyncClient, tenant: Tenant) -> None:
    echoed = await client.get("/v1/contacts", headers={**tenant.headers, "X-Request-Id": "trace-123"})
    assert echoed.headers["x-request-id"] == "trace-123"
    # Also on error answers.
    assert (await client.get("/v1/contacts", headers={"X-Request-Id": "trace-456"})).headers["x-request-id"] == (
        "trace-456"
    )
    made_up = await client.get("/healthz")
    other = await client.get("/healthz")
    assert made_up.headers["x-request-id"] and made_up.headers["x-request-id"] != other.headers["x-request-id"]


def _assert_413(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text[:300]
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "payload_too_large"


async def test_body_over_10_mib_announced_by_content_length_is_413(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = b'{"notes": "' + b"x" * MAX_BODY_BYTES + b'"}'
    response = await client.post(
        "/v1/contacts", content=body, headers={**tenant.headers, "content-type": "application/json"}
    )
    _assert_413(response)
    assert (await client.get("/v1/contacts", headers=tenant.headers)).json()["data"] == []


async def test_body_over_10_mib_streamed_without_length_is_413(client: httpx.AsyncClient, tenant: Tenant) -> None:
    chunk = b"x" * (1024 * 1024)

    async def stream() -> AsyncIterator[bytes]:
        yield b'{"notes": "'
        for _ in range(11):
            yield chunk
        yield b'"}'

    response = await client.post(
        "/v1/contacts", content=stream(), headers={**tenant.headers, "content-type": "application/json"}
    )
    _assert_413(response)
    assert (await client.get("/v1/contacts", headers=tenant.headers)).json()["data"] == []


async def test_unknown_route_is_404_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
