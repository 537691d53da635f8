"""Native /v1/rate-limits: read or change the acting workspace's policy (organization `admin` keys)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from leadhub.core.errors import Forbidden
from leadhub.http.context import Ctx, ctx_for, serialize
from leadhub.http.openapi import ERRORS
from leadhub.ratelimit import service
from leadhub.ratelimit.limiter import Limiter
from leadhub.ratelimit.schemas import PolicyIn, PolicyOut

router = APIRouter(prefix="/v1/rate-limits", tags=["operations"], responses=ERRORS)
admin = ctx_for("admin")


def _limiter(ctx: Ctx) -> Limiter:
    limiter: Limiter = ctx.request.app.state.limiter
    return limiter


def _out(policy: service.Policy) -> PolicyOut:
    return PolicyOut(**policy.__dict__)


@router.get("", response_model=PolicyOut, summary="The workspace's rate-limit policy")
async def get_policy(ctx: Ctx = Depends(admin)) -> Response:
    async with ctx.read() as session:
        policy = await service.get_policy(session, ctx.workspace, _limiter(ctx).defaults)
    return Response(serialize(_out(policy)), media_type="application/json")


@router.patch("", response_model=PolicyOut, summary="Change the workspace's rate-limit policy")
async def set_policy(body: PolicyIn, ctx: Ctx = Depends(admin)) -> Response:
    """Only an organization key may change limits: a workspace key must not raise its own."""
    if ctx.principal.workspace_id is not None:
        raise Forbidden("Only an organization key with the 'admin' scope can change rate limits")
    limiter = _limiter(ctx)
    async with ctx.write() as tx:
        policy = await service.set_policy(tx.session, ctx.workspace, ctx.actor, body, limiter.defaults)
        response = tx.respond(_out(policy))
    limiter.forget(ctx.workspace.id)
    return response
