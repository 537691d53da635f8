"""Requests of one key arriving together while its authentication is not cached read the key once: the
others wait for that read and take its answer; when it fails, each reads and answers for itself."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from leadhub.auth import service as auth
from tests.conftest import Tenant


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    original = auth.authenticate

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        await asyncio.sleep(0.05)  # a read slow enough for the others to arrive meanwhile
        return await original(*args, **kwargs)

    monkeypatch.setattr(auth, "authenticate", counted)
    return calls


async def test_requests_of_a_key_not_cached_read_it_once(
    client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = await tenant.make_key(["contacts.read", "contacts.write"])
    calls = _counting(monkeypatch)
    headers = {"Authorization": f"Bearer {key}"}
    answers = await asyncio.gather(*(client.get("/v1/contacts", headers=headers) for _ in range(8)))
    assert [a.status_code for a in answers] == [200] * 8
    assert calls[0] == 1


async def test_requests_waiting_on_a_failed_read_answer_for_themselves(
    client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = await tenant.make_key(["contacts.read"])
    calls = _counting(monkeypatch)
    headers = {"Authorization": f"Bearer {reader}"}
    # The first read is for a route its scopes do not allow: it caches nothing, and the reads behind it
    # (for a route they do allow) read the key themselves.
    refused = asyncio.create_task(client.post("/v1/contacts", json={"email": "a@example.com"}, headers=headers))
    await asyncio.sleep(0.01)
    allowed = await asyncio.gather(*(client.get("/v1/contacts", headers=headers) for _ in range(3)))
    assert (await refused).status_code == 403
    assert [a.status_code for a in allowed] == [200] * 3
    assert calls[0] >= 2

    wrong = {"Authorization": "Bearer lh_not_a_key"}
    answers = await asyncio.gather(*(client.get("/v1/contacts", headers=wrong) for _ in range(3)))
    assert [a.status_code for a in answers] == [401] * 3
