"""The unit of work every door uses: one transaction, its events and their webhook outbox rows written
just before commit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.campaigns.rescoring import rescore_changed
from leadhub.db.engine import Database
from leadhub.events import service as events
from leadhub.webhooks import outbox

# A session flagged so (``skip_outbox``) still writes its events, but enqueues no webhook deliveries for
# them: a bulk import's per-row events reach subscribers only when the import opts in.
SKIP_OUTBOX = "leadhub_skip_outbox"


def skip_outbox(session: AsyncSession) -> None:
    """Events of this session's transactions are recorded but not delivered to webhook subscribers."""
    session.info[SKIP_OUTBOX] = True


async def commit(session: AsyncSession) -> None:
    """Re-score prospects whose data changed, write the transaction's queued events and their deliveries,
    then commit all of it together."""
    await rescore_changed(session)
    if session.info.get(SKIP_OUTBOX):
        await events.flush(session)
    else:
        await outbox.flush_and_enqueue(session)
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
