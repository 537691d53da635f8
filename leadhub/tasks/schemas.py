"""Native wire shapes of a task. ``overdue`` is computed when the task is read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from leadhub.contacts.schemas import MAX_CUSTOM_FIELDS, CustomKey, CustomValue
from leadhub.core.validation import TRIMMED, TRIMMED_NOT_BLANK, Trimmed, UtcDateTime, reject_nul

STATUSES = ("pending", "completed")
Status = Literal["pending", "completed"]


class TaskIn(BaseModel):
    """A task as a door hands it to the service; absent fields stay on update."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(min_length=1, max_length=300), TRIMMED_NOT_BLANK] | None = None
    description: Annotated[str, StringConstraints(max_length=20_000), TRIMMED] | None = None
    due_at: UtcDateTime | None = Field(None, description="When it is due (ISO 8601; no offset means UTC)")
    status: Status | None = None
    assignee: Annotated[str, StringConstraints(max_length=100), TRIMMED] | None = None
    deal_id: Trimmed | None = Field(None, description="`deal_…` or the deal's UUID")
    contact_id: Trimmed | None = Field(None, description="`con_…` or the contact's UUID")
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


class TaskOut(BaseModel):
    id: str
    title: str
    description: str | None
    due_at: datetime | None
    status: str
    overdue: bool = Field(description="Pending and past due, by the server's clock at the time of reading")
    completed_at: datetime | None
    assignee: str | None
    deal_id: str | None
    contact_id: str | None
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class TaskList(BaseModel):
    data: list[TaskOut]
    next_cursor: str | None
    has_more: bool
