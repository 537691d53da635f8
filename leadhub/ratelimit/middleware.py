"""Adds the rate-limit headers to every answer, and brakes clients that present no valid key."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadhub.http import errors
from leadhub.observability import metrics
from leadhub.ratelimit import headers
from leadhub.ratelimit.bucket import Decision
from leadhub.ratelimit.limiter import STATE_KEY, Limiter, RateLimited

# Probes and scrapes are never refused (load balancers and Prometheus poll them), only described.
EXEMPT = frozenset({"/healthz", "/readyz", "/metrics"})


class RateLimitHeaders:
    def __init__(self, app: ASGIApp, limiter: Limiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.limiter.enabled:
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        exempt = scope["path"] in EXEMPT
        if not exempt:
            before = await self.limiter.anonymous_peek(client)
            if not before.allowed:
                # This address spent its allowance on key-less or failed requests: refuse before any work.
                metrics.RATE_LIMITED.labels("anonymous").inc()
                refused = RateLimited(before)
                response = errors.render_error(Request(scope), refused)
                response.raw_headers.extend(headers.pairs(before, 429))
                await response(scope, receive, send)
                return
        state = scope.setdefault("state", {})

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                decision: Decision | None = state.get(STATE_KEY)
                if decision is None:
                    if exempt:
                        decision = await self.limiter.anonymous_peek(client)
                    else:
                        decision = self.limiter.anonymous_charge(client)
                message["headers"] = [*message.get("headers", []), *headers.pairs(decision, message["status"])]
            await send(message)

        await self.app(scope, receive, send_with_headers)
