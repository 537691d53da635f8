from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from leadhub.core.validation import TRIMMED_NOT_BLANK, reject_nul

FIELD_TYPES = ("text", "number", "date", "boolean", "select", "multiselect")
FieldType = Literal["text", "number", "date", "boolean", "select", "multiselect"]
# The pattern admits no surrounding whitespace, so there is nothing to trim.
Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=200), TRIMMED_NOT_BLANK]
Option = Annotated[str, StringConstraints(min_length=1, max_length=200), TRIMMED_NOT_BLANK]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return reject_nul(value)


class CustomFieldCreate(_In):
    key: Key
    label: Label
    type: FieldType
    options: Annotated[list[Option], Field(max_length=500)] = []


class CustomFieldPatch(_In):
    label: Label | None = None
    type: FieldType | None = None
    options: Annotated[list[Option], Field(max_length=500)] | None = None


class CustomFieldOut(BaseModel):
    id: str
    key: str
    label: str
    type: str
    options: list[str]
    created_at: datetime
    updated_at: datetime


class CustomFieldList(BaseModel):
    data: list[CustomFieldOut]
