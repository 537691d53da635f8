"""The unit of work every door uses: one transaction, its events written just before commit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.db.engine import Database
from leadhub.events import service as events


async def commit(session: AsyncSession) -> None:
    """Write the transaction's queued events, then commit change and events together."""
    await events.flush(session)
    await session.commit()


@asynccontextmanager
async def unit_of_work(db: Database) -> AsyncIterator[AsyncSession]:
    """A writing session that commits (with its events) on success and rolls back on error."""
    async with db.session() as session:
        try:
            yield session
            await commit(session)
        except BaseException:
            await session.rollback()
            raise
