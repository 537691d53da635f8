"""Native wire shapes of a company. One input schema serves create and patch; the service reads
``model_fields_set`` to tell an absent field from a cleared one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from leadhub.companies.domains import Domain
from leadhub.contacts.schemas import CustomValue
from leadhub.core.money import Currency
from leadhub.core.validation import PADDED_WORD, TRIMMED, TRIMMED_NOT_BLANK, Country, reject_nul

Short = Annotated[str, StringConstraints(max_length=200), TRIMMED]
Technology = Annotated[str, StringConstraints(min_length=1, max_length=100), TRIMMED_NOT_BLANK]
MAX_LIST = 100


class CompanyIn(BaseModel):
    """``domain`` may be given as a domain, a URL or an email; without it, it comes from ``website``."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=300), TRIMMED_NOT_BLANK] | None = None
    domain: Domain | None = None
    website: Annotated[str, StringConstraints(max_length=2048, pattern=PADDED_WORD), TRIMMED] | None = None
    industry: Short | None = None
    sub_industry: Short | None = None
    employee_count: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    employee_range: Annotated[str, StringConstraints(max_length=40), TRIMMED] | None = None
    annual_revenue: Annotated[int, Field(ge=0, le=10**15)] | None = Field(
        None, description="Whole units of revenue_currency"
    )
    revenue_currency: Currency | None = None
    revenue_range: Annotated[str, StringConstraints(max_length=40), TRIMMED] | None = None
    founded_year: Annotated[int, Field(ge=1600, le=2200)] | None = None
    funding_stage: Annotated[str, StringConstraints(max_length=60), TRIMMED] | None = None
    headquarters: Annotated[str, StringConstraints(max_length=300), TRIMMED] | None = None
    country: Country | None = None
    technologies: Annotated[list[Technology], Field(max_length=MAX_LIST)] | None = None
    signals: Annotated[list[CustomValue], Field(max_length=MAX_LIST)] | None = None

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return reject_nul(value)


class CompanyOut(BaseModel):
    id: str
    name: str
    domain: str | None
    website: str | None
    industry: str | None
    sub_industry: str | None
    employee_count: int | None
    employee_range: str | None
    annual_revenue: int | None
    revenue_currency: str | None
    revenue_range: str | None
    founded_year: int | None
    funding_stage: str | None
    headquarters: str | None
    country: str | None
    technologies: list[str]
    signals: list[Any]
    created_at: datetime
    updated_at: datetime


class CompanyList(BaseModel):
    data: list[CompanyOut]
    next_cursor: str | None
    has_more: bool
