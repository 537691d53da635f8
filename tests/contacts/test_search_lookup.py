"""Lookup by email or phone is one indexed statement that brings the contact with its lists."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import event

from leadhub.auth.models import Workspace
from leadhub.contacts import service
from leadhub.core.errors import Invalid
from leadhub.db.engine import Database
from tests.conftest import Tenant
from tests.contacts.support import create_contact


async def test_lookup_by_email_or_phone_is_one_statement_with_every_list(
    client: httpx.AsyncClient, database: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    body = {
        "first_name": "Lola",
        "emails": [{"address": "lola@one.io"}, {"address": "lola@two.io"}],
        "phones": [{"number": "+14155550101"}, {"number": "+14155550102"}],
        "tags": ["a", "b", "c"],
    }
    made = await create_contact(client, tenant, body)
    await create_contact(client, other_tenant, {"first_name": "Other", "email": "lola@three.io"})
    statements: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with database.read_session() as session:
            ws = await session.get(Workspace, tenant.ws_id)
            assert ws is not None
            statements.clear()
            by_email = await service.find_by_email(session, ws, "LOLA@two.io")
            email_statements = len(statements)
            statements.clear()
            by_phone = await service.find_by_phone(session, ws, "(415) 555-0102")
            phone_statements = len(statements)
            # Another workspace's identity is a wall, and an unknown one is None.
            assert await service.find_by_email(session, ws, "lola@three.io") is None
            assert await service.find_by_phone(session, ws, "+14155550199") is None
            with pytest.raises(Invalid):
                await service.find_by_email(session, ws, "not an email")
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)

    assert email_statements == 1 and phone_statements == 1
    for found in (by_email, by_phone):
        assert found is not None and found.public_id == made["id"]
        assert [e.address for e in found.emails] == ["lola@one.io", "lola@two.io"]
        assert [p.number for p in found.phones] == ["+14155550101", "+14155550102"]
        assert found.tags == ["a", "b", "c"]
