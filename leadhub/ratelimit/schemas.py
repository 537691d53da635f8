"""Wire shapes of the rate-limit policy."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Limit = Annotated[int, Field(ge=1, le=1_000_000_000)]


class PolicyIn(BaseModel):
    """Absent fields stay; ``null`` restores the configured default."""

    model_config = ConfigDict(extra="forbid")

    key_limit: Limit | None = Field(None, description="Requests per window for one API key")
    workspace_limit: Limit | None = Field(None, description="Requests per window for the whole workspace")
    window_seconds: Annotated[int, Field(ge=1, le=3600)] | None = Field(None, description="Window of both limits")
    daily_quota: Limit | None = Field(None, description="Requests per rolling day for the workspace")


class PolicyOut(BaseModel):
    key_limit: int
    workspace_limit: int
    window_seconds: int
    daily_quota: int
