"""Native wire shapes of /v1/webhooks. Secrets appear only in ``EndpointCreated`` and ``SecretOut``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from leadhub.core.validation import TRIMMED, TRIMMED_NOT_BLANK

# The pattern admits no surrounding whitespace, so there is nothing to trim.
EventPattern = Annotated[
    str, StringConstraints(max_length=64, pattern=r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$")
]
FlowName = Annotated[str, StringConstraints(min_length=1, max_length=200), TRIMMED_NOT_BLANK]
Url = Annotated[str, StringConstraints(min_length=1, max_length=2048), TRIMMED_NOT_BLANK]
Description = Annotated[str, StringConstraints(max_length=500), TRIMMED]
EventTypes = Annotated[
    list[EventPattern],
    Field(min_length=1, max_length=50, description="Exact types, prefixes like `contact.*`, or `*` for all"),
]
FlowNames = Annotated[
    list[FlowName], Field(max_length=50, description="Deliver `flow.triggered` only for these flow names")
]
DeliveryStatus = Literal["pending", "retrying", "succeeded", "failed"]


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Url
    description: Description | None = None
    event_types: EventTypes = Field(default_factory=lambda: ["*"])
    flow_names: FlowNames | None = None
    enabled: bool = True


class EndpointPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Url | None = None
    description: Description | None = None
    event_types: EventTypes | None = None
    flow_names: FlowNames | None = None
    enabled: bool | None = None


class EndpointOut(BaseModel):
    id: str
    url: str
    description: str | None
    event_types: list[str]
    flow_names: list[str] | None
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointOut):
    secret: str = Field(description="Signing secret; shown only now and on rotation")


class EndpointList(BaseModel):
    data: list[EndpointOut]
    next_cursor: str | None
    has_more: bool


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grace_period_hours: Annotated[
        float, Field(ge=0, le=168, description="How long the previous secret keeps signing too")
    ] = 24


class SecretOut(BaseModel):
    id: str
    secret: str
    previous_secret_expires_at: datetime | None


class AttemptOut(BaseModel):
    id: str
    attempted_at: datetime
    url: str
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None


class DeliveryOut(BaseModel):
    id: str
    endpoint_id: str
    event_id: str
    event_seq: int
    event_type: str
    contact_id: str | None
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class DeliveryDetail(DeliveryOut):
    payload: dict[str, Any]
    attempts: list[AttemptOut]


class DeliveryList(BaseModel):
    data: list[DeliveryOut]
    next_cursor: str | None
    has_more: bool


class ReplayRangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: datetime
    until: datetime | None = None
    status: Literal["failed", "all"] = Field(
        "failed", description="`failed`: resend failed deliveries and missing ones; `all`: succeeded ones too"
    )


class ReplayRangeOut(BaseModel):
    replayed: int
    created: int


class TestEventOut(BaseModel):
    event_id: str
    endpoint_id: str
