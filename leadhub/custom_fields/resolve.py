"""Custom fields named by definition id (as some dialects write them) resolved to their keys."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.core import ids
from leadhub.core.errors import FieldError, Invalid
from leadhub.custom_fields.service import definitions_by_key


async def keys_for(session: AsyncSession, workspace_id: uuid.UUID, refs: list[tuple[str, str]]) -> dict[str, str]:
    """``{reference: key}`` for ``(input path, reference)`` pairs, where a reference is a definition's id
    (``cf_…``) or key. Invalid naming every path whose reference the workspace does not define."""
    definitions = await definitions_by_key(session, workspace_id)
    by_id = {d.public_id: d.key for d in definitions.values()}
    by_uuid = {str(d.id): d.key for d in definitions.values()}
    resolved: dict[str, str] = {}
    errors: list[FieldError] = []
    for path, ref in refs:
        key = by_id.get(ref) or by_uuid.get(ref) or (ref if ref in definitions else None)
        if key is None and ref.startswith(f"{ids.CUSTOM_FIELD}_"):
            try:
                key = by_uuid.get(str(ids.decode(ids.CUSTOM_FIELD, ref)))
            except ids.InvalidId:
                key = None
        if key is None:
            errors.append(
                FieldError(path, "unknown_custom_field", f"'{ref}' is not a custom field of this location", "string")
            )
        else:
            resolved[ref] = key
    if errors:
        raise Invalid(errors)
    return resolved


async def ids_by_key(session: AsyncSession, workspace_id: uuid.UUID) -> dict[str, str]:
    """``{key: cf_… id}`` of the workspace's definitions."""
    return {key: d.public_id for key, d in (await definitions_by_key(session, workspace_id)).items()}
