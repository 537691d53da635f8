"""Tenant walls and workspace access for web users: another organization's or another workspace's page
answers 404 exactly as if it did not exist; owners and admins switch between all of their organization's."""

from __future__ import annotations

import re

from leadhub.db.engine import Database
from tests.conftest import Tenant
from tests.web.conftest import Browser, make_user, page_csrf, signed_in


async def test_a_user_cannot_open_another_organizations_workspace_by_url(
    database: Database, tenant: Tenant, other_tenant: Tenant, new_browser: Browser
) -> None:
    user = await make_user(database, tenant, "owner")
    client = await signed_in(new_browser, user)
    own = await client.get(f"/app/{tenant.ws_public_id}")
    foreign = await client.get(f"/app/{other_tenant.ws_public_id}")
    missing = await client.get("/app/ws_01jzzzzzzzzzzzzzzzzzzzzzzz")
    assert own.status_code == 200
    assert foreign.status_code == missing.status_code == 404
    assert foreign.text.replace(other_tenant.ws_public_id, "") == missing.text.replace(
        "ws_01jzzzzzzzzzzzzzzzzzzzzzzz", ""
    )
    assert other_tenant.ws_public_id not in foreign.text


async def test_a_member_sees_only_the_workspaces_they_belong_to(
    database: Database, tenant: Tenant, new_browser: Browser
) -> None:
    second = await tenant.add_workspace("second")
    member = await make_user(database, tenant, "member", workspaces=[tenant.ws_public_id])
    client = await signed_in(new_browser, member)
    assert (await client.get(f"/app/{tenant.ws_public_id}")).status_code == 200
    assert (await client.get(f"/app/{second}")).status_code == 404
    token = await page_csrf(client, f"/app/{tenant.ws_public_id}")
    assert (await client.post("/app/switch", data={"workspace": second, "csrf": token})).status_code == 404


async def test_an_admin_switches_between_the_organizations_workspaces(
    database: Database, tenant: Tenant, new_browser: Browser
) -> None:
    second = await tenant.add_workspace("Second office")
    admin = await make_user(database, tenant, "admin")
    client = await signed_in(new_browser, admin)
    page = await client.get(f"/app/{tenant.ws_public_id}")
    options = re.findall(r'<option value="(ws_[0-9a-z]+)"', page.text)
    assert options == [tenant.ws_public_id, second]
    token = await page_csrf(client, f"/app/{tenant.ws_public_id}")
    switched = await client.post("/app/switch", data={"workspace": second, "csrf": token})
    assert switched.headers["location"] == f"/app/{second}"
    # The choice is remembered: /app/ opens it next time.
    home = await client.get("/app/")
    assert home.headers["location"] == f"/app/{second}"
