"""Native wire shapes of a deal. Amounts are decimal strings (``"75000.00"``, with the currency's
minor-unit digits); input takes a decimal string or an integer, never a binary float."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from leadhub.contacts.schemas import MAX_CUSTOM_FIELDS, CustomKey, CustomValue
from leadhub.core.money import Currency
from leadhub.core.validation import TRIMMED, TRIMMED_NOT_BLANK, FlexibleDate, Trimmed, reject_nul

STATUSES = ("active", "inactive", "converted", "lost")
Status = Literal["active", "inactive", "converted", "lost"]
Short = Annotated[str, StringConstraints(max_length=200), TRIMMED]


def _amount(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PydanticCustomError(
            "decimal_string", 'must be a decimal string or an integer, e.g. "1250.50" (floats would lose cents)'
        )
    return str(value)


# The length rule before the conversion in the annotation, so pydantic checks it as a string rule ("at most 40
# characters"); after it, the rule was a generic length ("at most 40 items").
Amount = Annotated[str, StringConstraints(max_length=40), BeforeValidator(_amount), TRIMMED]


class DealIn(BaseModel):
    """A deal as a door hands it to the service; absent fields stay on update."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=300), TRIMMED_NOT_BLANK] | None = None
    source: Short | None = None
    company_id: Trimmed | None = Field(None, description="`cmp_…` or the company's UUID")
    contact_id: Trimmed | None = Field(None, description="`con_…` or the contact's UUID")
    value: Amount | None = Field(None, description='Decimal string, e.g. "75000.00"')
    currency: Currency | None = Field(None, description="ISO 4217; default USD")
    pipeline_id: Trimmed | None = Field(None, description="`pipe_…`; default: the workspace's default pipeline")
    stage: Annotated[str, StringConstraints(min_length=1, max_length=60), TRIMMED_NOT_BLANK] | None = None
    probability: Annotated[int, Field(ge=0, le=100)] | None = Field(None, description="Default: the stage's")
    status: Status | None = None
    expected_close_date: FlexibleDate | None = None
    owner: Annotated[str, StringConstraints(max_length=100), TRIMMED] | None = None
    notes: Annotated[str, StringConstraints(max_length=20_000), TRIMMED] | None = None
    custom_fields: dict[CustomKey, CustomValue | None] | None = Field(
        None, description="Merged key by key; null deletes a key"
    )

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return reject_nul(value)

    @field_validator("custom_fields")
    @classmethod
    def _bounded(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(value) > MAX_CUSTOM_FIELDS:
            raise ValueError(f"at most {MAX_CUSTOM_FIELDS} custom fields")
        return value


class DealOut(BaseModel):
    id: str
    name: str
    source: str | None
    company_id: str | None
    contact_id: str | None
    value: str | None
    currency: str
    pipeline_id: str
    stage: str
    stage_entered_at: datetime
    probability: int
    status: str
    expected_close_date: date | None
    owner: str | None
    notes: str | None
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class DealList(BaseModel):
    data: list[DealOut]
    next_cursor: str | None
    has_more: bool


class CurrencyTotal(BaseModel):
    currency: str
    total: str
    weighted: str = Field(description="Σ value * probability / 100, rounded half-up to the currency's minor unit")


class StageSummary(BaseModel):
    key: str
    name: str
    position: int
    probability: int
    kind: str
    count: int
    totals: list[CurrencyTotal]


class PipelineSummary(BaseModel):
    pipeline_id: str
    count: int
    stages: list[StageSummary]
    totals: list[CurrencyTotal]


class StageVisit(BaseModel):
    stage: str
    entered_at: datetime
    left_at: datetime | None
    seconds: float = Field(description="Time spent in the stage (up to now for the current stage)")


class StageHistory(BaseModel):
    deal_id: str
    visits: list[StageVisit]
