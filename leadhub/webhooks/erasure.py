"""Erasure support for the webhook tables: what a subscriber answered (the attempt excerpt) may quote
the person's data back, so it is blanked for every delivery about an erased contact. Delivery request
bodies are not stored: they are built from the (scrubbed) event when sent."""

from __future__ import annotations

import uuid

from sqlalchemy import null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.webhooks.models import Attempt, Delivery


async def blank_contact(session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID) -> int:
    """Blank the response excerpts and errors of attempts at deliveries about ``contact_id``; the count."""
    deliveries = select(Delivery.id).where(Delivery.workspace_id == workspace_id, Delivery.contact_id == contact_id)
    result = await session.execute(
        update(Attempt)
        .where(Attempt.workspace_id == workspace_id, Attempt.delivery_id.in_(deliveries))
        .values(response_excerpt=null())
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Delivery)
        .where(Delivery.workspace_id == workspace_id, Delivery.contact_id == contact_id)
        .values(last_error=null())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
