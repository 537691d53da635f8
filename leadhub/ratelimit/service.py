"""A workspace's rate-limit policy: the configured defaults, overridden column by column by its own row."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.config import Settings
from leadhub.core import clock
from leadhub.events import service as events
from leadhub.ratelimit.bucket import Spec
from leadhub.ratelimit.models import RateLimitPolicy
from leadhub.ratelimit.schemas import PolicyIn

DAY_SECONDS = 86_400
_FIELDS = ("key_limit", "workspace_limit", "window_seconds", "daily_quota")


@dataclass(frozen=True)
class Policy:
    key_limit: int
    workspace_limit: int
    window_seconds: int
    daily_quota: int

    @classmethod
    def defaults(cls, settings: Settings) -> Policy:
        return cls(
            settings.ratelimit_key_limit,
            settings.ratelimit_workspace_limit,
            settings.ratelimit_window_seconds,
            settings.ratelimit_daily_quota,
        )

    def specs(self, key: str) -> list[Spec]:
        """The buckets one request with API key ``key`` is charged to."""
        return [
            Spec("key", f"key:{key}", self.key_limit, self.window_seconds),
            Spec("workspace", "workspace", self.workspace_limit, self.window_seconds),
            Spec("daily", "daily", self.daily_quota, DAY_SECONDS),
        ]


def effective(row: RateLimitPolicy | None, defaults: Policy) -> Policy:
    if row is None:
        return defaults
    values = {
        name: getattr(row, name) if getattr(row, name) is not None else getattr(defaults, name) for name in _FIELDS
    }
    return Policy(**values)


async def get_policy(session: AsyncSession, ws: Workspace, defaults: Policy) -> Policy:
    return effective(await session.get(RateLimitPolicy, ws.id), defaults)


async def set_policy(session: AsyncSession, ws: Workspace, actor: Actor, data: PolicyIn, defaults: Policy) -> Policy:
    """Change the given limits (``null`` restores a default); absent fields stay."""
    row = await session.get(RateLimitPolicy, ws.id)
    if row is None:
        row = RateLimitPolicy(workspace_id=ws.id, updated_at=clock.now())
        session.add(row)
    before = effective(row, defaults)
    for name in data.model_fields_set & set(_FIELDS):
        setattr(row, name, getattr(data, name))
    row.updated_at = clock.now()
    await session.flush()
    after = effective(row, defaults)
    events.record(
        session,
        ws.id,
        actor,
        "rate_limit_policy.updated",
        resource_type="workspace",
        resource_id=ws.id,
        payload=after.__dict__,
        changes={
            name: {"before": getattr(before, name), "after": getattr(after, name)}
            for name in _FIELDS
            if getattr(before, name) != getattr(after, name)
        },
    )
    return after
