"""Re-scoring prospects when the data they were scored on changes through any door (a contact or company
edited by the API, a dialect, the web app or an import). The unit of work runs it just before it writes
the transaction's events, so the new scores and their events commit together with the change."""

from __future__ import annotations

import uuid

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.campaigns import service
from leadhub.campaigns.models import Campaign, Prospect
from leadhub.events import service as events

# Changes that can move a score: the person's fields, or their company's firmographics.
_CONTACT_CHANGES = {"contact.updated"}
_COMPANY_CHANGES = {"company.updated"}


async def rescore_changed(session: AsyncSession) -> int:
    """Re-score the prospects of contacts and companies changed in this transaction; how many moved."""
    changed_contacts: dict[uuid.UUID, set[uuid.UUID]] = {}
    changed_companies: dict[uuid.UUID, set[uuid.UUID]] = {}
    actors: dict[uuid.UUID, Actor] = {}
    for event in events.pending(session):
        if event.type in _CONTACT_CHANGES and event.contact_id is not None:
            changed_contacts.setdefault(event.workspace_id, set()).add(event.contact_id)
        elif event.type in _COMPANY_CHANGES and event.resource_id is not None:
            changed_companies.setdefault(event.workspace_id, set()).add(event.resource_id)
        else:
            continue
        actors.setdefault(event.workspace_id, event.actor)
    moved = 0
    for workspace_id, actor in actors.items():
        contact_ids = changed_contacts.get(workspace_id, set())
        company_ids = changed_companies.get(workspace_id, set())
        rows = (
            await session.execute(
                select(Prospect, Campaign)
                .join(
                    Campaign, and_(Campaign.workspace_id == Prospect.workspace_id, Campaign.id == Prospect.campaign_id)
                )
                .where(
                    Prospect.workspace_id == workspace_id,
                    or_(Prospect.contact_id.in_(contact_ids), Prospect.company_id.in_(company_ids)),
                    Campaign.status != "archived",
                )
                .order_by(Prospect.id)
            )
        ).all()
        if not rows:
            continue
        workspace = await session.get(Workspace, workspace_id)
        assert workspace is not None
        for prospect, campaign in rows:
            moved += await service.rescore(session, workspace, actor, campaign, prospect, reason="data_changed")
    if moved:
        await session.flush()
    return moved
