"""Signing in and out, sessions, CSRF and lock-out, through the real ASGI app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from leadhub.core import clock
from leadhub.db.engine import Database
from leadhub.users import service as users
from tests.conftest import Tenant
from tests.web.conftest import Browser, csrf_of, make_user, page_csrf, sign_in, signed_in


async def test_sign_in_opens_the_workspace_and_sets_a_locked_down_session_cookie(
    database: Database, tenant: Tenant, new_browser: Browser
) -> None:
    user = await make_user(database, tenant, "member")
    client = await new_browser()
    answer = await sign_in(client, user.email, user.password)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/app/{tenant.ws_public_id}"
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and "leadhub_session=" in v)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # the test server's public URL is http
    page = await client.get(answer.headers["location"])
    assert page.status_code == 200 and user.email in page.text


async def test_email_is_matched_whatever_its_case(database: Database, tenant: Tenant, new_browser: Browser) -> None:
    user = await make_user(database, tenant, "member")
    answer = await sign_in(await new_browser(), user.email.upper(), user.password)
    assert answer.status_code == 303


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    database: Database, tenant: Tenant, new_browser: Browser
) -> None:
    user = await make_user(database, tenant, "member")
    wrong = await sign_in(await new_browser(), user.email, "not the password")
    unknown = await sign_in(await new_browser(), "nobody-here@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong email or password." in wrong.text and "Wrong email or password." in unknown.text
    assert "leadhub_session=" not in wrong.headers.get("set-cookie", "")


async def test_pages_redirect_to_sign_in_without_a_session(tenant: Tenant, new_browser: Browser) -> None:
    client = await new_browser()
    answer = await client.get(f"/app/{tenant.ws_public_id}?q=ann")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/app/sign-in?next=%2Fapp%2F")


async def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(
    database: Database, tenant: Tenant, new_browser: Browser
) -> None:
    user = await make_user(database, tenant, "member")
    wanted = f"/app/{tenant.ws_public_id}/leads"
    answer = await sign_in(await new_browser(), user.email, user.password, next_url=wanted)
    assert answer.headers["location"] == wanted
    answer = await sign_in(await new_browser(), user.email, user.password, next_url="//evil.example/app/")
    assert answer.headers["location"] == f"/app/{tenant.ws_public_id}"


async def test_sign_in_form_without_its_token_is_refused(
    database: Database, tenant: Tenant, new_browser: Browser
) -> None:
    user = await make_user(database, tenant, "member")
    client = await new_browser()
    answer = await client.post("/app/sign-in", data={"email": user.email, "password": user.password, "csrf": "forged"})
    assert answer.status_code == 403
    assert "leadhub_session=" not in answer.headers.get("set-cookie", "")


async def test_a_form_posted_without_the_session_csrf_token_is_refused(
    database: Database, tenant: Tenant, new_browser: Browser
) -> None:
    user = await make_user(database, tenant, "admin")
    client = await signed_in(new_browser, user)
    other_ws = await tenant.add_workspace("second")
    refused = await client.post("/app/switch", data={"workspace": other_ws})
    assert refused.status_code == 403
    assert "security token" in refused.text
    refused = await client.post("/app/switch", data={"workspace": other_ws, "csrf": "x" * 43})
    assert refused.status_code == 403
    token = await page_csrf(client, f"/app/{tenant.ws_public_id}")
    accepted = await client.post("/app/switch", data={"workspace": other_ws, "csrf": token})
    assert accepted.status_code == 303 and accepted.headers["location"] == f"/app/{other_ws}"
    # HTMX sends the token as a header instead of a form field.
    by_header = await client.post("/app/switch", data={"workspace": other_ws}, headers={"X-CSRF-Token": token})
    assert by_header.status_code == 303


async def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(
    database: Database, tenant: Tenant, new_browser: Browser
) -> None:
    user = await make_user(database, tenant, "member")
    start = datetime(2031, 5, 1, 9, 0, tzinfo=UTC)
    now = [start]
    clock.set_clock(lambda: now[0])
    try:
        client = await new_browser()
        for _ in range(users.MAX_FAILED_SIGN_INS - 1):
            assert (await sign_in(client, user.email, "wrong password!")).status_code == 401
        locked = await sign_in(client, user.email, "wrong password!")
        assert locked.status_code == 429 and "locked until 2031-05-01 09:15" in locked.text
        # Even the right password is refused while locked.
        assert (await sign_in(client, user.email, user.password)).status_code == 429
        now[0] = start + timedelta(minutes=14)
        assert (await sign_in(client, user.email, user.password)).status_code == 429
        now[0] = start + timedelta(minutes=15, seconds=1)
        assert (await sign_in(client, user.email, user.password)).status_code == 303
    finally:
        clock.set_clock(None)


async def test_a_success_resets_the_failure_count(database: Database, tenant: Tenant, new_browser: Browser) -> None:
    user = await make_user(database, tenant, "member")
    client = await new_browser()
    for _ in range(users.MAX_FAILED_SIGN_INS - 1):
        await sign_in(client, user.email, "wrong password!")
    assert (await sign_in(client, user.email, user.password)).status_code == 303
    for _ in range(users.MAX_FAILED_SIGN_INS - 1):
        assert (await sign_in(client, user.email, "wrong password!")).status_code == 401


async def test_sign_out_ends_the_session_on_the_server(
    database: Database, tenant: Tenant, new_browser: Browser
) -> None:
    user = await make_user(database, tenant, "member")
    client = await signed_in(new_browser, user)
    stolen = client.cookies.get("leadhub_session")
    token = await page_csrf(client, f"/app/{tenant.ws_public_id}")
    out = await client.post("/app/sign-out", data={"csrf": token})
    assert out.status_code == 303 and out.headers["location"].startswith("/app/sign-in")
    # A copy of the old cookie no longer opens anything.
    replay = await new_browser()
    replay.cookies.set("leadhub_session", stolen or "")
    assert (await replay.get(f"/app/{tenant.ws_public_id}")).status_code == 303


async def test_sessions_expire_after_twelve_idle_hours(
    database: Database, tenant: Tenant, new_browser: Browser
) -> None:
    user = await make_user(database, tenant, "member")
    start = datetime(2031, 6, 1, 9, 0, tzinfo=UTC)
    now = [start]
    clock.set_clock(lambda: now[0])
    try:
        client = await signed_in(new_browser, user)
        now[0] = start + timedelta(hours=11)
        assert (await client.get(f"/app/{tenant.ws_public_id}")).status_code == 200  # slides the expiry
        now[0] = start + timedelta(hours=22)
        assert (await client.get(f"/app/{tenant.ws_public_id}")).status_code == 200
        now[0] = start + timedelta(hours=34, minutes=1)
        assert (await client.get(f"/app/{tenant.ws_public_id}")).status_code == 303
    finally:
        clock.set_clock(None)


@pytest.mark.parametrize("path", ["/app/static/htmx.min.js", "/app/static/app.css", "/app/static/app.js"])
async def test_assets_are_served_by_the_app_itself(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.get(path)
    assert answer.status_code == 200 and len(answer.content) > 500


async def test_pages_forbid_framing_and_foreign_scripts(
    database: Database, tenant: Tenant, new_browser: Browser
) -> None:
    page = await (await new_browser()).get("/app/sign-in")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert csrf_of(page.text)
