from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from leadhub.auth.models import ApiKey, Workspace
from leadhub.core import ids
from leadhub.core.validation import TRIMMED_NOT_BLANK

Name = Annotated[str, StringConstraints(min_length=1, max_length=200), TRIMMED_NOT_BLANK]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name = "api key"
    scopes: Annotated[list[str], Field(min_length=1, max_length=40)]
    workspace_id: str | None = Field(None, description="Bind the key to one workspace; omit for an organization key")


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    workspace_id: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret key. Shown once: only its hash is stored.")


class ApiKeyList(BaseModel):
    data: list[ApiKeyOut]


class WorkspaceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    default_region: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")] | None = "US"


class WorkspaceOut(BaseModel):
    id: str
    name: str
    default_region: str | None
    created_at: datetime


class WorkspaceList(BaseModel):
    data: list[WorkspaceOut]


def key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.public_id,
        name=key.name,
        prefix=key.prefix,
        scopes=list(key.scopes),
        workspace_id=ids.encode(ids.WORKSPACE, key.workspace_id) if key.workspace_id else None,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


def workspace_out(ws: Workspace) -> WorkspaceOut:
    return WorkspaceOut(id=ws.public_id, name=ws.name, default_region=ws.default_region, created_at=ws.created_at)
