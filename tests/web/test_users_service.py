"""Account rules of the users service: passwords, unique emails, owners."""

from __future__ import annotations

import pytest

from leadhub.core.errors import Conflict, Forbidden, Invalid
from leadhub.db.engine import Database
from leadhub.uow import unit_of_work
from leadhub.users import service as users
from tests.conftest import Tenant
from tests.web.conftest import make_user


async def test_short_passwords_and_unknown_roles_are_refused_naming_the_field(
    database: Database, tenant: Tenant
) -> None:
    async with unit_of_work(database) as session:
        with pytest.raises(Invalid) as short:
            await users.create_user(session, tenant.org_id, email="a@example.com", password="short", role="member")
        with pytest.raises(Invalid) as role:
            await users.create_user(session, tenant.org_id, email="a@example.com", password="x" * 12, role="boss")
    assert [(e.field, e.rule) for e in short.value.errors] == [("password", "min_length")]
    assert [(e.field, e.rule) for e in role.value.errors] == [("role", "enum")]


async def test_one_account_per_email_whatever_its_case(
    database: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    user = await make_user(database, tenant, "member")
    async with unit_of_work(database) as session:
        with pytest.raises(Conflict):
            await users.create_user(
                session, other_tenant.org_id, email=user.email.upper(), password="x" * 12, role="member"
            )


async def test_only_an_owner_makes_owners_and_the_last_owner_stays(database: Database, tenant: Tenant) -> None:
    owner = await make_user(database, tenant, "owner")
    admin = await make_user(database, tenant, "admin")
    async with unit_of_work(database) as session:
        acting_admin = await users.get_user(session, tenant.org_id, admin.public_id)
        with pytest.raises(Forbidden):
            await users.change_role(session, acting_admin, admin.public_id, "owner")
        acting_owner = await users.get_user(session, tenant.org_id, owner.public_id)
        with pytest.raises(Invalid) as last:
            await users.change_role(session, acting_owner, owner.public_id, "admin")
        assert last.value.errors[0].rule == "last_owner"
        promoted = await users.change_role(session, acting_owner, admin.public_id, "owner")
        assert promoted.role == "owner"
