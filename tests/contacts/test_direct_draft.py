"""The direct path builds a new contact as a plain draft, not an ORM instance: its answer and its rows'
parameters are those of a ``Contact`` filled the same way."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from leadhub.auth.models import Workspace
from leadhub.contacts import match_index, service
from leadhub.contacts.models import Contact
from leadhub.contacts.schemas import ContactIn

WS = Workspace(id=uuid.uuid4(), organization_id=uuid.uuid4(), name="w", default_region="US")
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
FOUND = service._Found(set(), {}, {}, {}, set(), False)

BODIES: list[dict[str, Any]] = [
    {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "Ada@Example.COM",
        "phone": "(415) 555-0100",
        "company_name": "Acme Corp",
        "title": "CTO",
        "source": "webinar",
        "tags": ["lead", "bench", "lead"],
        "custom_fields": {"plan": "pro", "seats": 7},
    },
    {"email": "grace.hopper@example.com"},
    {"name": "Alan Mathison Turing", "status": "qualified", "dnd": True, "is_test": True, "session_count": 3},
    {
        "emails": [
            {"address": "a@example.com", "type": "work"},
            {"address": "b@example.org", "type": "personal", "primary": True},
        ],
        "phones": [{"number": "+44 20 7946 0958", "type": "mobile"}, {"number": "212-345-6789", "primary": True}],
        "address": {"city": "London", "country": "GB"},
        "dnd_settings": {"sms": {"status": "active", "message": "no texts"}},
        "consent": {"marketing": {"granted": True, "source": "web form"}},
        "website": "https://example.com",
        "date_of_birth": "1985-12-10",
        "first_seen": "2025-01-01T00:00:00Z",
        "notes": "n",
    },
    {"middle_name": "M", "tags": [], "custom_fields": {}},
    {},
]


def _orm_contact(data: ContactIn, plan: service._Plan, key: uuid.UUID) -> Contact:
    contact = Contact(workspace_id=WS.id, id=key, created_at=NOW, updated_at=NOW)
    service._fill(contact, data, "create", plan, dict(data.custom_fields or {}))
    contact.company_id = None
    return contact


@pytest.mark.parametrize("body", BODIES)
def test_direct_draft_answers_and_writes_as_a_contact_would(body: dict[str, Any], monkeypatch: Any) -> None:
    key = uuid.uuid4()
    monkeypatch.setattr(service.ids, "new_uuid", lambda: key)
    monkeypatch.setattr(service.clock, "now", lambda: NOW)
    data = ContactIn.model_validate(body)
    plan = service._plan(WS, None, data, "create")
    assert not plan.errors
    draft = service._new_contact(WS, data, plan, service._facts_of(FOUND, data, plan))
    orm = _orm_contact(data, service._plan(WS, None, data, "create"), key)

    assert not isinstance(draft, Contact)
    assert orjson.loads(service.to_out(draft).model_dump_json()) == orjson.loads(service.to_out(orm).model_dump_json())
    assert service.to_out(draft).model_dump_json() == service.to_out(orm).model_dump_json()
    assert match_index.keys_of(draft) == match_index.keys_of(orm)
    assert service._pg_rows_params(draft, set()) == service._pg_rows_params(orm, set())
    assert (draft.primary_email, draft.primary_phone, draft.tags) == (orm.primary_email, orm.primary_phone, orm.tags)
