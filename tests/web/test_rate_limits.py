"""Signed-in web pages are charged to the user and the workspace, not to the client's address: an office
behind one address must not be braked as a single anonymous client."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from leadhub.app import create_app
from leadhub.config import Settings
from leadhub.core import clock
from leadhub.db.engine import Database
from tests.conftest import Tenant
from tests.web.conftest import make_user, sign_in

_ITEM = re.compile(r'"(\w+)";r=(\d+);t=(\d+)')


@pytest.fixture
async def strict_anonymous(database: Database, settings: Settings) -> AsyncIterator[Any]:
    strict = Settings(data_dir=settings.data_dir, public_url=settings.public_url, ratelimit_anonymous_limit=3)
    yield create_app(strict, database, background=False)


@pytest.fixture
def still_clock() -> Iterator[None]:
    """Time stands still, so no bucket refills while the test counts."""
    at = datetime.now(UTC)
    clock.set_clock(lambda: at)
    yield
    clock.set_clock(None)


async def test_workspace_pages_are_charged_to_the_signed_in_user(
    strict_anonymous: Any, database: Database, tenant: Tenant, still_clock: None
) -> None:
    user = await make_user(database, tenant, role="member", workspaces=[tenant.ws_public_id])
    transport = httpx.ASGITransport(app=strict_anonymous, client=("198.51.100.20", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://leadhub.test") as browser:
        assert (await sign_in(browser, user.email, user.password)).status_code == 303
        # Ten pages: far past the address's anonymous allowance of 3, well inside the user's own bucket.
        pages = [await browser.get(f"/app/{tenant.ws_public_id}/leads") for _ in range(10)]

    assert [p.status_code for p in pages] == [200] * 10
    buckets = {name: int(left) for name, left, _ in _ITEM.findall(pages[-1].headers["ratelimit"])}
    assert set(buckets) == {"key", "workspace", "daily"}
    assert buckets["key"] == 190 - 10
