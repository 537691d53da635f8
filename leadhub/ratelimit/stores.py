"""Where buckets live: in the process (SQLite: one machine, one `serve`), in the database (PostgreSQL:
shared by every `serve` process) or in Redis (when ``LEADHUB_REDIS_URL`` is set)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from leadhub.db.engine import Database
from leadhub.ratelimit.bucket import Decision, Spec, State, decide, refill
from leadhub.ratelimit.models import RateLimitBucket


class Store(Protocol):
    async def take(self, workspace_id: uuid.UUID, specs: Sequence[Spec], now: float) -> Decision: ...

    async def peek(self, workspace_id: uuid.UUID, specs: Sequence[Spec], now: float) -> Decision: ...

    async def close(self) -> None: ...


class MemoryStore:
    """Buckets in a dict. Safe without locks: ``take`` never awaits, so the event loop runs it whole."""

    _PRUNE_AT = 100_000

    def __init__(self) -> None:
        self._buckets: dict[tuple[uuid.UUID, str], tuple[float, float]] = {}

    def _levels(self, workspace_id: uuid.UUID, specs: Sequence[Spec], now: float) -> list[float]:
        levels = []
        for spec in specs:
            tokens, updated_at = self._buckets.get((workspace_id, spec.key), (float(spec.capacity), now))
            levels.append(refill(tokens, updated_at, now, spec))
        return levels

    async def take(self, workspace_id: uuid.UUID, specs: Sequence[Spec], now: float) -> Decision:
        if len(self._buckets) > self._PRUNE_AT:
            self._buckets.clear()  # every bucket restarts full: generous, and bounded memory under key churn
        allowed, after = decide(specs, self._levels(workspace_id, specs, now))
        for spec, tokens in zip(specs, after, strict=True):
            self._buckets[(workspace_id, spec.key)] = (tokens, now)
        return Decision(allowed, [State(s, t) for s, t in zip(specs, after, strict=True)])

    def debit(self, workspace_id: uuid.UUID, specs: Sequence[Spec], now: float) -> Decision:
        """Take a token even from an empty bucket (charging a request after it was answered)."""
        states = []
        for spec, level in zip(specs, self._levels(workspace_id, specs, now), strict=True):
            # Down to one window's worth of debt at most: a flood is braked, never locked out for long.
            tokens = max(level - 1, -float(spec.capacity))
            self._buckets[(workspace_id, spec.key)] = (tokens, now)
            states.append(State(spec, tokens))
        return Decision(all(s.tokens >= 0 for s in states), states)

    async def peek(self, workspace_id: uuid.UUID, specs: Sequence[Spec], now: float) -> Decision:
        levels = self._levels(workspace_id, specs, now)
        return Decision(all(level >= 1 for level in levels), [State(s, t) for s, t in zip(specs, levels, strict=True)])

    async def close(self) -> None:
        self._buckets.clear()


class DatabaseStore:
    """Buckets as rows of ``rate_limit_buckets`` (PostgreSQL). One short transaction per request locks the
    workspace's bucket rows in name order (so concurrent requests never deadlock) and updates them."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _levels(self, conn: Any, workspace_id: uuid.UUID, specs: Sequence[Spec], now: float) -> list[float]:
        table = RateLimitBucket
        names = sorted(s.key for s in specs)
        query = select(table.name, table.tokens, table.updated_at).where(
            table.workspace_id == workspace_id, table.name.in_(names)
        )
        rows = {
            r.name: (r.tokens, r.updated_at) for r in await conn.execute(query.order_by(table.name).with_for_update())
        }
        missing = [s for s in specs if s.key not in rows]
        if missing:
            await conn.execute(
                pg_insert(table)
                .values(
                    [
                        {"workspace_id": workspace_id, "name": s.key, "tokens": s.capacity, "updated_at": now}
                        for s in missing
                    ]
                )
                .on_conflict_do_nothing()
            )
            rows = {
                r.name: (r.tokens, r.updated_at)
                for r in await conn.execute(query.order_by(table.name).with_for_update())
            }
        return [refill(*rows[s.key], now, s) for s in specs]

    async def take(self, workspace_id: uuid.UUID, specs: Sequence[Spec], now: float) -> Decision:
        table = RateLimitBucket
        async with self.db.engine.begin() as conn:
            levels = await self._levels(conn, workspace_id, specs, now)
            allowed, after = decide(specs, levels)
            if allowed:
                for spec, tokens in sorted(zip(specs, after, strict=True), key=lambda item: item[0].key):
                    await conn.execute(
                        update(table)
                        .where(table.workspace_id == workspace_id, table.name == spec.key)
                        .values(tokens=tokens, updated_at=now)
                    )
        return Decision(allowed, [State(s, t) for s, t in zip(specs, after, strict=True)])

    async def peek(self, workspace_id: uuid.UUID, specs: Sequence[Spec], now: float) -> Decision:
        async with self.db.engine.begin() as conn:
            levels = await self._levels(conn, workspace_id, specs, now)
        return Decision(all(level >= 1 for level in levels), [State(s, t) for s, t in zip(specs, levels, strict=True)])

    async def close(self) -> None:
        return None


# KEYS: one hash per bucket. ARGV: now, then capacity and rate per bucket, then "1" to take or "0" to peek.
# Answers the levels after the request, and 1/0 for allowed, all in one atomic script.
_TAKE = """
local now = tonumber(ARGV[1])
local n = #KEYS
local levels = {}
local allowed = 1
for i = 1, n do
  local cap = tonumber(ARGV[2 * i])
  local rate = tonumber(ARGV[2 * i + 1])
  local b = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local tokens = tonumber(b[1]) or cap
  local ts = tonumber(b[2]) or now
  local level = math.min(cap, tokens + math.max(0, now - ts) * rate)
  levels[i] = level
  if level < 1 then allowed = 0 end
end
local take = ARGV[2 * n + 2] == '1'
local out = {allowed}
for i = 1, n do
  local level = levels[i]
  if allowed == 1 and take then
    level = level - 1
    local cap = tonumber(ARGV[2 * i])
    local rate = tonumber(ARGV[2 * i + 1])
    redis.call('HSET', KEYS[i], 'tokens', tostring(level), 'ts', tostring(now))
    redis.call('PEXPIRE', KEYS[i], math.ceil(cap / rate * 1000) + 1000)
  end
  out[i + 1] = tostring(level)
end
return out
"""


class RedisStore:
    """Buckets as Redis hashes, updated by one Lua script per request (atomic across a request's buckets)."""

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self.client: Any = Redis.from_url(url)
        self._script = self.client.register_script(_TAKE)

    async def _run(self, workspace_id: uuid.UUID, specs: Sequence[Spec], now: float, take: bool) -> Decision:
        keys = [f"leadhub:rl:{workspace_id}:{s.key}" for s in specs]
        args: list[Any] = [repr(now)]
        for spec in specs:
            args += [spec.capacity, repr(spec.rate)]
        args.append("1" if take else "0")
        result = await self._script(keys=keys, args=args)
        levels = [float(v) for v in result[1:]]
        return Decision(bool(int(result[0])), [State(s, t) for s, t in zip(specs, levels, strict=True)])

    async def take(self, workspace_id: uuid.UUID, specs: Sequence[Spec], now: float) -> Decision:
        return await self._run(workspace_id, specs, now, take=True)

    async def peek(self, workspace_id: uuid.UUID, specs: Sequence[Spec], now: float) -> Decision:
        return await self._run(workspace_id, specs, now, take=False)

    async def close(self) -> None:
        await self.client.aclose()
