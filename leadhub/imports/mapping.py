"""Column mapping: which contact field each column fills. Detected from common header names (any case,
spacing or punctuation), overridable per import, and saved per workspace under the header signature so
the next file with the same columns reuses it."""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.contacts.schemas import ContactIn
from leadhub.core import clock
from leadhub.core.errors import FieldError, Invalid
from leadhub.http.errors import pydantic_errors
from leadhub.imports.models import ImportMapping

IGNORE = "ignore"
CUSTOM_PREFIX = "custom_fields."
_TAG_SPLIT = re.compile(r"[,;|]")
_NOT_WORD = re.compile(r"[^a-z0-9]+")

# Normalized header (lower-case letters and digits only) → target field.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "first_name": ("firstname", "first", "givenname", "fname", "forename"),
    "middle_name": ("middlename", "middle", "middleinitial"),
    "last_name": ("lastname", "last", "surname", "familyname", "lname"),
    "name": ("name", "fullname", "contactname", "contact", "displayname", "leadname"),
    "email": ("email", "emailaddress", "mail", "primaryemail", "workemail", "emailaddr", "businessemail"),
    "phone": (
        "phone",
        "phonenumber",
        "telephone",
        "tel",
        "telephonenumber",
        "mobile",
        "mobilephone",
        "mobilenumber",
        "cell",
        "cellphone",
        "primaryphone",
        "workphone",
        "businessphone",
    ),
    "company_name": ("company", "companyname", "organization", "organisation", "account", "accountname", "employer"),
    "title": ("title", "jobtitle", "position", "role"),
    "website": ("website", "url", "web", "homepage", "websiteurl"),
    "address.line1": ("address", "address1", "addressline1", "street", "streetaddress"),
    "address.line2": ("address2", "addressline2"),
    "address.city": ("city", "town"),
    "address.state": ("state", "province", "region", "stateprovince", "county"),
    "address.postal_code": ("zip", "zipcode", "postalcode", "postcode"),
    "country": ("country", "countrycode"),
    "timezone": ("timezone", "tz"),
    "date_of_birth": ("dateofbirth", "dob", "birthday", "birthdate"),
    "source": ("source", "leadsource"),
    "status": ("status", "leadstatus"),
    "tags": ("tags", "tag", "labels"),
    "notes": ("notes", "note", "comments", "comment", "description"),
    "assigned_to": ("owner", "assignedto", "assignee", "contactowner"),
    "dnd": ("dnd", "donotdisturb", "donotcontact"),
}
_BY_HEADER = {alias: target for target, aliases in _SYNONYMS.items() for alias in aliases}
# Fields of the contact schema a JSON Lines key may name as they are (nested values allowed).
_DIRECT = set(ContactIn.model_fields) - {"company_id"}
_ADDRESS_PARTS = ("line1", "line2", "city", "state", "postal_code", "country")
TARGETS = (
    set(_SYNONYMS)
    | _DIRECT
    | {f"address.{a}" for a in _ADDRESS_PARTS}
    | {
        IGNORE,
    }
)


def normalized(header: str) -> str:
    return _NOT_WORD.sub("", header.lower())


def custom_key(header: str) -> str:
    """The custom-field key an unmapped column lands in: ``Favourite Colour`` → ``favourite_colour``."""
    return _NOT_WORD.sub("_", header.lower()).strip("_")[:100] or "column"


def detect(headers: list[str]) -> dict[str, str]:
    """Header → target for every header recognised; the first column claiming a target wins it."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        key = normalized(header)
        exact = (
            header
            if header in TARGETS or (header.startswith(CUSTOM_PREFIX) and len(header) > len(CUSTOM_PREFIX))
            else None
        )
        target = exact or _BY_HEADER.get(key) or _BY_HEADER.get(key.rstrip("s"))
        if target and target not in taken:
            mapping[header] = target
            taken.add(target)
    return mapping


def signature(headers: list[str]) -> str:
    return hashlib.sha256("\x1f".join(headers).encode()).hexdigest()


def check(override: dict[str, Any]) -> dict[str, str]:
    """An override as given by a client: header → target, each target known; Invalid naming the header."""
    errors = []
    result: dict[str, str] = {}
    for header, target in override.items():
        if target is None:
            target = IGNORE
        if not isinstance(target, str) or not (
            target in TARGETS or (target.startswith(CUSTOM_PREFIX) and len(target) > len(CUSTOM_PREFIX))
        ):
            errors.append(
                FieldError(
                    f"mapping.{header}", "target", "must name a contact field, custom_fields.<key> or ignore", "string"
                )
            )
        else:
            result[str(header)] = target
    if errors:
        raise Invalid(errors)
    return result


async def resolve(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    headers: list[str],
    override: dict[str, Any] | None,
    unmapped_to_custom: bool | None,
) -> tuple[dict[str, str], bool]:
    """The mapping for these headers: detected, then the workspace's saved one for the same header
    signature, then the override; saved again when an override was given. Returns (mapping, unmapped_to_custom)."""
    mapping = detect(headers)
    saved = await session.get(ImportMapping, (workspace_id, signature(headers)))
    custom = bool(unmapped_to_custom)
    if saved is not None:
        mapping = dict(saved.mapping)
        custom = saved.unmapped_to_custom if unmapped_to_custom is None else unmapped_to_custom
    if override:
        checked = check(override)
        unknown = [h for h in checked if h not in headers]
        if unknown:
            raise Invalid(
                [FieldError(f"mapping.{h}", "unknown_column", "the file has no such column", "string") for h in unknown]
            )
        mapping.update(checked)
    if override or unmapped_to_custom is not None:
        if saved is None:
            saved = ImportMapping(workspace_id=workspace_id, signature=signature(headers))
            session.add(saved)
        saved.headers, saved.mapping, saved.unmapped_to_custom = list(headers), dict(mapping), custom
        saved.updated_at = clock.now()
    return mapping, custom


def to_contact(
    cells: dict[str, Any], mapping: dict[str, str], unmapped_to_custom: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """The contact input of one record, and which column each input field came from (for error reports)."""
    data: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for header, value in cells.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        target = mapping.get(header)
        if target is None:
            if not unmapped_to_custom:
                continue
            target = CUSTOM_PREFIX + custom_key(header)
        if target == IGNORE:
            continue
        if target == "address" and isinstance(value, str):
            target = "address.line1"  # a single address column is its first line
        if target.startswith(CUSTOM_PREFIX):
            data.setdefault("custom_fields", {})[target[len(CUSTOM_PREFIX) :]] = value
        elif target.startswith("address."):
            data.setdefault("address", {})[target[len("address.") :]] = value
            target = "address." + target[len("address.") :]
        elif target in ("emails", "phones") and isinstance(value, str):
            # An exported list column: values joined by ";" (the first is the primary).
            part = "address" if target == "emails" else "number"
            data[target] = [{part: v.strip()} for v in value.split(";") if v.strip()]
        elif target in ("dnd_settings", "consent") and isinstance(value, str):
            try:  # an exported object column holds JSON
                data[target] = orjson.loads(value)
            except orjson.JSONDecodeError:
                data[target] = value
        elif target == "tags" and isinstance(value, str):
            data["tags"] = [t for t in (part.strip() for part in _TAG_SPLIT.split(value)) if t]
        else:
            data[target] = value
        origin[target] = header
    if "name" in data:
        # With name-part columns in the file, they are the parts (an empty cell is no part); the full name
        # is split by the name parser only when it is the file's one name column.
        parts = [p for p in ("first_name", "middle_name", "last_name") if p in mapping.values()]
        if parts:
            for part in ("first_name", "middle_name", "last_name"):
                data.setdefault(part, None)
    return data, origin


def column_of(field: str, origin: dict[str, str]) -> str | None:
    """The file column a validation error's field path points at."""
    path = field
    while path:
        if path in origin:
            return origin[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None


def validate(data: dict[str, Any]) -> ContactIn | list[FieldError]:
    """The same input schema every door uses."""
    try:
        return ContactIn.model_validate(data)
    except ValidationError as exc:
        return pydantic_errors(exc.errors())
