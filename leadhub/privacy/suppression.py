"""The suppression list: digests of erased people's emails and phones. A write that would bring one of
them back is refused (422, rule ``suppressed``) until the operator removes the entry."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.core import clock
from leadhub.core.errors import FieldError, Invalid
from leadhub.privacy.models import Suppression

KINDS = ("email", "phone")


def digest(kind: str, value: str) -> str:
    """SHA-256 of the normalized value: enough to recognise it again, not to read it back."""
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


async def add(session: AsyncSession, workspace_id: uuid.UUID, kind: str, value: str, reason: str) -> str:
    """Suppress ``value`` (already normalized); adding one twice is a no-op. Answers the digest."""
    key = digest(kind, value)
    row = {"workspace_id": workspace_id, "digest": key, "kind": kind, "reason": reason, "created_at": clock.now()}
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(insert(Suppression).values(**row).on_conflict_do_nothing())
    return key


async def refuse(
    session: AsyncSession, workspace_id: uuid.UUID, emails: Sequence[tuple[str, str]], phones: Sequence[tuple[str, str]]
) -> None:
    """Invalid when one of the new ``(field path, normalized value)`` emails or phones is suppressed."""
    wanted = digests_of(emails, phones)
    if not wanted:
        return
    found = await session.scalars(
        select(Suppression.digest).where(Suppression.workspace_id == workspace_id, Suppression.digest.in_(wanted))
    )
    raise_if_suppressed(wanted, found)


def digests_of(emails: Sequence[tuple[str, str]], phones: Sequence[tuple[str, str]]) -> dict[str, str]:
    """``{digest: field path}`` of new ``(field path, normalized value)`` emails and phones."""
    return {digest("email", v): p for p, v in emails} | {digest("phone", v): p for p, v in phones}


def raise_if_suppressed(wanted: dict[str, str], found: Iterable[str]) -> None:
    """Invalid naming each field whose digest (of ``wanted``, from ``digests_of``) was ``found`` suppressed."""
    errors = [
        FieldError(
            wanted[d],
            "suppressed",
            "belongs to a person whose data was erased; an operator must remove it from the suppression list first",
            "string",
        )
        for d in found
    ]
    if errors:
        raise Invalid(sorted(errors, key=lambda e: e.field))


async def page(session: AsyncSession, workspace_id: uuid.UUID, limit: int, after: str | None) -> list[Suppression]:
    """Up to ``limit + 1`` entries in digest order after ``after`` (the extra one says there are more)."""
    query = select(Suppression).where(Suppression.workspace_id == workspace_id)
    if after:
        query = query.where(Suppression.digest > after)
    return list(await session.scalars(query.order_by(Suppression.digest).limit(limit + 1)))


async def get(session: AsyncSession, workspace_id: uuid.UUID, key: str) -> Suppression | None:
    return await session.get(Suppression, (workspace_id, key))


async def remove(session: AsyncSession, workspace_id: uuid.UUID, key: str) -> bool:
    row = await session.get(Suppression, (workspace_id, key))
    if row is None:
        return False
    await session.delete(row)
    return True
