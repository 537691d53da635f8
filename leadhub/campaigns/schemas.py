"""Native wire shapes of campaigns, prospects and the outreach queue. One input schema per resource
serves create and patch; services read ``model_fields_set`` to tell an absent field from a cleared one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from leadhub.campaigns.icp import MAX_CRITERIA, Criterion, Disqualifier
from leadhub.contacts.schemas import MAX_TEXT, CustomValue
from leadhub.core.validation import PADDED_WORD, TRIMMED, TRIMMED_NOT_BLANK, reject_nul

CampaignStatus = Literal["draft", "active", "paused", "archived"]
ProspectState = Literal["queued", "in_progress", "contacted", "replied", "meeting_booked", "disqualified"]
Outcome = Literal["contacted", "replied", "meeting_booked", "disqualified", "released"]
Short = Annotated[str, StringConstraints(max_length=200), TRIMMED]
Url = Annotated[str, StringConstraints(max_length=2048, pattern=PADDED_WORD), TRIMMED]
LongText = Annotated[str, StringConstraints(max_length=MAX_TEXT), TRIMMED]
Agent = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00]+$"), TRIMMED_NOT_BLANK]
DataKey = Annotated[str, StringConstraints(max_length=100), TRIMMED]
MAX_DATA_KEYS = 200
DEFAULT_CLAIM_TTL = 900


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return reject_nul(value)


def _bounded(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(value) > MAX_DATA_KEYS:
        raise ValueError(f"at most {MAX_DATA_KEYS} keys")
    return value


class CampaignIn(_In):
    """A campaign and its ideal customer profile. Changing ``criteria`` or ``disqualifiers`` re-scores
    every prospect of the campaign."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=200), TRIMMED_NOT_BLANK] | None = None
    description: LongText | None = None
    status: CampaignStatus | None = None
    criteria: Annotated[list[Criterion], Field(max_length=MAX_CRITERIA)] | None = None
    disqualifiers: Annotated[list[Disqualifier], Field(max_length=MAX_CRITERIA)] | None = None
    claim_ttl_seconds: Annotated[int, Field(ge=30, le=7 * 24 * 3600)] | None = Field(
        None, description=f"How long an agent's claim lasts (default {DEFAULT_CLAIM_TTL})"
    )


class CampaignCounts(BaseModel):
    queued: int = 0
    in_progress: int = 0
    contacted: int = 0
    replied: int = 0
    meeting_booked: int = 0
    disqualified: int = 0


class CampaignOut(BaseModel):
    id: str
    workspace_id: str
    name: str
    description: str | None
    status: str
    criteria: list[dict[str, Any]]
    disqualifiers: list[dict[str, Any]]
    claim_ttl_seconds: int
    created_at: datetime
    updated_at: datetime


class CampaignList(BaseModel):
    data: list[CampaignOut]
    next_cursor: str | None
    has_more: bool


class LeadContact(_In):
    """The person. ``name`` alone is split into parts; ``country`` may be a name or a code; ``phone`` may
    be national (read in the workspace's default region)."""

    name: Annotated[str, StringConstraints(max_length=400), TRIMMED] | None = None
    first_name: Short | None = None
    middle_name: Short | None = None
    last_name: Short | None = None
    email: Annotated[str, StringConstraints(max_length=320), TRIMMED] | None = None
    phone: Annotated[str, StringConstraints(min_length=1, max_length=40), TRIMMED_NOT_BLANK] | None = None
    title: Short | None = None
    country: Annotated[str, StringConstraints(max_length=100), TRIMMED] | None = None
    timezone: Annotated[str, StringConstraints(max_length=64), TRIMMED] | None = None
    city: Short | None = None
    state: Short | None = None
    linkedin_url: Url | None = None
    seniority: Annotated[str, StringConstraints(max_length=100), TRIMMED] | None = None
    department: Annotated[str, StringConstraints(max_length=100), TRIMMED] | None = None
    bio: LongText | None = None
    photo_url: Url | None = None


class LeadCompany(_In):
    """The company; found or created by ``domain`` (from the email when absent). ``signals`` are objects
    with a ``type``: ``hiring`` (is_hiring, open_roles), ``growth`` (employee_growth, revenue_growth),
    ``recent_funding`` (amount, date, round)."""

    name: Annotated[str, StringConstraints(max_length=300), TRIMMED] | None = None
    domain: Annotated[str, StringConstraints(max_length=2048), TRIMMED] | None = None
    website: Url | None = None
    linkedin_url: Url | None = None
    description: LongText | None = None
    industry: Short | None = None
    sub_industry: Short | None = None
    employee_count: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    employee_range: Annotated[str, StringConstraints(max_length=40), TRIMMED] | None = None
    annual_revenue: Annotated[int, Field(ge=0, le=10**15)] | None = None
    revenue_range: Annotated[str, StringConstraints(max_length=40), TRIMMED] | None = None
    founded_year: Annotated[int, Field(ge=1600, le=2200)] | None = None
    funding_stage: Annotated[str, StringConstraints(max_length=60), TRIMMED] | None = None
    headquarters: Annotated[str, StringConstraints(max_length=300), TRIMMED] | None = None
    country: Annotated[str, StringConstraints(max_length=100), TRIMMED] | None = None
    technologies: (
        Annotated[
            list[Annotated[str, StringConstraints(min_length=1, max_length=100), TRIMMED_NOT_BLANK]],
            Field(max_length=100),
        ]
        | None
    ) = None
    signals: Annotated[list[CustomValue], Field(max_length=100)] | None = None


class ProspectIn(_In):
    """Add a lead to a campaign: an existing ``contact_id``, or ``contact`` data (matched by email, then
    phone, else created). Adding a contact already in the campaign updates its prospect."""

    contact_id: Annotated[str, StringConstraints(max_length=64), TRIMMED] | None = None
    contact: LeadContact | None = None
    company: LeadCompany | None = None
    research_data: dict[DataKey, CustomValue] | None = None
    extra_context: dict[DataKey, CustomValue] | None = None
    custom_data: dict[DataKey, CustomValue] | None = None
    notes: LongText | None = None

    _bounded_research = field_validator("research_data", "extra_context", "custom_data")(_bounded)


class ProspectPatch(_In):
    """``research_data`` / ``extra_context`` / ``custom_data`` merge key by key (null deletes a key)."""

    research_data: dict[DataKey, CustomValue | None] | None = None
    extra_context: dict[DataKey, CustomValue | None] | None = None
    custom_data: dict[DataKey, CustomValue | None] | None = None
    notes: LongText | None = None
    seniority: Annotated[str, StringConstraints(max_length=100), TRIMMED] | None = None
    department: Annotated[str, StringConstraints(max_length=100), TRIMMED] | None = None

    _bounded_data = field_validator("research_data", "extra_context", "custom_data")(_bounded)


class ScoreOut(BaseModel):
    score: int = Field(description="Fit, 0-100: the matched share of the weight whose data is known")
    tier: str = Field(description="A (80+), B (60+), C (40+), D")
    confidence: int = Field(description="0-100: the share of the criteria weight whose data is known")
    breakdown: dict[str, Any]
    scored_at: datetime


class ClaimOut(BaseModel):
    agent: str
    token: str
    until: datetime


class ProspectOut(BaseModel):
    id: str
    campaign_id: str
    contact_id: str
    company_id: str | None
    state: str
    state_reason: str | None
    score: int
    tier: str
    confidence: int
    breakdown: dict[str, Any]
    profile: dict[str, Any]
    enriched: dict[str, Any]
    research_data: dict[str, Any]
    extra_context: dict[str, Any]
    custom_data: dict[str, Any]
    notes: str | None
    claim: ClaimOut | None
    claim_count: int
    meeting_at: datetime | None
    queued_at: datetime
    scored_at: datetime
    created_at: datetime
    updated_at: datetime


class ProspectList(BaseModel):
    data: list[ProspectOut]
    next_cursor: str | None
    has_more: bool


class AddedProspect(BaseModel):
    prospect: ProspectOut
    created: bool


class ClaimIn(_In):
    agent: Agent
    limit: Annotated[int, Field(ge=1, le=100)] = 1
    ttl_seconds: Annotated[int, Field(ge=30, le=7 * 24 * 3600)] | None = Field(
        None, description="Default: the campaign's claim_ttl_seconds"
    )


class ClaimList(BaseModel):
    data: list[ProspectOut]


class OutcomeIn(_In):
    """What an agent did with a prospect. ``released`` hands a claimed prospect back to the queue. While
    a prospect is claimed, only its claim's ``claim_token`` may report."""

    outcome: Outcome
    claim_token: Annotated[str, StringConstraints(max_length=64), TRIMMED] | None = None
    note: LongText | None = None
    meeting_at: datetime | None = None


class RescoreOut(BaseModel):
    rescored: int
    changed: int
