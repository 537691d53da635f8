"""Webhook fixtures: a real HTTP receiver on 127.0.0.1 that verifies every delivery with
``standardwebhooks.Webhook(secret).verify``, an app that may deliver to it (private targets allowed), a
strict app that may not, a dispatcher the test drives, and a clock the test moves."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import update
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadhub.app import create_app
from leadhub.config import Settings
from leadhub.core import clock
from leadhub.db.engine import Database
from leadhub.uow import unit_of_work
from leadhub.webhooks.dispatcher import Dispatcher, Options
from leadhub.webhooks.models import OPEN_STATES, Delivery, WebhookEndpoint
from tests.conftest import Tenant


@dataclass
class Received:
    name: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    error: str | None
    message: Any


@dataclass
class Receiver:
    """Records what each hook (``/hook/<name>``) got; answers from a script, else 204 when the signature
    verifies and 400 when it does not (as a real subscriber would)."""

    port: int = 0
    secrets: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    script: dict[str, deque[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    hold: asyncio.Event | None = None
    in_flight: int = 0
    # Per hook: requests held until the event is set; seconds each answer takes (a slow subscriber).
    holds: dict[str, asyncio.Event] = field(default_factory=dict)
    delay: dict[str, float] = field(default_factory=dict)
    # Requests being answered, per hook and per (hook, contact), and the most seen at once.
    busy: Counter[str] = field(default_factory=Counter)
    peak: Counter[str] = field(default_factory=Counter)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/hook/{name}"

    def answer(self, name: str, *responses: tuple[int, dict[str, str]]) -> None:
        self.script.setdefault(name, deque()).extend(responses)

    def got(self, name: str) -> list[Received]:
        return [r for r in self.received if r.name == name]

    def reset(self) -> None:
        self.secrets.clear()
        self.received.clear()
        self.script.clear()
        self.hold = None
        self.in_flight = 0
        for held in self.holds.values():
            held.set()
        self.holds.clear()
        self.delay.clear()
        self.busy.clear()
        self.peak.clear()

    async def handle(self, request: Request) -> Response:
        name = request.path_params["name"]
        body = await request.body()
        headers = dict(request.headers)
        verified, error, message = False, None, None
        try:
            message = Webhook(self.secrets[name]).verify(body, headers)
            verified = True
        except Exception as exc:  # the verifier's refusal is what we record
            error = f"{type(exc).__name__}: {exc}"
        self.received.append(Received(name, headers, body, verified, error, message))
        contact = message["data"].get("contact_id") if message else None
        keys = [name, f"{name}/{contact}"] if contact else [name]
        for key in keys:
            self.busy[key] += 1
            self.peak[key] = max(self.peak[key], self.busy[key])
        try:
            if self.hold is not None:
                self.in_flight += 1
                await self.hold.wait()
            if name in self.holds:
                await self.holds[name].wait()
            if name in self.delay:
                await asyncio.sleep(self.delay[name])
        finally:
            for key in keys:
                self.busy[key] -= 1
        scripted = self.script.get(name)
        if scripted:
            status, extra = scripted.popleft()
            return Response(f"scripted {status}", status_code=status, headers=extra)
        return Response(status_code=204) if verified else Response(error or "bad", status_code=400)


@pytest.fixture(scope="session")
async def receiver_server() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/hook/{name}", receiver.handle, methods=["POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    receiver.port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await until(lambda: server.started, what="receiver started")
    yield receiver
    if receiver.hold is not None:
        receiver.hold.set()
    server.should_exit = True
    await task


@pytest.fixture
def receiver(receiver_server: Receiver) -> Iterator[Receiver]:
    receiver_server.reset()
    yield receiver_server
    if receiver_server.hold is not None:
        receiver_server.hold.set()


async def until(check: Callable[[], Any], *, within: float = 15.0, what: str = "condition") -> None:
    """Poll ``check`` (sync or async) until truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def _app_client(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings, database, background=False)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://leadhub.test") as c:
            yield c


@pytest.fixture
async def client(database: Database, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API with private webhook targets allowed (the receiver is on 127.0.0.1)."""
    async for c in _app_client(dataclasses.replace(settings, webhook_allow_private=True), database):
        yield c


@pytest.fixture
async def strict_client(database: Database, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API as deployed: private webhook targets refused."""
    async for c in _app_client(dataclasses.replace(settings, webhook_allow_private=False), database):
        yield c


@pytest.fixture
async def dispatcher(database: Database) -> AsyncIterator[Dispatcher]:
    d = Dispatcher(database, Options(allow_private=True, timeout_seconds=5), name="test-dispatcher")
    yield d
    await d.close()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when


@pytest.fixture
def test_clock() -> Iterator[Clock]:
    c = Clock()
    clock.set_clock(lambda: c.now)
    yield c
    clock.set_clock(None)


async def add_endpoint(
    client: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    name: str,
    event_types: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Register ``receiver``'s hook ``name`` and teach the receiver its secret."""
    body = {"url": receiver.url(name), "event_types": event_types or ["contact.*"], **extra}
    r = await client.post("/v1/webhooks", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    endpoint: dict[str, Any] = r.json()
    receiver.secrets[name] = endpoint["secret"]
    return endpoint


async def add_contact(client: httpx.AsyncClient, tenant: Tenant, email: str) -> str:
    r = await client.post("/v1/contacts", json={"email": email}, headers=tenant.headers)
    assert r.status_code == 201, r.text
    contact_id: str = r.json()["id"]
    return contact_id


async def deliveries(
    client: httpx.AsyncClient, tenant: Tenant, endpoint_id: str, **params: Any
) -> list[dict[str, Any]]:
    r = await client.get(f"/v1/webhooks/{endpoint_id}/deliveries", params=params, headers=tenant.headers)
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["data"]
    return found


@pytest.fixture(autouse=True)
async def quiet_outbox(database: Database) -> None:
    """Each test starts with no other test's endpoint enabled or delivery open (the database is shared
    by the session, and the dispatcher claims across workspaces)."""
    async with unit_of_work(database) as session:
        await session.execute(
            update(Delivery).where(Delivery.status.in_(OPEN_STATES)).values(status="failed", next_attempt_at=None)
        )
        await session.execute(update(WebhookEndpoint).values(enabled=False))
