"""A webhook subscriber for process-level tests: a real HTTP server on 127.0.0.1 that verifies each delivery's
Standard Webhooks signature and records it in arrival order; it can hold requests open so the test knows
deliveries are in flight when it kills a process."""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass(frozen=True)
class Got:
    """One delivery as the subscriber saw it."""

    webhook_id: str
    event_type: str
    seq: int
    contact_id: str | None
    data: dict[str, Any]


@dataclass
class Receiver:
    port: int = 0
    secret: str = ""
    got: list[Got] = field(default_factory=list)
    # Requests refused because their signature did not verify (each kept as the verifier's complaint).
    refused: list[str] = field(default_factory=list)
    hold: asyncio.Event | None = None
    held: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def ids(self) -> Counter[str]:
        return Counter(g.webhook_id for g in self.got)

    async def handle(self, request: Request) -> Response:
        try:
            body = await request.body()
        except ClientDisconnect:  # the sender died mid-request (a kill): nothing was delivered
            return Response(status_code=400)
        try:
            message = Webhook(self.secret).verify(body, dict(request.headers))
        except Exception as exc:  # the verifier's refusal is what a real subscriber answers 400 for
            self.refused.append(f"{type(exc).__name__}: {exc}")
            return Response("bad signature", status_code=400)
        data = message["data"]
        if request.headers["webhook-id"] != data["id"]:
            self.refused.append(f"webhook-id {request.headers['webhook-id']} is not the event's id {data['id']}")
            return Response("webhook-id differs from the event id", status_code=400)
        self.got.append(Got(data["id"], message["type"], data["seq"], data["contact_id"], data))
        if self.hold is not None:
            self.held += 1
            try:
                await self.hold.wait()
            finally:
                self.held -= 1
        return Response(status_code=204)

    async def hold_until_in_flight(self, within: float = 30.0) -> None:
        """Hold every request from now on (if not already) and return once at least one is being held
        (deliveries in flight)."""
        self.hold = self.hold or asyncio.Event()
        deadline = time.monotonic() + within
        while self.held < 1:
            assert time.monotonic() < deadline, "no delivery arrived to hold"
            await asyncio.sleep(0.01)  # polling the receiver, with a deadline

    def release(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self.hold = None


@asynccontextmanager
async def running_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    receiver.port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1, backlog=1024)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and not task.done(), "the receiver did not start"
        await asyncio.sleep(0.01)  # polling a starting server, with a deadline
    try:
        yield receiver
    finally:
        receiver.release()
        server.should_exit = True
        await task
