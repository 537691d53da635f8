"""Pure ASGI middleware: request ids and a body-size ceiling (a larger one for streamed file uploads)."""

from __future__ import annotations

import re
import uuid

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 10 * 1024 * 1024
UPLOAD_MAX_BYTES = 2 * 1024 * 1024 * 1024


def is_upload(scope: Scope) -> bool:
    """A request whose body is a file streamed to disk (an import's upload, by the API or the web app):
    it may be as large as ``upload_max_bytes`` and is never buffered in memory by the middleware."""
    if scope.get("method") != "POST":
        return False
    path: str = scope.get("path", "")
    return path.rstrip("/") == "/v1/imports" or (path.startswith("/app/") and path.endswith("/imports/upload"))


_SAFE_ID = re.compile(rb"[A-Za-z0-9._:-]{1,100}")


class RequestId:
    """Echo the caller's ``X-Request-Id`` (or a fresh one) on every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"")
        # Only token-like ids are echoed and logged: an id carrying an email would put it in every log line.
        request_id = incoming if _SAFE_ID.fullmatch(incoming) else uuid.uuid4().hex.encode()
        scope.setdefault("state", {})["request_id"] = request_id.decode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id)]
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodySizeLimit:
    """413 for a body over the ceiling, whether announced by Content-Length or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, upload_max_bytes: int = UPLOAD_MAX_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = upload_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ceiling = self.upload_max_bytes if is_upload(scope) else self.max_bytes
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > ceiling:
            await self._reject(send, ceiling)
            return
        seen = 0
        started = False
        over = False
        rejected = False

        async def limited_receive() -> Message:
            nonlocal seen, over, rejected
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > ceiling:
                    # Answer here: the framework turns any error raised from its body read into a 400, so
                    # we reply 413 ourselves and tell the app the client went away.
                    over = True
                    if not started:
                        rejected = True
                        await self._reject(send, ceiling)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if rejected:
                return  # the 413 is already sent; whatever the app answers to the disconnect is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except ClientDisconnect:
            if not rejected:
                raise
            # A streaming route read on after we told it the client left; the 413 already answered.

    async def _reject(self, send: Send, ceiling: int) -> None:
        body = orjson.dumps(
            {
                "type": "urn:leadhub:problem:payload_too_large",
                "title": "Payload too large",
                "status": 413,
                "detail": f"The request body exceeds {ceiling} bytes",
                "code": "payload_too_large",
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
