"""Native wire shapes of a contact (snake_case). One input schema serves create, patch and upsert: what
differs is only what an absent field means, which the service decides from ``model_fields_set``."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError, to_json

from leadhub.core.validation import (
    PADDED_WORD,
    TRIMMED,
    TRIMMED_NOT_BLANK,
    Country,
    Email,
    FlexibleDate,
    TimeZone,
    UtcDateTime,
    reject_nul,
)

STATUSES = ("new", "contacted", "qualified", "converted", "lost", "follow_up")
DND_CHANNELS = ("call", "email", "sms", "whatsapp", "gmb", "fb")
EMAIL_TYPES = ("work", "personal", "other")
PHONE_TYPES = ("mobile", "work", "home", "main", "fax", "other")
MAX_EMAILS = 20
MAX_PHONES = 20
MAX_TAGS = 100
MAX_CUSTOM_FIELDS = 200
# An untyped custom-field value is stored as given; these bounds keep it a value, not a document (a deeply
# nested one also broke serialization of the answer: a 500).
MAX_CUSTOM_VALUE_BYTES = 20_000
MAX_CUSTOM_VALUE_DEPTH = 8
MAX_TEXT = 20_000

Status = Literal["new", "contacted", "qualified", "converted", "lost", "follow_up"]
Short = Annotated[str, StringConstraints(max_length=200), TRIMMED]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=100), TRIMMED_NOT_BLANK]
LongText = Annotated[str, StringConstraints(max_length=MAX_TEXT), TRIMMED]
CustomKey = Annotated[str, StringConstraints(min_length=1, max_length=100), TRIMMED_NOT_BLANK]


def _nests_deeper(value: Any, levels: int) -> bool:
    """True when ``value`` nests lists/objects more than ``levels`` deep (stops looking past the limit)."""
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
    if children is None:
        return False
    return levels == 0 or any(_nests_deeper(child, levels - 1) for child in children)


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return any(_has_non_finite(child) for child in children)


def _bounded_value(value: Any) -> Any:
    if _nests_deeper(value, MAX_CUSTOM_VALUE_DEPTH):
        raise PydanticCustomError("max_depth", f"must nest at most {MAX_CUSTOM_VALUE_DEPTH} levels of lists or objects")
    # JSON has no NaN or Infinity (PostgreSQL's jsonb refuses them), though the parser lets them through.
    if _has_non_finite(value):
        raise PydanticCustomError("finite_number", "numbers must be finite")
    if len(to_json(value)) > MAX_CUSTOM_VALUE_BYTES:
        raise PydanticCustomError("max_length", f"must be at most {MAX_CUSTOM_VALUE_BYTES} bytes as JSON")
    return value


CustomValue = Annotated[Any, AfterValidator(_bounded_value)]


def _past_date(value: date) -> date:
    if value.year < 1900 or value > date.today():
        raise ValueError("must be a date between 1900-01-01 and today")
    return value


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return reject_nul(value)


class EmailIn(_In):
    address: Email
    type: Literal["work", "personal", "other"] = "other"
    primary: bool = False


class PhoneIn(_In):
    # Normalized to E.164 by the service, which knows the workspace's default region.
    number: Annotated[str, StringConstraints(min_length=1, max_length=40), TRIMMED_NOT_BLANK]
    type: Literal["mobile", "work", "home", "main", "fax", "other"] = "other"
    primary: bool = False


class AddressIn(_In):
    line1: Annotated[str, StringConstraints(max_length=300), TRIMMED] | None = None
    line2: Annotated[str, StringConstraints(max_length=300), TRIMMED] | None = None
    city: Short | None = None
    state: Short | None = None
    postal_code: Annotated[str, StringConstraints(max_length=40), TRIMMED] | None = None
    country: Country | None = None


class DndChannel(_In):
    status: Literal["active", "inactive", "permanent"]
    message: Annotated[str, StringConstraints(max_length=500), TRIMMED] | None = None
    code: Annotated[str, StringConstraints(max_length=100), TRIMMED] | None = None


class DndSettings(_In):
    call: DndChannel | None = None
    email: DndChannel | None = None
    sms: DndChannel | None = None
    whatsapp: DndChannel | None = None
    gmb: DndChannel | None = None
    fb: DndChannel | None = None


class ConsentEntry(_In):
    granted: bool
    source: Short | None = None
    recorded_at: datetime | None = None
    text_version: Annotated[str, StringConstraints(max_length=100), TRIMMED] | None = None


class ContactIn(_In):
    """A contact as a door hands it to the service. ``email``/``phone`` are shorthands for one entry of
    ``emails``/``phones``; ``name`` alone is split into parts with a name parser."""

    first_name: Short | None = None
    middle_name: Short | None = None
    last_name: Short | None = None
    name: Annotated[str, StringConstraints(max_length=400), TRIMMED] | None = None
    email: Email | None = None
    phone: Annotated[str, StringConstraints(min_length=1, max_length=40), TRIMMED_NOT_BLANK] | None = None
    emails: Annotated[list[EmailIn], Field(max_length=MAX_EMAILS)] | None = None
    phones: Annotated[list[PhoneIn], Field(max_length=MAX_PHONES)] | None = None
    company_name: Annotated[str, StringConstraints(max_length=300), TRIMMED] | None = None
    company_id: Annotated[str, StringConstraints(max_length=64), TRIMMED] | None = None
    title: Short | None = None
    website: Annotated[str, StringConstraints(max_length=2048, pattern=PADDED_WORD), TRIMMED] | None = None
    address: AddressIn | None = None
    country: Country | None = None
    timezone: TimeZone | None = None
    date_of_birth: Annotated[FlexibleDate, AfterValidator(_past_date)] | None = None
    source: Short | None = None
    status: Status | None = None
    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS)] | None = None
    custom_fields: dict[CustomKey, CustomValue] | None = None
    dnd: bool | None = None
    dnd_settings: DndSettings | None = None
    # Per purpose; null deletes a purpose, as in every other object of a patch.
    consent: (
        dict[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")], ConsentEntry | None] | None
    ) = None
    is_test: bool | None = None
    user_knowledge: LongText | None = None
    notes: LongText | None = None
    assigned_to: Annotated[str, StringConstraints(max_length=100), TRIMMED] | None = None
    first_seen: UtcDateTime | None = None
    last_seen: UtcDateTime | None = None
    session_count: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None

    @field_validator("custom_fields")
    @classmethod
    def _bounded_custom_fields(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(value) > MAX_CUSTOM_FIELDS:
            raise ValueError(f"at most {MAX_CUSTOM_FIELDS} custom fields")
        return value


class EmailOut(BaseModel):
    address: str
    type: str
    primary: bool


class PhoneOut(BaseModel):
    number: str
    type: str
    primary: bool


class AddressOut(BaseModel):
    line1: str | None
    line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    country: str | None


class ContactOut(BaseModel):
    id: str
    first_name: str | None
    middle_name: str | None
    last_name: str | None
    name: str | None
    emails: list[EmailOut]
    phones: list[PhoneOut]
    company_name: str | None
    company_id: str | None = None
    title: str | None
    website: str | None
    address: AddressOut | None
    country: str | None
    timezone: str | None
    date_of_birth: date | None
    source: str | None
    status: str
    tags: list[str]
    custom_fields: dict[str, Any]
    dnd: bool
    dnd_settings: dict[str, Any]
    consent: dict[str, Any]
    is_test: bool
    user_knowledge: str | None
    notes: str | None
    assigned_to: str | None
    first_seen: datetime | None
    last_seen: datetime | None
    session_count: int
    created_at: datetime
    updated_at: datetime


class ContactList(BaseModel):
    data: list[ContactOut]
    next_cursor: str | None
    has_more: bool


class TagsIn(_In):
    tags: Annotated[list[Tag], Field(min_length=1, max_length=MAX_TAGS)]


class BatchIn(BaseModel):
    """Up to 1,000 contacts; each is validated and answered on its own."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["create", "upsert"] = "upsert"
    items: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=1000)]


class BatchItemError(BaseModel):
    code: str
    message: str
    errors: list[dict[str, Any]] = []
    existing_id: str | None = None


class BatchItemResult(BaseModel):
    index: int
    status: Literal["created", "updated", "error"]
    id: str | None = None
    error: BatchItemError | None = None


class BatchOut(BaseModel):
    results: list[BatchItemResult]
    created: int
    updated: int
    failed: int
