"""A contact created by POST /v1/contacts/batch is indistinguishable from one created by POST /v1/contacts
with the same input: the same stored rows (every column, emails, phones, tags, match keys), the same GET
answer, the same events and webhook deliveries, in item order; and the same per-item errors."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from leadhub import uow
from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.companies import service as companies
from leadhub.companies.models import Company
from leadhub.companies.schemas import CompanyIn
from leadhub.contacts import batch as batches
from leadhub.contacts import service as contacts
from leadhub.contacts.dedupe_models import MatchKey
from leadhub.contacts.models import Contact, ContactEmail, ContactPhone, ContactTag
from leadhub.contacts.schemas import ContactIn
from leadhub.core import ids
from leadhub.custom_fields import service as custom_fields
from leadhub.custom_fields.schemas import CustomFieldCreate
from leadhub.events.models import Event
from leadhub.privacy import suppression
from leadhub.webhooks import service as webhooks
from leadhub.webhooks.models import Delivery
from leadhub.webhooks.schemas import EndpointIn
from tests.conftest import Tenant
from tests.contacts.support import without_ids

ACTOR = Actor(type="system", id=None, door="cli")

# Awkward inputs; "$company" is replaced by the workspace's company id. Plain ones first, so that the new
# contacts before the first item written alone are enough for the batch's bulk write.
ITEMS: list[dict[str, Any]] = [
    *({"email": f"plain{n}@acme.example", "first_name": f"Plain{n}"} for n in range(batches.BULK_MIN)),
    {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ADA@Acme.example",
        "phone": "(415) 555-0101",
        "custom_fields": {"seats": "5", "colour": "blue", "gone": None},
        "tags": ["vip", "lead", "vip"],
        "title": "CTO",
    },
    {
        "name": "Dr. Jane Q. Public III",
        "emails": [
            {"address": "jane@acme.example", "type": "work"},
            {"address": "Jane.P@gmail.com", "type": "personal", "primary": True},
        ],
        "phones": [{"number": "+44 7911 123456", "type": "mobile"}, {"number": "415-555-0102"}],
    },
    {"email": "nameless.person@acme.example"},
    {"email": "someone@gmail.com", "company_name": "Acme", "phone": "+1 415 555 0103"},
    {
        "first_name": "Zoë",
        "last_name": "Ünicode",
        "phone": "+33 6 12 34 56 78",
        "address": {"line1": "1 rue de la Paix", "city": "Paris", "country": "FR"},
        "dnd_settings": {"sms": {"status": "active", "message": "no texts"}, "email": None},
        "consent": {"newsletter": {"granted": True, "source": "form", "recorded_at": "2024-05-01T10:00:00Z"}},
        "timezone": "Europe/Paris",
        "country": "FR",
    },
    {
        "first_name": "Martin",
        "last_name": "King Jr.",
        "email": "mlk@acme.example",
        "date_of_birth": "1929-01-15",
        "website": "https://example.org",
        "source": "referral",
        "is_test": True,
        "notes": "line one\nline two",
        "session_count": 3,
        "first_seen": "2024-01-02T03:04:05Z",
        "dnd": True,
    },
    {"title": "No identities at all", "custom_fields": {"seats": 2.0}},
    {"email": "linked@acme.example", "company_id": "$company", "last_name": "Linked"},  # written alone
    {"email": "bad seats@acme.example"},  # refused by the schema
    {"email": "seats@acme.example", "custom_fields": {"seats": "many"}},  # refused: seats is a number
    {"email": "erased@example.com"},  # suppressed
    {"email": "old@example.com", "title": "Taken"},  # stored: 409 on create, an update on upsert
    {"phone": "12"},  # not a phone
    {"email": "ada@acme.example", "title": "Repeat"},  # repeats item 0: 409 on create, an update on upsert
    {"emails": [{"address": "a@x.example", "primary": True}, {"address": "b@x.example", "primary": True}]},
    {
        "first_name": "Last",
        "email": "last@acme.example",
        "tags": ["z", "a"],
        "custom_fields": {"nested": [1, {"a": 2}]},
    },
]


async def _workspace(tenant: Tenant) -> tuple[str, str]:
    """A workspace set up like every other of this test (definitions, a company, a stored contact, a
    suppressed email, a webhook endpoint): its public id and its company's."""
    public = await tenant.add_workspace(f"eq-{uuid.uuid4().hex[:6]}")
    ws_id = ids.decode(ids.WORKSPACE, public)
    async with uow.unit_of_work(tenant.db) as session:
        ws = await session.get(Workspace, ws_id)
        assert ws is not None
        await custom_fields.create(session, ws_id, ACTOR, CustomFieldCreate(key="seats", label="Seats", type="number"))
        company = await companies.create(session, ws, ACTOR, CompanyIn(name="Acme", domain="acme.example"))
        await contacts.create(session, ws, ACTOR, ContactIn(email="old@example.com", title="Before"))
        await suppression.add(session, ws_id, "email", "erased@example.com", "test")
        await webhooks.create_endpoint(
            session,
            ws_id,
            ACTOR,
            EndpointIn(url="http://127.0.0.1:9/hook", event_types=["contact.*"]),  # type: ignore[arg-type]
            allow_private=True,
        )
    return public, company.public_id


def _items(company: str) -> list[dict[str, Any]]:
    return [{k: company if v == "$company" else v for k, v in item.items()} for item in ITEMS]


async def _one_by_one(
    client: httpx.AsyncClient, headers: dict[str, str], items: list[dict[str, Any]], mode: str
) -> list[Any]:
    """Each item by POST /v1/contacts (create) or POST /v1/contacts/upsert, answered as the batch would."""
    answers: list[Any] = []
    for item in items:
        response = await client.post(
            "/v1/contacts" if mode == "create" else "/v1/contacts/upsert", json=item, headers=headers
        )
        body = response.json()
        if response.status_code in (200, 201):
            answers.append(("created" if response.status_code == 201 else "updated", body["id"]))
        else:
            answers.append(("error", body.get("code"), sorted((e["field"], e["rule"]) for e in body.get("errors", []))))
    return answers


async def _by_batch(
    client: httpx.AsyncClient, headers: dict[str, str], items: list[dict[str, Any]], mode: str
) -> list[Any]:
    response = await client.post("/v1/contacts/batch", json={"mode": mode, "items": items}, headers=headers)
    assert response.status_code == 200, response.text
    answers: list[Any] = []
    for result in response.json()["results"]:
        if result["status"] == "error":
            error = result["error"]
            answers.append(("error", error["code"], sorted((e["field"], e["rule"]) for e in error["errors"])))
        else:
            answers.append((result["status"], result["id"]))
    return answers


async def _state(client: httpx.AsyncClient, tenant: Tenant, public: str, answers: list[Any]) -> dict[str, Any]:
    """Everything stored for the workspace, with the contacts named by the item that made them."""
    headers = {**tenant.headers, "LeadHub-Workspace": public}
    made: dict[str, int] = {}  # contact id -> the item that made it
    for n, answer in enumerate(answers):
        if answer[0] != "error":
            made.setdefault(answer[1], n)
    ws_id = ids.decode(ids.WORKSPACE, public)
    shown = {}
    for contact_id, n in made.items():
        got = (await client.get(f"/v1/contacts/{contact_id}", headers=headers)).json()
        got["company_id"] = got["company_id"] is not None
        shown[n] = without_ids(got)
    async with tenant.db.read_session() as session:
        domains = {c.id: c.domain for c in await session.scalars(select(Company).where(Company.workspace_id == ws_id))}
        label = {ids.decode(ids.CONTACT, k): n for k, n in made.items()}
        rows = {}
        for c in await session.scalars(select(Contact).where(Contact.workspace_id == ws_id)):
            columns = {col.key: getattr(c, col.key) for col in Contact.__mapper__.column_attrs}
            columns = {k: v for k, v in columns.items() if k not in ("workspace_id", "id", "created_at", "updated_at")}
            columns["company_id"] = domains.get(c.company_id) if c.company_id else None
            rows[str(label.get(c.id, "stored"))] = repr(columns)
        children = []
        for model, value in ((ContactEmail, "address"), (ContactPhone, "number"), (ContactTag, "tag")):
            for r in await session.scalars(select(model).where(model.workspace_id == ws_id)):
                extra = [getattr(r, a, None) for a in ("type", "is_primary", "position")]
                children.append((model.__tablename__, label.get(r.contact_id, "stored"), getattr(r, value), *extra))
        keys = sorted(
            (str(label.get(k.contact_id, "stored")), k.key)
            for k in await session.scalars(select(MatchKey).where(MatchKey.workspace_id == ws_id))
        )
        events = []
        for e in await session.scalars(select(Event).where(Event.workspace_id == ws_id).order_by(Event.seq)):
            payload = without_ids(e.payload)
            payload["company_id"] = payload.get("company_id") is not None
            changes = {k: v for k, v in (e.changes or {}).items() if k != "updated_at"}
            events.append(
                orjson.dumps(
                    [e.type, label.get(e.contact_id, "stored"), payload, changes, e.actor_type],
                    option=orjson.OPT_SORT_KEYS,
                ).decode()
            )
        deliveries = [
            (t, n)
            for t, n in await session.execute(
                select(Delivery.event_type, func.count())
                .where(Delivery.workspace_id == ws_id)
                .group_by(Delivery.event_type)
                .order_by(Delivery.event_type)
            )
        ]
        delivered_seqs = list(
            await session.scalars(
                select(Delivery.event_seq).where(Delivery.workspace_id == ws_id).order_by(Delivery.created_at)
            )
        )
    return {
        "answers": [(a[0], made[a[1]]) if a[0] != "error" else a for a in answers],
        "get": shown,
        "rows": rows,
        "children": sorted(children, key=repr),
        "match_keys": keys,
        "events": events,
        "deliveries": deliveries,
        "delivered_in_order": delivered_seqs == sorted(delivered_seqs),
    }


@pytest.mark.parametrize("mode", ["create", "upsert"])
async def test_batch_items_are_stored_as_single_writes_store_them(
    client: httpx.AsyncClient, tenant: Tenant, mode: str
) -> None:
    single_ws, single_company = await _workspace(tenant)
    batch_ws, batch_company = await _workspace(tenant)
    single_headers = {**tenant.headers, "LeadHub-Workspace": single_ws}
    batch_headers = {**tenant.headers, "LeadHub-Workspace": batch_ws}

    single = await _one_by_one(client, single_headers, _items(single_company), mode)
    batched = await _by_batch(client, batch_headers, _items(batch_company), mode)

    expected = await _state(client, tenant, single_ws, single)
    got = await _state(client, tenant, batch_ws, batched)
    for part in ("answers", "get", "rows", "children", "match_keys", "events", "deliveries"):
        assert got[part] == expected[part], part
    assert got["delivered_in_order"]
    statuses = [a[0] for a in got["answers"]]
    assert statuses.count("created") >= 9 + batches.BULK_MIN
