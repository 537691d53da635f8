"""The outreach queue: agents claim the next prospects atomically and report what came of them.

A claim takes queued prospects in queue order (best score, then longest waiting) and holds them for the
claim's time to live. Atomicity: on PostgreSQL the candidate rows are locked ``FOR UPDATE SKIP LOCKED``,
so concurrent claimers pass over each other's rows instead of waiting or double-taking; on SQLite every
writing transaction begins IMMEDIATE, so claims run one at a time. A claim that expires returns its
prospect to the queue: the next claim takes it again (recording the return), and the late agent's token
no longer reports.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.campaigns.models import Prospect
from leadhub.campaigns.schemas import ClaimIn, OutcomeIn
from leadhub.campaigns.service import change_state, get_campaign, get_prospect, record_prospect
from leadhub.core import clock
from leadhub.core.errors import DomainError

# Which outcome may follow which state. ``released`` hands a claimed prospect back to the queue.
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "contacted": ("queued", "in_progress"),
    "replied": ("queued", "in_progress", "contacted"),
    "meeting_booked": ("queued", "in_progress", "contacted", "replied"),
    "disqualified": ("queued", "in_progress", "contacted", "replied"),
    "released": ("in_progress",),
}


class CampaignNotActive(DomainError):
    status = 409
    code = "campaign_not_active"
    title = "Campaign not active"


class InvalidTransition(DomainError):
    status = 409
    code = "invalid_transition"
    title = "Invalid state transition"


class ClaimMismatch(DomainError):
    status = 409
    code = "claim_mismatch"
    title = "Not the current claim"


async def claim(session: AsyncSession, ws: Workspace, actor: Actor, campaign_id: str, data: ClaimIn) -> list[Prospect]:
    """Hand the next ``data.limit`` prospects of an active campaign to ``data.agent``; none twice."""
    campaign = await get_campaign(session, ws, campaign_id)
    if campaign.status != "active":
        raise CampaignNotActive(f"The campaign is {campaign.status}: only an active campaign hands out prospects")
    now = clock.now()
    ttl = timedelta(seconds=data.ttl_seconds or campaign.claim_ttl_seconds)
    stmt = (
        select(Prospect)
        .where(
            Prospect.workspace_id == ws.id,
            Prospect.campaign_id == campaign.id,
            or_(
                Prospect.state == "queued",
                and_(Prospect.state == "in_progress", Prospect.claimed_until < now),
            ),
        )
        .order_by(Prospect.score.desc(), Prospect.queued_at, Prospect.id)
        .limit(data.limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    taken = list((await session.scalars(stmt)).all())
    for prospect in taken:
        if prospect.state == "in_progress":
            previous = prospect.claimed_by
            change_state(session, actor, prospect, "queued", "claim_expired", agent=previous)
        prospect.claimed_by = data.agent
        prospect.claim_token = uuid.uuid4()
        prospect.claimed_until = now + ttl
        prospect.claim_count += 1
        change_state(session, actor, prospect, "in_progress", "claimed", agent=data.agent)
    await session.flush()
    return taken


async def report(
    session: AsyncSession, ws: Workspace, actor: Actor, campaign_id: str, prospect_id: str, data: OutcomeIn
) -> Prospect:
    """Record what an agent did. While a prospect is claimed only that claim's token may report; a claim
    another agent has since taken (after expiry) is refused."""
    prospect = await get_prospect(session, ws, campaign_id, prospect_id, lock=True)
    target = "queued" if data.outcome == "released" else data.outcome
    if prospect.state not in ALLOWED_FROM[data.outcome]:
        raise InvalidTransition(f"A prospect in state '{prospect.state}' cannot be reported '{data.outcome}'")
    if prospect.state == "in_progress":
        if data.claim_token is None:
            raise ClaimMismatch("This prospect is claimed: report with its claim_token")
        if data.claim_token != str(prospect.claim_token):
            raise ClaimMismatch("This claim_token is not the prospect's current claim (it expired and was re-claimed)")
    agent = prospect.claimed_by
    if data.note is not None:
        prospect.last_outcome_note = data.note
    if data.outcome == "meeting_booked" and data.meeting_at is not None:
        prospect.meeting_at = data.meeting_at
    reason = "released" if data.outcome == "released" else "reported"
    change_state(session, actor, prospect, target, reason, agent=agent, note=data.note)
    if data.outcome in ("replied", "meeting_booked"):
        record_prospect(
            session,
            actor,
            prospect,
            f"prospect.{data.outcome}",
            extra={"agent": agent, "note": data.note},
        )
    await session.flush()
    return prospect
