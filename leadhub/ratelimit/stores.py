"""Where buckets live: in the process (SQLite: one machine, one `serve`), in the database (PostgreSQL:
shared by every `serve` process) or in Redis (when ``LEADHUB_REDIS_URL`` is set)."""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from leadhub.db.engine import Database
from leadhub.ratelimit.bucket import Decision, Spec, State, decide, refill


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


class SharedStore(Protocol):
    """A store shared by processes, which can also hand out blocks of tokens (leases)."""

    async def charge(
        self, workspace_id: uuid.UUID, specs: Sequence[Spec], now: float, grants: Sequence[int], returns: Sequence[int]
    ) -> tuple[bool, list[float]]:
        """Refill every bucket to ``now`` and credit it ``returns`` unspent tokens; when every bucket then
        holds at least one token, debit each ``min(grant, floor(level))``, else none. Answers whether it
        debited, and the levels before the debit. A zero grant only reads."""
        ...

    async def close(self) -> None: ...


def _decision(specs: Sequence[Spec], allowed: bool, levels: Sequence[float], take: bool) -> Decision:
    after = [level - 1 if allowed and take else level for level in levels]
    return Decision(allowed, [State(s, t) for s, t in zip(specs, after, strict=True)])


# One statement, one round trip, autocommit: lock the request's bucket rows in name order (concurrent
# requests never deadlock), refill them in SQL from the caller's clock, debit every one of them or none, and
# answer the levels. A bucket row that does not exist yet is created by the same statement, but a statement
# cannot read the rows it inserts, so its first charge comes back short of that row and is sent once more.
# synchronous_commit is off for this one transaction: the row locks are held until commit, and waiting for
# the WAL flush while holding a workspace's bucket is what serialized its requests (a crash can forget the
# last few debits, a bucket's fraction of a second, which a limiter can afford).
_CHARGE = """
WITH spec(name, cap, rate, grant_, back) AS (
  SELECT * FROM unnest($2::text[], $3::float8[], $4::float8[], $6::int[], $7::int[])
),
seed AS (
  INSERT INTO rate_limit_buckets (workspace_id, name, tokens, updated_at)
  SELECT $1, spec.name, spec.cap, $5 FROM spec
  ON CONFLICT (workspace_id, name) DO NOTHING
),
cur AS (
  SELECT b.name, spec.grant_, spec.back,
         LEAST(spec.cap, b.tokens + spec.back + GREATEST(0, $5 - b.updated_at) * spec.rate) AS level
  FROM rate_limit_buckets AS b JOIN spec ON spec.name = b.name
  WHERE b.workspace_id = $1
  ORDER BY b.name
  FOR UPDATE OF b
),
verdict AS (
  SELECT count(*) = cardinality($2::text[]) AND bool_and(level >= 1) AS allowed FROM cur
),
debit AS (
  UPDATE rate_limit_buckets AS b
  SET tokens = cur.level - CASE WHEN verdict.allowed THEN LEAST(cur.grant_, floor(cur.level)) ELSE 0 END,
      updated_at = $5
  FROM cur, verdict
  WHERE b.workspace_id = $1 AND b.name = cur.name
    AND ((verdict.allowed AND cur.grant_ > 0) OR cur.back > 0)
)
SELECT cur.name, cur.level, verdict.allowed, set_config('synchronous_commit', 'off', true) AS relaxed
FROM cur, verdict
"""


class DatabaseStore:
    """Buckets as rows of ``rate_limit_buckets`` (PostgreSQL), shared by every ``serve`` process. One
    autocommitted statement per charge refills and debits all of the request's buckets atomically."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def charge(
        self, workspace_id: uuid.UUID, specs: Sequence[Spec], now: float, grants: Sequence[int], returns: Sequence[int]
    ) -> tuple[bool, list[float]]:
        names = [s.key for s in specs]
        caps = [float(s.capacity) for s in specs]
        args = (workspace_id, names, caps, [s.rate for s in specs], now, list(grants), list(returns))
        async with self.db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            # Straight to asyncpg outside any transaction: the statement is its own (autocommitted) one.
            driver: Any = raw.driver_connection
            rows = await driver.fetch(_CHARGE, *args)
            if len(rows) < len(specs):
                rows = await driver.fetch(_CHARGE, *args)
        levels = {r["name"]: float(r["level"]) for r in rows}
        if len(levels) < len(specs):
            # Unreachable short of a bucket deleted between the two statements; the limiter lets it through.
            raise RuntimeError("rate-limit bucket rows missing after seeding them")
        ordered = [levels[name] for name in names]
        return bool(rows[0]["allowed"]), ordered

    async def take(self, workspace_id: uuid.UUID, specs: Sequence[Spec], now: float) -> Decision:
        allowed, levels = await self.charge(workspace_id, specs, now, [1] * len(specs), [0] * len(specs))
        return _decision(specs, allowed, levels, take=True)

    async def peek(self, workspace_id: uuid.UUID, specs: Sequence[Spec], now: float) -> Decision:
        allowed, levels = await self.charge(workspace_id, specs, now, [0] * len(specs), [0] * len(specs))
        return _decision(specs, allowed, levels, take=False)

    async def close(self) -> None:
        return None


# KEYS: one hash per bucket. ARGV: now, then capacity, rate, grant and returned tokens per bucket.
# Answers 1/0 for allowed, then the levels before the debit, all in one atomic script (one round trip).
_CHARGE_LUA = """
local now = tonumber(ARGV[1])
local n = #KEYS
local levels = {}
local allowed = 1
for i = 1, n do
  local cap = tonumber(ARGV[4 * i - 2])
  local rate = tonumber(ARGV[4 * i - 1])
  local back = tonumber(ARGV[4 * i + 1])
  local b = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local tokens = tonumber(b[1]) or cap
  local ts = tonumber(b[2]) or now
  local level = math.min(cap, tokens + back + math.max(0, now - ts) * rate)
  levels[i] = level
  if level < 1 then allowed = 0 end
end
local out = {allowed}
for i = 1, n do
  local level = levels[i]
  local cap = tonumber(ARGV[4 * i - 2])
  local rate = tonumber(ARGV[4 * i - 1])
  local grant = tonumber(ARGV[4 * i])
  local back = tonumber(ARGV[4 * i + 1])
  if (allowed == 1 and grant > 0) or back > 0 then
    local left = level
    if allowed == 1 then left = level - math.min(grant, math.floor(level)) end
    redis.call('HSET', KEYS[i], 'tokens', tostring(left), 'ts', tostring(now))
    redis.call('PEXPIRE', KEYS[i], math.ceil(cap / rate * 1000) + 1000)
  end
  out[i + 1] = tostring(level)
end
return out
"""


class RedisStore:
    """Buckets as Redis hashes, charged by one Lua script per call (atomic across a request's buckets)."""

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self.client: Any = Redis.from_url(url)
        self._script = self.client.register_script(_CHARGE_LUA)

    async def charge(
        self, workspace_id: uuid.UUID, specs: Sequence[Spec], now: float, grants: Sequence[int], returns: Sequence[int]
    ) -> tuple[bool, list[float]]:
        keys = [f"leadhub:rl:{workspace_id}:{s.key}" for s in specs]
        args: list[Any] = [repr(now)]
        for spec, grant, back in zip(specs, grants, returns, strict=True):
            args += [spec.capacity, repr(spec.rate), grant, back]
        result = await self._script(keys=keys, args=args)
        return bool(int(result[0])), [float(v) for v in result[1:]]

    async def take(self, workspace_id: uuid.UUID, specs: Sequence[Spec], now: float) -> Decision:
        allowed, levels = await self.charge(workspace_id, specs, now, [1] * len(specs), [0] * len(specs))
        return _decision(specs, allowed, levels, take=True)

    async def peek(self, workspace_id: uuid.UUID, specs: Sequence[Spec], now: float) -> Decision:
        allowed, levels = await self.charge(workspace_id, specs, now, [0] * len(specs), [0] * len(specs))
        return _decision(specs, allowed, levels, take=False)

    async def close(self) -> None:
        await self.client.aclose()


# Local leases: a process takes a block of each bucket's tokens in one charge and spends them in memory, so
# most requests never reach the shared store. A block is at most 5% of the bucket, and at most one second of
# its refill unless that is under 0.1% of it (a daily quota refills a few tokens a second, but a block of
# 0.1% of a day is still nothing next to the quota). A small limit keeps block 1: every request is charged
# to the shared store, exactly as without leases.
LEASE_SHARE = 0.05
LEASE_FLOOR_SHARE = 0.001
LEASE_SECONDS = 1.0


def block_size(spec: Spec) -> int:
    """Tokens one lease takes from this bucket (at least 1)."""
    per_interval = max(spec.rate * LEASE_SECONDS, spec.capacity * LEASE_FLOOR_SHARE)
    return max(1, math.floor(min(spec.capacity * LEASE_SHARE, per_interval)))


@dataclass
class _Lease:
    spec: Spec
    left: int  # tokens of the block not yet spent by this process
    shared: float  # the shared bucket's level once the block was taken
    until: float


class LeasingStore:
    """A shared store behind per-process token leases. Tokens are debited from the shared bucket before they
    are spent, so within any interval the buckets' limit is exceeded by at most the tokens leased earlier and
    spent in it: processes * block (at most 5% of the bucket each, spent within ``LEASE_SECONDS``)."""

    _PRUNE_AT = 100_000

    def __init__(self, shared: SharedStore) -> None:
        self.shared = shared
        self._leases: dict[tuple[uuid.UUID, str], _Lease] = {}
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}

    def _spend_locally(self, workspace_id: uuid.UUID, specs: Sequence[Spec], now: float) -> Decision | None:
        leases = [self._leases.get((workspace_id, s.key)) for s in specs]
        live = [
            lease
            for lease, spec in zip(leases, specs, strict=True)
            if lease is not None
            and lease.spec == spec
            and lease.left >= 1
            and lease.until - LEASE_SECONDS <= now < lease.until
        ]
        if len(live) < len(specs):
            return None
        for lease in live:
            lease.left -= 1
        return Decision(True, [State(lease.spec, lease.shared + lease.left) for lease in live])

    async def take(self, workspace_id: uuid.UUID, specs: Sequence[Spec], now: float) -> Decision:
        local = self._spend_locally(workspace_id, specs, now)
        if local is not None:
            return local
        # One renewal per workspace at a time in this process: the tasks queued behind it mostly find the
        # fresh lease and spend from it instead of charging the shared store themselves.
        async with self._locks.setdefault(workspace_id, asyncio.Lock()):
            local = self._spend_locally(workspace_id, specs, now)
            if local is not None:
                return local
            if len(self._leases) > self._PRUNE_AT:
                self._leases.clear()  # unspent blocks are forfeited: a few tokens lost, never extra ones
                self._locks = {ws: lock for ws, lock in self._locks.items() if lock.locked()}
            # The unspent rest of the request's old leases goes back with the renewal, removed first so no
            # task spends it while the charge is in flight.
            returns = []
            for spec in specs:
                old = self._leases.pop((workspace_id, spec.key), None)
                returns.append(old.left if old is not None else 0)
            grants = [block_size(s) for s in specs]
            allowed, levels = await self.shared.charge(workspace_id, specs, now, grants, returns)
            if not allowed:
                return Decision(False, [State(s, level) for s, level in zip(specs, levels, strict=True)])
            states = []
            for spec, grant, level in zip(specs, grants, levels, strict=True):
                granted = min(grant, math.floor(level))
                shared = level - granted
                self._leases[(workspace_id, spec.key)] = _Lease(spec, granted - 1, shared, now + LEASE_SECONDS)
                states.append(State(spec, shared + granted - 1))
            return Decision(True, states)

    async def peek(self, workspace_id: uuid.UUID, specs: Sequence[Spec], now: float) -> Decision:
        _, levels = await self.shared.charge(workspace_id, specs, now, [0] * len(specs), [0] * len(specs))
        held = [self._leases.get((workspace_id, s.key)) for s in specs]
        levels = [level + (h.left if h is not None else 0) for level, h in zip(levels, held, strict=True)]
        return Decision(all(level >= 1 for level in levels), [State(s, t) for s, t in zip(specs, levels, strict=True)])

    async def close(self) -> None:
        self._leases.clear()
        await self.shared.close()
