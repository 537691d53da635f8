"""What a killed or stopped webhook dispatcher left behind in the outbox."""

from __future__ import annotations

from sqlalchemy import select

from leadhub.core import ids
from leadhub.db.engine import Database
from leadhub.webhooks.models import OPEN_STATES, Delivery


async def leased_by(db: Database, pid: int) -> set[str]:
    """Events whose delivery is still open under a lease taken by process ``pid`` (its claims: host:pid:…)."""
    async with db.read_session() as session:
        rows = await session.scalars(
            select(Delivery.event_id).where(Delivery.status.in_(OPEN_STATES), Delivery.locked_by.like(f"%:{pid}:%"))
        )
        return {ids.encode(ids.EVENT, e) for e in rows}
