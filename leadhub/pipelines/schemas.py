"""Native wire shapes of a pipeline and its stages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from leadhub.core.validation import TRIMMED_NOT_BLANK, reject_nul

# The pattern admits no surrounding whitespace, so there is nothing to trim.
StageKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), TRIMMED_NOT_BLANK]
StageKind = Literal["open", "won", "lost"]
MAX_STAGES = 50


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return reject_nul(value)


class StageIn(_In):
    key: StageKey
    name: Name | None = Field(None, description="Label; default: the key")
    probability: Annotated[int, Field(ge=0, le=100)] = Field(description="Default win probability of deals here")
    kind: StageKind = Field("open", description="`won`/`lost` stages close the deals that enter them")


class PipelineIn(_In):
    """A pipeline; ``stages`` in order (a given list replaces the stages)."""

    name: Name | None = None
    key: StageKey | None = Field(None, description="Stable key; default: made from the name")
    stages: Annotated[list[StageIn], Field(min_length=1, max_length=MAX_STAGES)] | None = None


class StageOut(BaseModel):
    key: str
    name: str
    position: int
    probability: int
    kind: str


class PipelineOut(BaseModel):
    id: str
    key: str
    name: str
    is_default: bool
    stages: list[StageOut]
    created_at: datetime
    updated_at: datetime


class PipelineList(BaseModel):
    data: list[PipelineOut]
