"""The limiter every door passes through once the key is known: it charges the key's and the workspace's
buckets (refusing with 429 when one is empty) and leaves the decision on the request for the headers.
Requests that never present a valid key are charged to their client address instead."""

from __future__ import annotations

import logging
import time
import uuid

from fastapi import Request

from leadhub.auth.models import Workspace
from leadhub.auth.principal import Principal
from leadhub.config import Settings
from leadhub.core import clock
from leadhub.core.errors import DomainError
from leadhub.db.engine import Database
from leadhub.observability import metrics
from leadhub.ratelimit import service
from leadhub.ratelimit.bucket import Decision, Spec
from leadhub.ratelimit.stores import DatabaseStore, LeasingStore, MemoryStore, RedisStore, Store

log = logging.getLogger("leadhub.ratelimit")
STATE_KEY = "ratelimit"
ANONYMOUS = uuid.UUID(int=0)
_POLICY_CACHE_SECONDS = 10.0


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, decision: Decision) -> None:
        exhausted = [s.spec.policy for s in decision.states if s.tokens < 1]
        super().__init__(
            f"Rate limit '{', '.join(exhausted)}' exceeded; retry after {decision.retry_after} s",
            retry_after=decision.retry_after,
        )
        self.decision = decision


def make_store(settings: Settings, db: Database) -> Store:
    # Shared stores sit behind local leases: most requests spend a token this process already holds.
    if settings.redis_url:
        return LeasingStore(RedisStore(settings.redis_url))
    if db.is_postgres:
        return LeasingStore(DatabaseStore(db))
    return MemoryStore()


class Limiter:
    def __init__(self, settings: Settings, db: Database, store: Store | None = None) -> None:
        self.enabled = settings.ratelimit_enabled
        self.db = db
        self.defaults = service.Policy.defaults(settings)
        self.store: Store = store or make_store(settings, db)
        # Failed authentication and key-less requests: per process, never shared (an abuse brake, not a quota).
        self.anonymous = MemoryStore()
        self.anonymous_spec_limit = settings.ratelimit_anonymous_limit
        self.window = settings.ratelimit_window_seconds
        self._policies: dict[uuid.UUID, tuple[float, service.Policy]] = {}

    async def policy(self, workspace: Workspace) -> service.Policy:
        cached = self._policies.get(workspace.id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        async with self.db.read_session() as session:
            policy = await service.get_policy(session, workspace, self.defaults)
        self._policies[workspace.id] = (time.monotonic() + _POLICY_CACHE_SECONDS, policy)
        return policy

    def forget(self, workspace_id: uuid.UUID) -> None:
        """Drop a cached policy (this process sees a change at once; others within the cache time)."""
        self._policies.pop(workspace_id, None)

    async def enforce(self, request: Request, principal: Principal, workspace: Workspace) -> None:
        """Charge this request to its key's and workspace's buckets; RateLimited when one is empty."""
        await self._charge(request, workspace, principal.key_id.hex)

    async def enforce_user(self, request: Request, user_id: uuid.UUID, workspace: Workspace) -> None:
        """Charge a signed-in web user's request to a bucket of that user (like a key's) and to the
        workspace's buckets, so an office behind one address is not braked as one anonymous client."""
        await self._charge(request, workspace, f"user_{user_id.hex}")

    async def _charge(self, request: Request, workspace: Workspace, bucket: str) -> None:
        if not self.enabled or getattr(request.state, "ratelimit_workspace", None) == workspace.id:
            return  # a door that authenticates twice in one request is charged once
        request.state.ratelimit_workspace = workspace.id
        policy = await self.policy(workspace)
        try:
            decision = await self.store.take(workspace.id, policy.specs(bucket), clock.now().timestamp())
        except Exception:  # a limiter outage must not take the API down with it
            metrics.RATE_LIMIT_ERRORS.inc()
            log.warning("rate-limit store unavailable; request let through")
            return
        request.state.ratelimit = decision
        if not decision.allowed:
            for state in decision.states:
                if state.tokens < 1:
                    metrics.RATE_LIMITED.labels(state.spec.policy).inc()
            raise RateLimited(decision)

    def anonymous_specs(self, client: str) -> list[Spec]:
        return [Spec("anonymous", f"ip:{client}", self.anonymous_spec_limit, self.window)]

    async def anonymous_peek(self, client: str) -> Decision:
        return await self.anonymous.peek(ANONYMOUS, self.anonymous_specs(client), clock.now().timestamp())

    def anonymous_charge(self, client: str) -> Decision:
        return self.anonymous.debit(ANONYMOUS, self.anonymous_specs(client), clock.now().timestamp())

    async def close(self) -> None:
        await self.store.close()
