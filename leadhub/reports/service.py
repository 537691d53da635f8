"""Dashboard aggregates. Each is one grouped query over indexed columns, so the dashboard stays fast on
large workspaces (no rows are fetched, only counts)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from leadhub.contacts.models import Contact
from leadhub.webhooks.models import Delivery

# The funnel's stages in order; a lead counts at every stage up to the one it has reached.
FUNNEL = ("new", "contacted", "qualified", "converted")
# Statuses that imply a stage was reached (a lead to follow up has been contacted; "lost" says nothing).
_REACHED = {
    "new": None,
    "contacted": ("contacted", "follow_up", "qualified", "converted"),
    "qualified": ("qualified", "converted"),
    "converted": ("converted",),
}


@dataclass(frozen=True)
class DayCount:
    day: date
    source: str | None
    count: int


def _day_of(column: InstrumentedAttribute[datetime], dialect: str) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp column, as YYYY-MM-DD text, computed in the database."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    # SQLite stores UTC as fixed-format text (leadhub.db.types.UTCDateTime): the day is its first 10 characters.
    return func.substr(column, 1, 10)


async def new_leads_per_day(
    session: AsyncSession, workspace_id: uuid.UUID, now: datetime, days: int = 30
) -> list[DayCount]:
    """Leads created on each of the last ``days`` UTC days (today included), by source."""
    start = datetime.combine((now - timedelta(days=days - 1)).date(), datetime.min.time(), tzinfo=now.tzinfo)
    day = _day_of(Contact.created_at, session.get_bind().dialect.name).label("day")
    stmt = (
        select(day, Contact.source, func.count())
        .where(Contact.workspace_id == workspace_id, Contact.created_at >= start)
        .group_by(day, Contact.source)
    )
    return [DayCount(date.fromisoformat(d), source, int(n)) for d, source, n in await session.execute(stmt)]


async def funnel(session: AsyncSession, workspace_id: uuid.UUID) -> list[tuple[str, int]]:
    """How many leads reached each funnel stage (or a later one)."""
    stmt = select(Contact.status, func.count()).where(Contact.workspace_id == workspace_id).group_by(Contact.status)
    by_status = {status: int(n) for status, n in await session.execute(stmt)}
    total = sum(by_status.values())
    result = []
    for stage in FUNNEL:
        statuses = _REACHED[stage]
        result.append((stage, total if statuses is None else sum(by_status.get(s, 0) for s in statuses)))
    return result


async def delivery_health(session: AsyncSession, workspace_id: uuid.UUID, now: datetime) -> dict[str, int]:
    """Webhook deliveries created in the last 24 hours, by status."""
    stmt = (
        select(Delivery.status, func.count())
        .where(Delivery.workspace_id == workspace_id, Delivery.created_at >= now - timedelta(hours=24))
        .group_by(Delivery.status)
    )
    return {status: int(n) for status, n in await session.execute(stmt)}
