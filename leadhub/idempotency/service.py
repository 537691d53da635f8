"""Idempotency keys (Stripe's semantics): only a request that began executing and succeeded stores its
answer, atomically with its change; a failed one frees the key so a retry runs again."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.core import clock
from leadhub.core.errors import IdempotencyInFlight, IdempotencyMismatch, IdempotencyReplay
from leadhub.idempotency.models import IdempotencyKey

MAX_KEY_LENGTH = 255
# A claim older than this belongs to a request whose process died; a retry may take it over. The default of
# ``claim``; `serve` passes LEADHUB_IDEMPOTENCY_LEASE_SECONDS.
IN_FLIGHT_LEASE = timedelta(seconds=60)


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(method.upper().encode())
    digest.update(b"\0")
    digest.update(path.encode())
    digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()


async def claim(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    key: str,
    fingerprint: str,
    ttl: timedelta,
    lease: timedelta = IN_FLIGHT_LEASE,
) -> None:
    """Take the key for this request (commits). Raises IdempotencyReplay with the stored answer,
    IdempotencyMismatch for another request under the same key, IdempotencyInFlight while it runs (until
    ``lease`` after its claim, when a retry takes the key over from a request presumed dead)."""
    now = clock.now()
    existing = await session.get(IdempotencyKey, (workspace_id, key), with_for_update=True)
    if existing is not None and existing.expires_at <= now:
        await session.delete(existing)
        await session.flush()
        existing = None
    if existing is None:
        session.add(
            IdempotencyKey(
                workspace_id=workspace_id,
                key=key,
                request_hash=fingerprint,
                state="in_flight",
                locked_until=now + lease,
                created_at=now,
                expires_at=now + ttl,
            )
        )
        try:
            await session.commit()
        except IntegrityError:
            # Another request claimed it between our read and our insert.
            await session.rollback()
            raise IdempotencyInFlight() from None
        return
    if existing.request_hash != fingerprint:
        raise IdempotencyMismatch(
            "This Idempotency-Key was already used with a different request (method, path or body)"
        )
    if existing.state == "completed":
        assert existing.response_status is not None and existing.response_body is not None
        raise IdempotencyReplay(existing.response_status, existing.response_body, dict(existing.response_headers or {}))
    if existing.locked_until > now:
        raise IdempotencyInFlight("A request with this Idempotency-Key is still in progress; retry later")
    existing.locked_until = now + lease
    await session.commit()


async def complete(
    session: AsyncSession, workspace_id: uuid.UUID, key: str, status: int, body: bytes, headers: dict[str, str]
) -> None:
    """Store the answer in the request's own transaction, so change and answer commit together."""
    row = await session.get(IdempotencyKey, (workspace_id, key))
    if row is None:  # pragma: no cover - the claim was purged mid-request; the change still commits
        return
    row.state = "completed"
    row.response_status = status
    row.response_body = body
    row.response_headers = headers
    # Written now, not at the session's COMMIT: on PostgreSQL the unit of work commits the change in the
    # outbox's committing message, before the session's own COMMIT; an answer left pending until then would
    # commit separately, and a crash between the two would leave the change with its key still in flight.
    await session.flush()


async def release(session: AsyncSession, workspace_id: uuid.UUID, key: str) -> None:
    """Free the key of a request that failed (its transaction rolled back; nothing was written)."""
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.workspace_id == workspace_id,
            IdempotencyKey.key == key,
            IdempotencyKey.state == "in_flight",
        )
    )
    await session.commit()


async def purge_expired(session: AsyncSession) -> int:
    """Delete keys past their retention; returns how many."""
    result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= clock.now()))
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
