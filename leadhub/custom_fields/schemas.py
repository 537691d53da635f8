from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

FIELD_TYPES = ("text", "number", "date", "boolean", "select", "multiselect")
FieldType = Literal["text", "number", "date", "boolean", "select", "multiselect"]
Key = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Option = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class CustomFieldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Key
    label: Label
    type: FieldType
    options: Annotated[list[Option], Field(max_length=500)] = []


class CustomFieldPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
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
