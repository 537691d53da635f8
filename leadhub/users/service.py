"""Web users: accounts and roles, sign-in with lock-out, server-side sessions, workspace access, saved views."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import Workspace
from leadhub.core import clock, ids
from leadhub.core.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from leadhub.core.validation import ValidationFailure, kind_of, normalize_email
from leadhub.users import passwords, roles
from leadhub.users.models import SavedView, User, WebSession, WorkspaceMember

# Five wrong passwords in a row lock the account for fifteen minutes (a guesser gets 480 tries a day).
MAX_FAILED_SIGN_INS = 5
LOCK_OUT = timedelta(minutes=15)
# A session ends after 12 idle hours, and at the latest 14 days after sign-in.
IDLE_TIMEOUT = timedelta(hours=12)
ABSOLUTE_TIMEOUT = timedelta(days=14)
# last_seen/expiry is refreshed at most once a minute per session: one write a minute, not one per click.
_TOUCH_EVERY = timedelta(minutes=1)
MAX_VIEWS = 50


def _token_hash(raw: str) -> str:
    # Tokens are 256 random bits: a fast hash is enough and keeps every page load cheap.
    return hashlib.sha256(raw.encode()).hexdigest()


def _email(value: str) -> str:
    try:
        return normalize_email(value)
    except ValidationFailure as exc:
        raise Invalid([FieldError("email", exc.rule, exc.message, kind_of(value))]) from None


def _check_role(role: str) -> None:
    if role not in roles.ROLES:
        raise Invalid([FieldError("role", "enum", f"must be one of: {', '.join(roles.ROLES)}", "string")])


def check_password(password: str) -> None:
    if len(password) < passwords.MIN_LENGTH:
        raise Invalid(
            [FieldError("password", "min_length", f"must be at least {passwords.MIN_LENGTH} characters", "string")]
        )
    if len(password) > passwords.MAX_LENGTH:
        raise Invalid(
            [FieldError("password", "max_length", f"must be at most {passwords.MAX_LENGTH} characters", "string")]
        )


# ---------------------------------------------------------------- accounts


async def _workspaces_of_org(session: AsyncSession, organization_id: uuid.UUID, wanted: list[str]) -> list[Workspace]:
    found = []
    for public_id in wanted:
        key = ids.resolve(ids.WORKSPACE, public_id, "workspace")
        ws = await session.get(Workspace, key)
        if ws is None or ws.organization_id != organization_id:
            raise NotFound("workspace")
        found.append(ws)
    return found


async def create_user(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    email: str,
    password: str,
    role: str,
    workspaces: list[str] | None = None,
    name: str | None = None,
) -> User:
    """A new user of the organization. Members and read-only users work in ``workspaces`` (ws_… ids; default:
    the organization's first workspace); owners and admins in all of them. 409 when the email is taken."""
    address = _email(email)
    _check_role(role)
    check_password(password)
    chosen = await _workspaces_of_org(session, organization_id, workspaces or [])
    if not chosen and not roles.sees_every_workspace(role):
        first = await session.scalar(
            select(Workspace)
            .where(Workspace.organization_id == organization_id)
            .order_by(Workspace.created_at, Workspace.id)
            .limit(1)
        )
        if first is None:
            raise NotFound("workspace")
        chosen = [first]
    existing = await session.scalar(select(User).where(User.email == address))
    if existing is not None:
        raise Conflict(
            "email", existing.public_id, detail="A user with this email already exists", code="duplicate_email"
        )
    now = clock.now()
    user = User(
        id=ids.new_uuid(),
        organization_id=organization_id,
        email=address,
        name=(name or "").strip() or None,
        password_hash=await passwords.hash_password(password),
        role=role,
        failed_logins=0,
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(user)
            await session.flush()
    except IntegrityError:
        raise Conflict("email", "", detail="A user with this email already exists", code="duplicate_email") from None
    for ws in chosen:
        session.add(WorkspaceMember(workspace_id=ws.id, user_id=user.id, created_at=now))
    await session.flush()
    return user


async def list_users(session: AsyncSession, organization_id: uuid.UUID) -> list[User]:
    stmt = select(User).where(User.organization_id == organization_id).order_by(User.created_at, User.id)
    return list((await session.scalars(stmt)).all())


async def get_user(session: AsyncSession, organization_id: uuid.UUID, user_id: str) -> User:
    key = ids.resolve(ids.USER, user_id, "user")
    user = await session.get(User, key)
    if user is None or user.organization_id != organization_id:
        raise NotFound("user")
    return user


async def _owners(session: AsyncSession, organization_id: uuid.UUID) -> int:
    stmt = (
        select(func.count()).select_from(User).where(User.organization_id == organization_id, User.role == roles.OWNER)
    )
    return int(await session.scalar(stmt) or 0)


async def change_role(session: AsyncSession, acting: User, user_id: str, role: str) -> User:
    """Only an owner makes or unmakes owners; the organization always keeps at least one owner."""
    _check_role(role)
    target = await get_user(session, acting.organization_id, user_id)
    if roles.OWNER in (role, target.role) and acting.role != roles.OWNER:
        raise Forbidden("Only an owner can grant or take away the owner role")
    if target.role == roles.OWNER and role != roles.OWNER and await _owners(session, acting.organization_id) <= 1:
        raise Invalid([FieldError("role", "last_owner", "the organization needs at least one owner", "string")])
    target.role = role
    await session.flush()
    return target


async def remove_user(session: AsyncSession, acting: User, user_id: str) -> None:
    target = await get_user(session, acting.organization_id, user_id)
    if target.id == acting.id:
        raise Invalid([FieldError("user", "self", "you cannot remove your own account", "string")])
    if target.role == roles.OWNER and acting.role != roles.OWNER:
        raise Forbidden("Only an owner can remove an owner")
    await session.execute(delete(WebSession).where(WebSession.user_id == target.id))
    await session.execute(delete(WorkspaceMember).where(WorkspaceMember.user_id == target.id))
    await session.execute(delete(SavedView).where(SavedView.user_id == target.id))
    await session.delete(target)
    await session.flush()


async def set_password(session: AsyncSession, user: User, password: str) -> None:
    check_password(password)
    user.password_hash = await passwords.hash_password(password)
    # A new password signs out every other browser of this user.
    await session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    await session.flush()


# ---------------------------------------------------------------- workspaces


async def workspaces_for(session: AsyncSession, user: User) -> list[Workspace]:
    """The workspaces this user may open, oldest first."""
    stmt = select(Workspace).where(Workspace.organization_id == user.organization_id)
    if not roles.sees_every_workspace(user.role):
        stmt = stmt.where(
            Workspace.id.in_(select(WorkspaceMember.workspace_id).where(WorkspaceMember.user_id == user.id))
        )
    return list((await session.scalars(stmt.order_by(Workspace.created_at, Workspace.id))).all())


async def memberships(session: AsyncSession, organization_id: uuid.UUID) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The workspaces each member or read-only user of the organization belongs to."""
    rows = await session.execute(
        select(WorkspaceMember.user_id, WorkspaceMember.workspace_id)
        .join(User, User.id == WorkspaceMember.user_id)
        .where(User.organization_id == organization_id)
    )
    found: dict[uuid.UUID, list[uuid.UUID]] = {}
    for user_id, workspace_id in rows:
        found.setdefault(user_id, []).append(workspace_id)
    return found


async def workspace_for(session: AsyncSession, user: User, workspace_id: str) -> Workspace:
    """The workspace named in a URL, if this user may open it; 404 otherwise, exactly as if it did not exist."""
    key = ids.resolve(ids.WORKSPACE, workspace_id, "workspace")
    ws = await session.get(Workspace, key)
    if ws is None or ws.organization_id != user.organization_id:
        raise NotFound("workspace")
    if not roles.sees_every_workspace(user.role):
        member = await session.get(WorkspaceMember, (ws.id, user.id))
        if member is None:
            raise NotFound("workspace")
    return ws


# ---------------------------------------------------------------- sign-in and sessions


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt. The failure counter must be committed even when the attempt fails,
    so this is returned rather than raised."""

    user: User | None
    locked_until: datetime | None = None


async def sign_in(session: AsyncSession, email: str, password: str) -> SignIn:
    now = clock.now()
    try:
        address = normalize_email(email)
    except ValidationFailure:
        address = email.strip().lower()
    user = await session.scalar(select(User).where(User.email == address))
    if user is None:
        await passwords.verify_decoy(password)
        return SignIn(None)
    if user.locked_until is not None and user.locked_until > now:
        return SignIn(None, locked_until=user.locked_until)
    if not await passwords.verify(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_SIGN_INS:
            user.locked_until = now + LOCK_OUT
            user.failed_logins = 0
        await session.flush()
        return SignIn(None, locked_until=user.locked_until if user.locked_until and user.locked_until > now else None)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = await passwords.hash_password(password)
    await session.flush()
    return SignIn(user)


@dataclass(frozen=True)
class Started:
    session: WebSession
    token: str


async def start_session(session: AsyncSession, user: User, workspace_id: uuid.UUID | None) -> Started:
    """A new server-side session; the raw token goes in the cookie and only its hash is kept."""
    now = clock.now()
    raw = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=_token_hash(raw),
        user_id=user.id,
        workspace_id=workspace_id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=min(now + IDLE_TIMEOUT, now + ABSOLUTE_TIMEOUT),
    )
    session.add(row)
    await session.flush()
    return Started(row, raw)


@dataclass(frozen=True)
class Current:
    session: WebSession
    user: User
    needs_touch: bool


async def current(session: AsyncSession, raw: str | None) -> Current | None:
    """The live session of this cookie token with its user, or None (unknown, expired or signed out)."""
    if not raw or len(raw) > 200:
        return None
    row = await session.get(WebSession, _token_hash(raw))
    now = clock.now()
    if row is None or row.expires_at <= now:
        return None
    user = await session.get(User, row.user_id)
    if user is None:
        return None
    return Current(row, user, needs_touch=now - row.last_seen_at >= _TOUCH_EVERY)


async def touch(session: AsyncSession, raw: str) -> None:
    """Slide the idle expiry forward (never past the absolute limit)."""
    row = await session.get(WebSession, _token_hash(raw))
    if row is None:
        return
    now = clock.now()
    row.last_seen_at = now
    row.expires_at = min(now + IDLE_TIMEOUT, row.created_at + ABSOLUTE_TIMEOUT)
    await session.flush()


async def end_session(session: AsyncSession, raw: str | None) -> None:
    if raw:
        await session.execute(delete(WebSession).where(WebSession.token_hash == _token_hash(raw)))


async def remember_workspace(session: AsyncSession, raw: str, ws: Workspace) -> None:
    row = await session.get(WebSession, _token_hash(raw))
    if row is not None:
        row.workspace_id = ws.id
        await session.flush()


async def purge_expired_sessions(session: AsyncSession) -> int:
    result = await session.execute(delete(WebSession).where(WebSession.expires_at <= clock.now()))
    return int(getattr(result, "rowcount", 0) or 0)


# ---------------------------------------------------------------- saved views


async def list_views(session: AsyncSession, ws: Workspace, user: User) -> list[SavedView]:
    stmt = (
        select(SavedView)
        .where(SavedView.workspace_id == ws.id, SavedView.user_id == user.id)
        .order_by(SavedView.name, SavedView.id)
    )
    return list((await session.scalars(stmt)).all())


async def save_view(session: AsyncSession, ws: Workspace, user: User, name: str, query: str) -> SavedView:
    """Save (or overwrite, by name) a view of the leads list: ``query`` is the list's query string."""
    name = name.strip()
    errors = []
    if not name or len(name) > 100:
        errors.append(FieldError("name", "length", "must be 1 to 100 characters", "string"))
    if len(query) > 2000:
        errors.append(FieldError("query", "max_length", "must be at most 2000 characters", "string"))
    if errors:
        raise Invalid(errors)
    existing = await session.scalar(
        select(SavedView).where(SavedView.workspace_id == ws.id, SavedView.user_id == user.id, SavedView.name == name)
    )
    if existing is not None:
        existing.query = query
        await session.flush()
        return existing
    if len(await list_views(session, ws, user)) >= MAX_VIEWS:
        raise Invalid([FieldError("name", "max_views", f"a user keeps at most {MAX_VIEWS} views", "string")])
    view = SavedView(
        workspace_id=ws.id, id=ids.new_uuid(), user_id=user.id, name=name, query=query, created_at=clock.now()
    )
    session.add(view)
    await session.flush()
    return view


async def delete_view(session: AsyncSession, ws: Workspace, user: User, view_id: str) -> None:
    key = ids.resolve(ids.SAVED_VIEW, view_id, "view")
    view = await session.get(SavedView, (ws.id, key))
    if view is None or view.user_id != user.id:
        raise NotFound("view")
    await session.delete(view)
    await session.flush()
