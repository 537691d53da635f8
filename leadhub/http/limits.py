"""Request limits beyond the body size: a request body must arrive within a deadline (a slow client
cannot hold a worker), and a JSON body may nest, list and spell only so much (a 20 MB string or a
100,000-deep array is refused with a 422 naming the place, before any door parses it)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadhub.core.errors import DomainError, FieldError, Invalid
from leadhub.http import errors
from leadhub.http.middleware import is_upload

_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class JsonLimits:
    max_depth: int = 32
    max_items: int = 1000
    max_string: int = 100_000


class RequestTimeout(DomainError):
    status = 408
    code = "request_timeout"
    title = "Request timeout"


def _path(parts: list[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def check(value: Any, limits: JsonLimits) -> FieldError | None:
    """The first place where ``value`` (parsed JSON) breaks a limit, or None. Iterative: no recursion limit."""
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        if len(path) > limits.max_depth:
            # Name the member holding the too-deep value, not the array positions inside it.
            member = list(path)
            while member and isinstance(member[-1], int):
                member.pop()
            return FieldError(_path(member), "max_depth", f"nests deeper than {limits.max_depth} levels", _kind(item))
        if isinstance(item, str):
            if len(item) > limits.max_string:
                return FieldError(_path(path), "max_length", f"at most {limits.max_string} characters", "string")
        elif isinstance(item, list):
            if len(item) > limits.max_items:
                return FieldError(_path(path), "max_items", f"at most {limits.max_items} items", "array")
            stack.extend((child, [*path, i]) for i, child in enumerate(item))
        elif isinstance(item, dict):
            if len(item) > limits.max_items:
                return FieldError(_path(path), "max_items", f"at most {limits.max_items} members", "object")
            for key, child in item.items():
                if len(key) > limits.max_string:
                    return FieldError(
                        _path(path), "max_length", f"keys at most {limits.max_string} characters", "string"
                    )
                stack.append((child, [*path, key]))
    return None


def _kind(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean"}.get(type(value), "number")


class RequestLimits:
    """Reads the whole body (already bounded in size by BodySizeLimit) within ``body_timeout`` seconds,
    checks a JSON body against ``limits``, then hands the body on to the app unchanged. A file upload is
    streamed through instead (it may be gigabytes): each of its chunks must arrive within ``body_timeout``
    of the previous one, so a stalled client still cannot hold a worker."""

    def __init__(self, app: ASGIApp, limits: JsonLimits | None = None, body_timeout: float = 30.0) -> None:
        self.app = app
        self.limits = limits or JsonLimits()
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        if is_upload(scope):
            await self._stream(scope, receive, send)
            return
        chunks: list[bytes] = []
        deadline = asyncio.get_running_loop().time() + self.body_timeout
        while True:
            try:
                # A timeout scope, not wait_for: that would run each receive() in a task of its own.
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                await self._refuse(
                    scope,
                    receive,
                    send,
                    RequestTimeout(f"The request body did not arrive within {self.body_timeout:g} s"),
                )
                return
            if message["type"] == "http.disconnect":
                return  # the client left (or BodySizeLimit already answered 413)
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = dict(scope["headers"]).get(b"content-type", b"").lower()
        if body and (not content_type or b"json" in content_type) and not self._surely_within(body):
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                parsed = None  # the door answers malformed JSON in its own words, unless it is too deep to parse
                if "recursion" in str(exc).lower() or "depth limit" in str(exc).lower():
                    too_deep = FieldError("body", "max_depth", f"nests deeper than {self.limits.max_depth} levels")
                    await self._refuse(scope, receive, send, Invalid([too_deep]))
                    return
            broken = check(parsed, self.limits) if parsed is not None else None
            if broken is not None:
                await self._refuse(scope, receive, send, Invalid([broken]))
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False
        stalled = False

        async def paced_receive() -> Message:
            nonlocal started, stalled
            if stalled:
                return {"type": "http.disconnect"}
            try:
                return await asyncio.wait_for(receive(), self.body_timeout)
            except TimeoutError:
                if not started:
                    started = True
                    late = RequestTimeout(f"The upload stalled for more than {self.body_timeout:g} s")
                    await self._refuse(scope, receive, send, late)
                stalled = True  # from here the app hears the client left, and its own answer is dropped
                return {"type": "http.disconnect"}

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if stalled:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, paced_receive, guarded_send)
        except ClientDisconnect:
            if not stalled:
                raise
            # The app read on after we told it the client left; the 408 already answered the request.

    def _surely_within(self, body: bytes) -> bool:
        """True when the raw bytes alone prove every limit holds, so the body needs no parse here: no
        string or key can be longer than the body, no array or object can have more members than the
        body has commas (plus one), and no value can nest deeper than the body has brackets and braces.
        A malformed body skipped here is still answered by the door's own parser."""
        limits = self.limits
        return (
            len(body) <= limits.max_string
            and body.count(b",") < limits.max_items
            and body.count(b"[") + body.count(b"{") <= limits.max_depth
        )

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, error: DomainError) -> None:
        response = errors.render_error(Request(scope), error)
        await response(scope, receive, send)
