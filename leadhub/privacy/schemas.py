"""Wire shapes of erasure, export, suppression and unsubscribe."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from leadhub.contacts.schemas import ContactOut
from leadhub.core.validation import TRIMMED
from leadhub.events.schemas import EventOut
from leadhub.webhooks.schemas import DeliveryOut

Identity = Annotated[str, StringConstraints(min_length=1, max_length=254)]


class ErasureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Identity | None = Field(None, description="Erase whoever holds this email")
    phone: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = Field(
        None, description="Erase whoever holds this phone (national numbers use the workspace's region)"
    )
    suppress: bool | None = Field(
        None, description="Put the emails/phones on the suppression list (default: LEADHUB_SUPPRESS_ERASED)"
    )


class ErasureOut(BaseModel):
    erased: list[str] = Field(description="Ids of the contacts erased")
    events_scrubbed: int = Field(description="Events whose payload and changes were blanked")
    suppressed: list[str] = Field(description="Suppression-list digests added")


class ExportOut(BaseModel):
    """Everything leadhub holds about one person."""

    exported_at: datetime
    contact: ContactOut
    events: list[EventOut]
    webhook_deliveries: list[DeliveryOut]


class SuppressionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Identity | None = None
    phone: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None


class SuppressionOut(BaseModel):
    digest: str = Field(description='SHA-256 hex of "email:<normalized address>" or "phone:<E.164 number>"')
    kind: Literal["email", "phone"]
    reason: str
    created_at: datetime


class SuppressionList(BaseModel):
    data: list[SuppressionOut]
    next_cursor: str | None
    has_more: bool


class UnsubscribeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: Annotated[str, StringConstraints(max_length=200), TRIMMED] | None = Field(
        None, description="Where the request came from (link, form, phone call, ...)"
    )
    text_version: Annotated[str, StringConstraints(max_length=100), TRIMMED] | None = None
