"""No personal data in logs: a real `leadhub serve` process gets a unique email, phone and name through
every kind of request (create, look-ups by query string, search, conflicts, validation errors, dialects,
erasure), and nothing it prints — request lines, warnings, errors, shutdown — contains them. The request
lines themselves are there: one JSON line per request with id, route template, status and latency."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import orjson
import pytest

from tests.serve_process import fresh_database, start

pytestmark = pytest.mark.slow


async def test_a_planted_canary_never_reaches_any_log_line(tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:12]
    email = f"canary.{tag}@example.org"
    phone = f"+1415555{int(tag[:6], 16) % 10000:04d}"
    name = f"Canary{tag}"
    async with fresh_database(tmp_path) as url:
        server = await start(url, tmp_path, tmp_path / "serve.log", LEADHUB_LOG_FORMAT="json")
        try:
            key = server.admin_key()
            auth = {"Authorization": f"Bearer {key}"}
            async with httpx.AsyncClient(base_url=server.base_url, headers=auth, timeout=30) as c:
                made = await c.post("/v1/contacts", json={"email": email, "phone": phone, "first_name": name})
                assert made.status_code == 201
                contact_id = made.json()["id"]
                request_id = made.headers["x-request-id"]
                assert (await c.get("/v1/contacts/lookup", params={"email": email})).status_code == 200
                assert (await c.get("/v1/contacts/lookup", params={"phone": phone})).status_code == 200
                assert (await c.get("/v1/contacts", params={"q": name, "email": email})).status_code == 200
                assert (await c.post("/v1/contacts", json={"email": email})).status_code == 409
                assert (await c.post("/v1/contacts", json={"email": f"{name}@@x"})).status_code == 422
                broken = f'{{"email": "{email}"'.encode()
                json_type = {"content-type": "application/json"}
                assert (await c.post("/v1/contacts", content=broken, headers=json_type)).status_code == 400
                assert (
                    await c.get("/v1/contacts/lookup", headers={"X-Request-Id": email}, params={"email": email})
                ).status_code == 200
                assert (await c.get(f"/v1/nowhere/{email}")).status_code == 404
                ws = (await c.get("/v1/workspaces")).json()["data"][0]["id"]
                lc = await c.get(
                    "/compat/leadconnector/contacts/search/duplicate",
                    params={"locationId": ws, "email": email},
                    headers={"Version": "2021-07-28"},
                )
                assert lc.status_code == 200
                mb = await c.get("/compat/magicblocks/v1/contacts", params={"email": email})
                assert mb.status_code < 500
                assert (await c.get(f"/v1/contacts/{contact_id}/export")).status_code == 200
                erased = await c.delete(f"/v1/contacts/{contact_id}", params={"erase": "true"})
                assert erased.status_code == 204
                assert (await c.get("/metrics")).status_code == 200
        finally:
            # uvicorn re-raises the SIGTERM it handled once shutdown is complete.
            assert server.stop() in (0, -15)
    printed = server.printed()
    assert "Application shutdown complete" in printed
    for secret in (email, phone, phone.removeprefix("+"), name, tag):
        assert secret not in printed, f"{secret} leaked into the output"
    lines = [orjson.loads(line) for line in printed.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("msg") == "request"]
    assert len(requests) >= 14
    created = next(line for line in requests if line["request_id"] == request_id)
    assert created["route"] == "/v1/contacts" and created["status"] == 201 and created["method"] == "POST"
    assert created["workspace_id"].startswith("ws_") and created["key_id"].startswith("key_")
    assert isinstance(created["latency_ms"], float)
    assert {"/v1/contacts/lookup", "unmatched", "/compat/leadconnector/contacts/search/duplicate"} <= {
        line["route"] for line in requests
    }
