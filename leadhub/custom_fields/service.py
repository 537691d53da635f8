"""Custom-field definitions and the typing of contact values against them."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.principal import Actor
from leadhub.core import clock, ids
from leadhub.core.errors import Conflict, FieldError, Invalid, NotFound
from leadhub.core.validation import ValidationFailure, kind_of, parse_date
from leadhub.custom_fields.models import CustomFieldDefinition
from leadhub.custom_fields.schemas import CustomFieldCreate, CustomFieldOut, CustomFieldPatch
from leadhub.events import service as events

MAX_TEXT_VALUE = 10_000
_CACHE = "leadhub_custom_field_definitions"
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def to_out(d: CustomFieldDefinition) -> CustomFieldOut:
    return CustomFieldOut(
        id=d.public_id,
        key=d.key,
        label=d.label,
        type=d.type,
        options=list(d.options),
        created_at=d.created_at,
        updated_at=d.updated_at,
    )


def _check_options(type_: str, options: list[str]) -> None:
    if type_ in ("select", "multiselect") and not options:
        raise Invalid([FieldError("options", "required", f"a {type_} field needs at least one option", "array")])
    if len(set(options)) != len(options):
        raise Invalid([FieldError("options", "unique", "options must be distinct", "array")])


async def definitions_by_key(session: AsyncSession, workspace_id: uuid.UUID) -> dict[str, CustomFieldDefinition]:
    """The workspace's definitions, cached for the rest of this session."""
    cache: dict[uuid.UUID, dict[str, CustomFieldDefinition]] = session.info.setdefault(_CACHE, {})
    if workspace_id not in cache:
        rows = await session.scalars(
            select(CustomFieldDefinition).where(CustomFieldDefinition.workspace_id == workspace_id)
        )
        cache[workspace_id] = {d.key: d for d in rows}
    return cache[workspace_id]


def _forget(session: AsyncSession, workspace_id: uuid.UUID) -> None:
    session.info.get(_CACHE, {}).pop(workspace_id, None)


def apply_values(
    custom: dict[str, Any],
    given: dict[str, Any],
    definitions: Mapping[str, CustomFieldDefinition],
    errors: list[FieldError],
) -> None:
    """Merge a body's ``custom_fields`` into ``custom`` key by key: null deletes a key, a defined key's value
    is coerced to its type (a value that does not fit adds an error naming ``custom_fields.<key>``), an
    undefined key is kept as given."""
    for key, value in given.items():
        if value is None:
            custom.pop(key, None)
            continue
        definition = definitions.get(key)
        if definition is None:
            custom[key] = value
            continue
        try:
            custom[key] = coerce_value(definition, value)
        except ValidationFailure as exc:
            errors.append(FieldError(f"custom_fields.{key}", exc.rule, exc.message, kind_of(value)))


def coerce_value(definition: CustomFieldDefinition, value: Any) -> Any:
    """A value typed as its definition says (e.g. "42" → 42 for a number); ValidationFailure if it can't be."""
    kind = definition.type
    if kind == "text":
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ValidationFailure("type", "must be text")
        text = str(value)
        if len(text) > MAX_TEXT_VALUE:
            raise ValidationFailure("max_length", f"must be at most {MAX_TEXT_VALUE} characters")
        return text
    if kind == "number":
        if isinstance(value, bool):
            raise ValidationFailure("number", "must be a number")
        if isinstance(value, str):
            try:
                value = float(value.strip()) if any(c in value for c in ".eE") else int(value.strip())
            except ValueError:
                raise ValidationFailure("number", "must be a number") from None
        if not isinstance(value, int | float) or (isinstance(value, float) and not math.isfinite(value)):
            raise ValidationFailure("number", "must be a finite number")
        return value
    if kind == "date":
        return parse_date(value).isoformat()
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValidationFailure("boolean", "must be true or false")
    options = list(definition.options)
    if kind == "select":
        if not isinstance(value, str) or value not in options:
            raise ValidationFailure("option", f"must be one of: {', '.join(options)}")
        return value
    # multiselect
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) and v in options for v in values):
        raise ValidationFailure("option", f"must be a list of: {', '.join(options)}")
    return list(dict.fromkeys(values))


async def create(
    session: AsyncSession, workspace_id: uuid.UUID, actor: Actor, data: CustomFieldCreate
) -> CustomFieldDefinition:
    _check_options(data.type, data.options)
    now = clock.now()
    definition = CustomFieldDefinition(
        workspace_id=workspace_id,
        id=ids.new_uuid(),
        key=data.key,
        label=data.label,
        type=data.type,
        options=list(data.options),
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(definition)
            await session.flush()
    except IntegrityError:
        existing = (await definitions_by_key(session, workspace_id)).get(data.key)
        raise Conflict(
            "key",
            existing.public_id if existing else "",
            code="duplicate_key",
            detail=f"A custom field with key '{data.key}' already exists",
        ) from None
    _forget(session, workspace_id)
    events.record(
        session,
        workspace_id,
        actor,
        "custom_field.created",
        resource_type="custom_field",
        resource_id=definition.id,
        payload=to_out(definition).model_dump(mode="json"),
    )
    return definition


async def get(session: AsyncSession, workspace_id: uuid.UUID, field_id: str) -> CustomFieldDefinition:
    key = ids.resolve(ids.CUSTOM_FIELD, field_id, "custom field")
    definition = await session.get(CustomFieldDefinition, (workspace_id, key))
    if definition is None:
        raise NotFound("custom field")
    return definition


async def list_all(session: AsyncSession, workspace_id: uuid.UUID) -> list[CustomFieldDefinition]:
    rows = await session.scalars(
        select(CustomFieldDefinition)
        .where(CustomFieldDefinition.workspace_id == workspace_id)
        .order_by(CustomFieldDefinition.key)
    )
    return list(rows)


async def patch(
    session: AsyncSession, workspace_id: uuid.UUID, actor: Actor, field_id: str, data: CustomFieldPatch
) -> CustomFieldDefinition:
    """Change label, type or options. Stored values are not re-typed; new writes are."""
    definition = await get(session, workspace_id, field_id)
    before = to_out(definition).model_dump(mode="json")
    for name in ("label", "type", "options"):
        if name in data.model_fields_set and getattr(data, name) is not None:
            setattr(definition, name, getattr(data, name))
    _check_options(definition.type, list(definition.options))
    after = to_out(definition).model_dump(mode="json")
    changes = events.changes(before, after)
    if changes:
        definition.updated_at = clock.now()
        await session.flush()
        _forget(session, workspace_id)
        events.record(
            session,
            workspace_id,
            actor,
            "custom_field.updated",
            resource_type="custom_field",
            resource_id=definition.id,
            payload=to_out(definition).model_dump(mode="json"),
            changes=changes,
        )
    return definition


async def delete(session: AsyncSession, workspace_id: uuid.UUID, actor: Actor, field_id: str) -> None:
    """Remove a definition; values stored under its key stay on contacts as untyped fields."""
    definition = await get(session, workspace_id, field_id)
    payload = to_out(definition).model_dump(mode="json")
    await session.delete(definition)
    await session.flush()
    _forget(session, workspace_id)
    events.record(
        session,
        workspace_id,
        actor,
        "custom_field.deleted",
        resource_type="custom_field",
        resource_id=definition.id,
        payload=payload,
    )
