"""Web-door fixtures: users of a tenant and a browser-like client (cookies kept) signed in as one of them."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from leadhub.db.engine import Database
from leadhub.uow import unit_of_work
from leadhub.users import service as users
from tests.conftest import Tenant

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page carries a CSRF field"
    return found.group(1)


@dataclass
class WebUser:
    email: str
    password: str
    public_id: str
    tenant: Tenant


async def make_user(
    db: Database, tenant: Tenant, role: str = "member", workspaces: list[str] | None = None, email: str | None = None
) -> WebUser:
    address = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    async with unit_of_work(db) as session:
        user = await users.create_user(
            session, tenant.org_id, email=address, password=PASSWORD, role=role, workspaces=workspaces
        )
    return WebUser(address, PASSWORD, user.public_id, tenant)


Browser = Callable[[], Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def new_browser(app: Any) -> AsyncIterator[Browser]:
    """Makes clients that keep cookies, like browsers do; each is closed after the test."""
    clients: list[httpx.AsyncClient] = []

    async def make() -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://leadhub.test")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def sign_in(client: httpx.AsyncClient, email: str, password: str, next_url: str = "") -> httpx.Response:
    form = await client.get("/app/sign-in")
    assert form.status_code == 200
    return await client.post(
        "/app/sign-in", data={"email": email, "password": password, "csrf": csrf_of(form.text), "next": next_url}
    )


async def signed_in(new_browser: Browser, user: WebUser) -> httpx.AsyncClient:
    client = await new_browser()
    answer = await sign_in(client, user.email, user.password)
    assert answer.status_code == 303, answer.text
    return client


async def page_csrf(client: httpx.AsyncClient, path: str) -> str:
    answer = await client.get(path)
    assert answer.status_code == 200, answer.text
    return csrf_of(answer.text)
